"""What a signed-in session may do: the two-step sign-in and the idle timeout.

Both are kept in the session and looked at again only when it was last touched more than
TOUCH_SECONDS ago, so that a request in between (a dismissal screen's check-ins, many a
minute) costs neither a query nor a session write. So a district that starts requiring the
two-step sign-in, or an admin's reset of someone's device, reaches open sessions within
those few minutes.

The idle timeout is for staff: guardians sign in by the links they are sent and read their
child's pages only. A dismissal screen updates over its live stream without a request for
as long as it is watched, so the stream counts as use too, but only while the school's
dismissal is on (from when families may check in until an hour after the late flag): a curb
screen is never signed out mid-dismissal, and one left open after it ends like any other.
"""

import datetime as dt
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from lastbell.accounts.models import StaffMembership

STATE = "lastbell_signin"
SEEN = "lastbell_seen"
TOUCH_SECONDS = 5 * 60

# What the session may do (STATE): a guardian's or any account without a school role;
# staff with nothing left to do; staff who must give their code, or set up an app first.
GUEST, STAFF, VERIFY, ENROL = "guest", "staff", "verify", "enrol"
# Addresses open to a session that still owes its code: the two-step pages themselves,
# signing out, the language switch, static files; the API signs in by token, not session.
OPEN_PREFIXES = ("/accounts/two-step/", "/accounts/sign-out/", "/i18n/", "/static/", "/api/")


def idle_seconds() -> int:
    return settings.LASTBELL_STAFF_IDLE_MINUTES * 60


def verified_device_id(session) -> int | None:
    persistent = session.get(DEVICE_ID_SESSION_KEY) or ""
    _, _, pk = persistent.rpartition("/")
    return int(pk) if pk.isdigit() else None


def state_of(user, session) -> str:
    """Where the session stands, from the database (two or three small queries)."""
    required = list(
        StaffMembership.objects.filter(user=user).values_list(
            "district__require_two_factor", flat=True
        )
    )
    if not required:
        return GUEST
    devices = TOTPDevice.objects.filter(user=user, confirmed=True)
    verified = verified_device_id(session)
    if verified is not None:
        if devices.filter(pk=verified).exists():
            return STAFF
        session.pop(DEVICE_ID_SESSION_KEY)  # reset by an admin, or removed
    if devices.exists():
        return VERIFY
    return ENROL if any(required) else STAFF


def refresh(request) -> str:
    """Look at the session's standing again now (after a sign-in step changed it)."""
    _decide_at_sign_in(None, request, request.user)
    return request.session[STATE]


@receiver(user_logged_in)
def _decide_at_sign_in(sender, request, user, **kwargs):
    """Decided as the session is made (signing in saves it anyway): the first page after
    signing in costs no more than any other."""
    if request is not None and hasattr(request, "session"):
        request.session[STATE] = state_of(user, request.session)
        request.session[SEEN] = int(time.time())


def idle_for(session, now: float) -> float:
    seen = session.get(SEEN)
    return 0 if seen is None else now - seen


def expired(session, now: float) -> bool:
    """A staff session unused for longer than the idle timeout."""
    return session.get(STATE) not in (None, GUEST) and idle_for(session, now) > idle_seconds()


class SignInMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.user.is_authenticated:
            return self.get_response(request)
        session, now = request.session, time.time()
        state = session.get(STATE)
        if state is None or idle_for(session, now) >= TOUCH_SECONDS:
            if expired(session, now):
                return self._signed_out(request)
            state = refresh(request)
        if state in (VERIFY, ENROL) and not request.path.startswith(OPEN_PREFIXES):
            page = "accounts:two_step_verify" if state == VERIFY else "accounts:two_step_enrol"
            return _go(request, reverse(page) + "?" + urlencode({"next": _next(request)}))
        return self.get_response(request)

    def _signed_out(self, request):
        logout(request)
        minutes = settings.LASTBELL_STAFF_IDLE_MINUTES
        messages.info(
            request,
            _(
                "You were signed out after %(minutes)s minutes without use. Sign in again "
                "to carry on."
            )
            % {"minutes": minutes},
        )
        login = reverse(settings.LOGIN_URL) + "?" + urlencode({"next": _next(request)})
        return _go(request, login)


def _next(request) -> str:
    """Where to come back to: the page itself, or the page a fragment was asked from."""
    if request.method == "GET" and not request.headers.get("HX-Request"):
        return request.get_full_path()
    current = request.headers.get("HX-Current-URL", "")
    return reverse("schools:home") if not current else _path_of(current)


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _go(request, url):
    if request.headers.get("HX-Request"):
        # htmx would swap the page in place of a fragment: have it load the page itself.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


# --- The live stream (live/consumers.py) -----------------------------------------------------


def stream_allowed(user, session) -> bool:
    """A stream opens, and stays open, only for a session that may see staff pages now."""
    state = session.get(STATE) or state_of(user, session)
    return state in (STAFF, GUEST) and not expired(session, time.time())


def dismissal_on(school, now: dt.datetime | None = None) -> bool:
    """Whether the school's dismissal is under way: from when families may check in until an
    hour after the late flag, or all day during an emergency."""
    from lastbell.dismissal.models import DismissalDay

    now = (now or timezone.now()).astimezone(school.tz)
    today = now.date()
    day = DismissalDay.objects.filter(school=school, date=today).first()
    if day is not None and day.is_emergency:
        return True
    dismissal = day.dismiss_at if day is not None else school.dismissal_time_on(today)
    if dismissal is None:
        return False
    at = dt.datetime.combine(today, dismissal, tzinfo=school.tz)
    opens = at - dt.timedelta(minutes=school.checkin_opens_minutes)
    ends = at + dt.timedelta(minutes=school.late_grace_minutes + 60)
    return opens <= now <= ends


def stream_touch(user, session, school) -> bool:
    """Every few minutes of a stream: renew the session while the school's dismissal is on.
    False when the session has ended and the stream should too. The stream's own copy of the
    session is as old as the stream: the stored one is read again."""
    from importlib import import_module

    if not session.session_key:
        return False
    session = import_module(settings.SESSION_ENGINE).SessionStore(session.session_key)
    now = time.time()
    if session.get("_auth_user_id") != str(user.pk) or not stream_allowed(user, session):
        return False
    if idle_for(session, now) >= TOUCH_SECONDS and dismissal_on(school):
        session[SEEN] = int(now)
        session.save()
    return True
