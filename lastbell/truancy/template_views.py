"""The district's letter templates (issue 6 §5): per level and language, edited by district
admins with a live preview.

The preview renders the text as typed with made-up merge fields (documents.sample_fields),
through the same sandbox as real letters. With JavaScript, htmx posts the form as it is
typed (no inline script: the page's CSP forbids it) and swaps the preview in; without, the
"Preview" button reloads the page with it. Nothing is saved until "Save".
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods

from lastbell.accounts.access import district_admin_or_404
from lastbell.plans.views import apply_errors, form_invalid
from lastbell.truancy import documents, sandbox, services
from lastbell.truancy.forms import TemplateForm
from lastbell.truancy.letter_views import Scope
from lastbell.truancy.models import MAX_LEVELS

LANGUAGE_NAMES = dict(settings.LANGUAGES)


def _levels(scope: Scope) -> list[tuple[int, str]]:
    return list(enumerate((level["name"] for level in scope.policy().levels), start=1))


@login_required
@require_GET
def templates(request, district_id):
    scope = Scope(request, district_admin_or_404(request.user, district_id))
    saved = documents.templates_for(scope.district)
    rows = [
        {"level": level, "name": name,
         "languages": [(code, LANGUAGE_NAMES[code], saved.get((level, code)))
                       for code in documents.LANGUAGES]}
        for level, name in _levels(scope)
    ]  # fmt: skip
    return render(request, "truancy/templates.html", scope.context(rows=rows))


def _preview(scope: Scope, level: int, language: str, subject: str, body: str) -> dict:
    """{"subject", "html"} of the text as typed, or {"problems"} in plain words."""
    problems = []
    for text, what in ((subject, "The subject"), (body, "The letter")):
        try:
            sandbox.check(text, fields=documents.FIELDS, what=what)
        except ValidationError as error:
            problems += error.messages
    if problems:
        return {"problems": problems}
    values = documents.sample_fields(scope.district, level, language)
    try:
        # Cleaned by the sandbox's allow-list: safe to show in the page.
        html = mark_safe(sandbox.render(body, values))  # noqa: S308
        return {"subject": sandbox.render(subject, values, autoescape=False), "html": html}
    except ValidationError as error:
        return {"problems": error.messages}


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request, district_id, level, language):
    scope = Scope(request, district_admin_or_404(request.user, district_id))
    if language not in documents.LANGUAGES or not 1 <= level <= MAX_LEVELS:
        raise Http404("No such letter.")
    saved = documents.templates_for(scope.district).get((level, language))
    subject, body = documents.template_text({(level, language): saved} if saved else {},
                                            level, language)  # fmt: skip
    action = request.POST.get("action", "")
    if action == "reset":
        if services.template_reset(district=scope.district, level=level, language=language,
                                   actor=request.user):  # fmt: skip
            messages.success(request, "Went back to the default letter.")
        return redirect("truancy:district_template", scope.district.pk, level, language)
    form = TemplateForm(request.POST or None, initial={"subject": subject, "body": body})
    status = 200
    if request.method == "POST" and form.is_valid():
        subject, body = form.cleaned_data["subject"], form.cleaned_data["body"]
        if action == "save":
            try:
                services.template_save(
                    district=scope.district,
                    level=level,
                    language=language,
                    subject=subject,
                    body=body,
                    actor=request.user,
                )
            except ValidationError as error:
                apply_errors(error, form)
                status = form_invalid(request)
            else:
                messages.success(request, f"Saved letter {level} in {LANGUAGE_NAMES[language]}.")
                return redirect("truancy:district_template", scope.district.pk, level, language)
    elif request.method == "POST":
        subject = request.POST.get("subject", "")
        body = request.POST.get("body", "")
        if action == "save":
            status = form_invalid(request)
    names = dict(_levels(scope))
    context = scope.context(
        form=form, level=level, language=language, language_name=LANGUAGE_NAMES[language],
        level_name=names.get(level, f"Letter {level}"), saved=saved,
        preview=_preview(scope, level, language, subject, body), fields=documents.FIELD_HELP,
    )  # fmt: skip
    if request.htmx and action == "preview":
        return render(request, "truancy/template_edit.html#preview", context)
    return render(request, "truancy/template_edit.html", context, status=status)
