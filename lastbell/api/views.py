"""District admins make and revoke API tokens; a token's secret is shown once."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from lastbell.accounts.access import district_admin_or_404
from lastbell.api.models import ApiToken, Permission
from lastbell.audit.services import audit_record


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100, help_text="Who uses it, e.g. “PowerSchool attendance feed”.",
        error_messages={"required": "Give the token a name, so you know later what it is for."},
    )  # fmt: skip
    school = forms.ModelChoiceField(
        label="Schools", queryset=None, required=False, empty_label="Every school of the district",
        error_messages={"invalid_choice": "Choose a school of this district."},
    )  # fmt: skip
    permissions = forms.MultipleChoiceField(
        label="May", choices=Permission.choices, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick at least one thing the token may do."},
    )  # fmt: skip

    def __init__(self, *args, district, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = district.schools.order_by("name")


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request, district_id):
    district = district_admin_or_404(request.user, district_id)
    form = TokenForm(request.POST if request.method == "POST" else None, district=district)
    secret = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            token, secret = ApiToken.issue(
                district=district, school=data["school"], name=data["name"],
                permissions=data["permissions"], created_by=request.user,
            )  # fmt: skip
            audit_record(
                action="api.token.created", actor=request.user, target=token, district=district,
                school=data["school"], after={"name": token.name, "key": token.key_id,
                                              "permissions": token.permissions},
                label=f"API token {token.name}",
            )  # fmt: skip
        form = TokenForm(district=district)
    listed = ApiToken.objects.filter(district=district).select_related("school", "created_by")
    return render(
        request, "api/tokens.html",
        {"district": district, "form": form, "tokens": listed, "secret": secret,
         "labels": dict(Permission.choices)},
        status=400 if request.method == "POST" and form.errors else 200,
    )  # fmt: skip


@login_required
@require_POST
def token_revoke(request, district_id, token_id):
    district = district_admin_or_404(request.user, district_id)
    token = get_object_or_404(ApiToken, pk=token_id, district=district)
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at, token.revoked_by = timezone.now(), request.user
            token.save(update_fields=["revoked_at", "revoked_by"])
            audit_record(
                action="api.token.revoked", actor=request.user, target=token, district=district,
                before={"name": token.name, "key": token.key_id}, after=None,
                label=f"API token {token.name}",
            )  # fmt: skip
        messages.success(request, f"Revoked “{token.name}”: it stops working at once.")
    return redirect("api_tokens:list", district.pk)
