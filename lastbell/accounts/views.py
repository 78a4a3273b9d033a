"""Signing in: the password page, its lockout, the two-step sign-in and the account page."""

import base64

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from lastbell.accounts import services, signin
from lastbell.accounts.access import district_admin_or_404
from lastbell.accounts.forms import CodeForm, RequireTwoStepForm, SignInForm
from lastbell.accounts.models import User


class SignInView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


def locked_out(request, response=None, credentials=None):
    """axes' answer once an email has failed too often from one address (settings.AXES_*).
    Each try during the lock starts the cool-off again, so it ends a cool-off from now."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    until = timezone.localtime(timezone.now() + settings.AXES_COOLOFF_TIME)
    message = ngettext(
        "Too many sign-ins with this email failed, so it is paused for %(minutes)d minute "
        "on this device. Try again at %(time)s, or ask your district office to unlock it.",
        "Too many sign-ins with this email failed, so it is paused for %(minutes)d minutes "
        "on this device. Try again at %(time)s, or ask your district office to unlock it.",
        minutes,
    ) % {"minutes": minutes, "time": formats.time_format(until, "TIME_FORMAT")}
    form = SignInForm(request, data=request.POST or None)
    return render(
        request,
        "accounts/login.html",
        {"form": form, "locked_out": message, "next": request.POST.get("next", "")},
        status=429,
    )


def _next_or(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _staff_or_family(request):
    if request.session.get(signin.STATE) == signin.GUEST:
        return redirect("family:account" if hasattr(request.user, "guardian") else "schools:home")
    return None


@login_required
def account(request):
    if (elsewhere := _staff_or_family(request)) is not None:
        return elsewhere
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    required = request.user.memberships.filter(district__require_two_factor=True).exists()
    return render(
        request, "accounts/account.html",
        {"device": device, "required": required, "form": CodeForm()},
    )  # fmt: skip


@login_required
@require_POST
def two_step_remove(request):
    if (elsewhere := _staff_or_family(request)) is not None:
        return elsewhere
    device = get_object_or_404(TOTPDevice, user=request.user, confirmed=True)
    form = CodeForm(request.POST)
    if form.is_valid() and _check(device, form):
        services.two_step_removed(user=request.user, actor=request.user)
        signin.refresh(request)
        messages.success(request, _("Two-step sign-in is off for your account."))
        return redirect("accounts:account")
    return render(
        request, "accounts/account.html",
        {"device": device, "form": form,
         "required": request.user.memberships.filter(district__require_two_factor=True).exists()},
        status=400,
    )  # fmt: skip


def _check(device, form) -> bool:
    """Whether the form's code is the device's now; adds the reason to the form if not.
    django-otp slows down guessing: after each wrong code the next waits longer."""
    allowed, why = device.verify_is_allowed()
    if not allowed:
        seconds = max(1, int(((why or {}).get("locked_until") - timezone.now()).total_seconds()))
        form.add_error(
            "code",
            ngettext(
                "Too many wrong codes. Wait %(seconds)d second, then enter the code your app "
                "shows then.",
                "Too many wrong codes. Wait %(seconds)d seconds, then enter the code your app "
                "shows then.",
                seconds,
            )
            % {"seconds": seconds},
        )
        return False
    if not device.verify_token(form.cleaned_data["code"]):
        form.add_error(
            "code",
            _(
                "That code is not the one your app shows now. Codes change every 30 seconds: "
                "enter the one on the screen now."
            ),
        )
        return False
    return True


@login_required
@require_http_methods(["GET", "POST"])
def two_step_verify(request):
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    if device is None or request.session.get(signin.STATE) != signin.VERIFY:
        return redirect(_next_or(request, reverse("schools:home")))
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid() and _check(device, form):
        otp_login(request, device)
        signin.refresh(request)
        return redirect(_next_or(request, reverse("schools:home")))
    return render(
        request, "accounts/two_step_verify.html",
        {"form": form, "next": _next_or(request, "")},
        status=400 if form.is_bound else 200,
    )  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def two_step_enrol(request):
    if (elsewhere := _staff_or_family(request)) is not None:
        return elsewhere
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect("accounts:account")
    # Not confirmed until the first right code: an app that was never set up signs no one in.
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=request.user, name="Authenticator app", confirmed=False
        )
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid() and _check(device, form):
        services.two_step_enrolled(device=device, actor=request.user)
        otp_login(request, device)
        signin.refresh(request)
        messages.success(request, _("Two-step sign-in is on. Keep the app on your phone."))
        return redirect(_next_or(request, reverse("accounts:account")))
    key = base64.b32encode(device.bin_key).decode()
    return render(
        request, "accounts/two_step_enrol.html",
        {
            "form": form, "next": _next_or(request, ""),
            "required": request.session.get(signin.STATE) == signin.ENROL,
            # An image from a data: address: the page's policy allows no inline SVG styles.
            "qr": segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2),
            "key": " ".join(key[i : i + 4] for i in range(0, len(key), 4)),
        },
        status=400 if form.is_bound else 200,
    )  # fmt: skip


# --- District admins ---------------------------------------------------------------------------


def _district_staff(district):
    return (
        User.objects.filter(memberships__district=district)
        .distinct()
        .annotate(two_step=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
        .order_by("last_name", "first_name", "email")
    )


@login_required
@require_http_methods(["GET", "POST"])
def district_sign_in(request, district_id):
    district = district_admin_or_404(request.user, district_id)
    form = RequireTwoStepForm(
        request.POST if request.method == "POST" else None,
        initial={"require_two_factor": district.require_two_factor},
    )
    if form.is_valid():
        required = form.cleaned_data["require_two_factor"]
        services.district_two_step_set(district=district, required=required, actor=request.user)
        done = (
            _("Staff of %(district)s now need a code from an app to sign in.")
            if required
            else _("Staff of %(district)s sign in with their password alone.")
        )
        messages.success(request, done % {"district": district.name})
        return redirect("accounts:district_sign_in", district.id)
    return render(
        request, "accounts/district_sign_in.html",
        {"district": district, "form": form, "staff": _district_staff(district)},
    )  # fmt: skip


@login_required
@require_POST
def two_step_reset(request, district_id, user_id):
    district = district_admin_or_404(request.user, district_id)
    user = get_object_or_404(_district_staff(district), pk=user_id)
    if services.two_step_reset(district=district, user=user, actor=request.user):
        messages.success(
            request,
            _(
                "%(name)s's authenticator app is reset: they sign in with their password and "
                "set up the app again (they are asked to when the district requires it)."
            )
            % {"name": user},
        )
    else:
        messages.info(request, _("%(name)s has no authenticator app to reset.") % {"name": user})
    return redirect("accounts:district_sign_in", district.id)
