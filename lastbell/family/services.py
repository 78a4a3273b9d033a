"""Writes of the family side: invitations, sign-in links, "no plan yet" messages."""

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from lastbell.audit.models import Via
from lastbell.audit.services import audit_record
from lastbell.family import links
from lastbell.family.forms import phone_digits
from lastbell.messaging.models import Kind, Message
from lastbell.messaging.services import queue_for_guardian
from lastbell.people.models import Guardian
from lastbell.people.services import guardians_to_tell

LINKS_PER_DAY = 5
LINK_PAUSE = dt.timedelta(minutes=2)


def link_request(contact: str) -> int:
    """Send a fresh sign-in link to every guardian on file with this email or mobile.

    The caller answers the same whether or not one was found, so the form can't be used to
    learn who is on file; and a guardian gets at most one link every two minutes and five a
    day, so it can't be used to flood a family's phone. Returns how many were written to.
    """
    if "@" in contact:
        guardians = list(Guardian.objects.filter(email__iexact=contact.strip()))
    else:
        digits = phone_digits(contact)
        # The database narrows by the last four digits; the exact match is made here.
        candidates = Guardian.objects.filter(mobile__contains=digits[-4:]) if digits else []
        guardians = [g for g in candidates if phone_digits(g.mobile) == digits]
    now = timezone.now()
    sent = 0
    for guardian in guardians:
        recent = Message.objects.filter(
            guardian=guardian, kind=Kind.SIGN_IN_LINK, created_at__gte=now - dt.timedelta(days=1)
        ).values_list("created_at", flat=True)
        if len(recent) >= LINKS_PER_DAY or any(at > now - LINK_PAUSE for at in recent):
            continue
        child = guardian.students.filter(withdrawn_on__isnull=True).select_related("school")
        child = child.first()
        queue_for_guardian(
            guardian=guardian, kind=Kind.SIGN_IN_LINK, template="sign_in_link",
            school=child.school if child else None,
            context={"link": links.family_link(guardian)},
        )  # fmt: skip
        sent += 1
    return sent


def not_yet_invited(school):
    """Guardians of the school's students with a contact on file who have never signed in
    and were not invited while their last link could still work."""
    recent = Message.objects.filter(
        kind=Kind.INVITATION, created_at__gte=timezone.now() - links.FAMILY_LINK_AGE
    ).values("guardian_id")
    return (
        Guardian.objects.filter(students__school=school, students__withdrawn_on__isnull=True)
        .filter(Q(email__gt="") | Q(mobile__gt=""))
        .filter(Q(user__isnull=True) | Q(user__last_login__isnull=True))
        .exclude(pk__in=recent)
        .distinct()
        .order_by("last_name", "first_name", "pk")
    )


def invite(*, guardians, school, actor, via=Via.WEB) -> int:
    """Invite guardians to the family pages with a sign-in link; one audit event per guardian."""
    invited = 0
    with transaction.atomic():
        for guardian in guardians:
            if not (guardian.email or guardian.mobile):
                continue
            sent = queue_for_guardian(
                guardian=guardian, kind=Kind.INVITATION, template="invitation", school=school,
                context={"link": links.family_link(guardian)}, created_by=actor,
            )  # fmt: skip
            audit_record(
                action="family.invited", actor=actor, target=guardian, school=school,
                after={"to": [message.to for message in sent]}, via=via,
                label=f"Invitation to {guardian.full_name}",
            )  # fmt: skip
            invited += 1
    return invited


def missing_plan_message(*, school, date, students, actor, via=Via.WEB) -> list:
    """Write to the guardians of students with no plan on `date`, each with a link that signs
    them in on that child's page. Returns the messages queued."""
    queued = []
    with transaction.atomic():
        for student in students:
            for guardian in guardians_to_tell(student, date):
                queued += queue_for_guardian(
                    guardian=guardian, kind=Kind.MISSING_PLAN, template="missing_plan",
                    school=school, student=student, created_by=actor,
                    context={"link": links.child_link(guardian, student, setup_for=date),
                             "date": date},
                )  # fmt: skip
            audit_record(
                action="family.missing_plan_sent", actor=actor, target=student, school=school,
                student=student, after={"date": date.isoformat()}, via=via,
                label=f"“No plan yet” message for {student.full_name}",
            )  # fmt: skip
    return queued


def guardian_language_set(*, guardian, language: str, actor, via=Via.WEB):
    """The language of the guardian's pages and of every message they get."""
    with transaction.atomic():
        before = guardian.language
        guardian.language = language
        guardian.save(update_fields=["language"])
        audit_record(
            action="family.language.set", actor=actor, target=guardian,
            district=guardian.district, before={"language": before},
            after={"language": language}, via=via, label=f"Language of {guardian.full_name}",
        )  # fmt: skip
    return guardian
