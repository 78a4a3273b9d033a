"""Sign-in links for guardians (DESIGN.md §2 "Parents").

A link signs one guardian in for one purpose: a child's page ("child:<id>", from a "no plan
yet" message or a confirmation) or the family's home ("family", from an invitation). It
expires, names its purpose in the token (django-sesame scopes), and stops working when the
guardian sets a new password.
"""

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from sesame.utils import get_query_string

from lastbell.audit.models import Via
from lastbell.audit.services import audit_record

CHILD_LINK_AGE = dt.timedelta(days=3)
FAMILY_LINK_AGE = dt.timedelta(days=14)
NO_EMAIL_DOMAIN = "guardians.lastbell.invalid"


def child_scope(student_id: int) -> str:
    return f"child:{student_id}"


FAMILY_SCOPE = "family"


def account_for(guardian):
    """The guardian's sign-in account, created on first need (links need a user to sign in).

    A guardian with only a mobile number, or whose email already belongs to another account
    (a staff member's, say), gets an address that can't receive mail: they sign in by links,
    or set a password later.
    """
    if guardian.user_id:
        return guardian.user
    User = get_user_model()
    with transaction.atomic():
        email = guardian.email
        if not email or User.objects.filter(email__iexact=email).exists():
            email = f"g{guardian.pk}.{secrets.token_hex(4)}@{NO_EMAIL_DOMAIN}"
        user = User.objects.create_user(
            email, None, first_name=guardian.first_name, last_name=guardian.last_name
        )
        guardian.user = user
        guardian.save(update_fields=["user"])
        audit_record(
            action="family.account.created", actor=None, target=guardian,
            district=guardian.district, after={"sign_in": user.email}, via=Via.SYSTEM,
            label=f"Sign-in account of {guardian.full_name}",
        )  # fmt: skip
    return user


def absolute(path: str) -> str:
    return settings.LASTBELL_BASE_URL.rstrip("/") + path


def child_link(guardian, student, *, setup_for: dt.date | None = None) -> str:
    """A link to the child's page; with `setup_for` (a "no plan yet" message) it lands where
    that day's plan is set: the usual plan when the child has none, else a change for it."""
    user = account_for(guardian)
    path = reverse("family:link_child", args=[student.pk])
    url = path + get_query_string(user, scope=child_scope(student.pk))
    if setup_for is not None:
        url += f"&setup={setup_for:%Y-%m-%d}"
    return absolute(url)


def family_link(guardian) -> str:
    user = account_for(guardian)
    path = reverse("family:link")
    return absolute(path + get_query_string(user, scope=FAMILY_SCOPE))
