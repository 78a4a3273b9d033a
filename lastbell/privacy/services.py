"""Privacy (issue 7 §2): a student's records request, the erasure of a departed student's
personal data, and the district's retention of dismissal events and message texts.

Erasure and retention keep the anonymous counts: a student row is never deleted (the audit
log and the counts point at it), it is made anonymous in place; absences, letters and the
steps of the chain of custody stay with their dates and kinds, without names or notes; a
dismissal day whose events are purged keeps the counts its reports need.
"""

import datetime as dt
import zoneinfo
from functools import partial

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from lastbell.attendance.models import Absence
from lastbell.audit.models import Via
from lastbell.audit.services import audit_record, audit_redact_student
from lastbell.dismissal import reports
from lastbell.dismissal.models import Arrival, CustodyEvent, DismissalDay, TagStudent
from lastbell.messaging.models import Message, Status
from lastbell.people.models import (
    AuthorizedAdult,
    CustodyRestriction,
    Guardian,
    GuardianLink,
    Student,
)
from lastbell.plans.models import DefaultDay, PlanChange
from lastbell.privacy.models import Erasure, RetentionPolicy
from lastbell.schools.models import District
from lastbell.truancy.models import Conference, Letter, LetterBatch, Referral

ERASED = "Erased"


def student_exported(*, student: Student, actor, via=Via.WEB) -> None:
    """Note in the audit log that someone took the student's whole record away."""
    with transaction.atomic():
        audit_record(
            action="privacy.student.exported", actor=actor, target=student,
            school=student.school, student=student, label=f"Student {student.pk}", via=via,
        )  # fmt: skip


def erase_problem(student: Student) -> str | None:
    """Why this student's personal data can't be erased now, in words, or None."""
    if hasattr(student, "erasure"):
        return _("This student's personal data was already erased.")
    today = student.school.today()
    if student.withdrawn_on is None or student.withdrawn_on >= today:
        return _(
            "Only a student who has left the school can be erased. Record the student's "
            "withdrawal date in the student information system first; erase them after it."
        )
    return None


def _delete_files(files):
    for field_file in files:
        field_file.storage.delete(field_file.name)


def student_erase(*, student: Student, actor, via=Via.WEB) -> Erasure:
    """Erase a departed student's personal data (district admins only; the view checks).

    Removed or replaced: the student's names and student id; their pickup adults' names,
    phone numbers, photos and notes; the restricted people's names and court orders; the
    names and contact details of guardians who have no other active child (and their sign-in
    account); the names and notes in plans, attendance reasons, dismissal steps and
    check-ins; the text and address of messages about the student or to those guardians;
    truancy notes. Kept, anonymous: grade, homeroom, enrollment dates, every absence, letter
    and dismissal step with its date and kind, so every count adds up as before.
    """
    with transaction.atomic():
        student = (
            Student.objects.select_for_update(no_key=True)
            .select_related("school")
            .get(pk=student.pk)
        )
        problem = erase_problem(student)
        if problem:
            raise ValidationError(problem)
        today = student.school.today()
        still_active = Student.objects.filter(pk=OuterRef("student_id")).filter(
            Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=today)
        )
        other_active_child = GuardianLink.objects.filter(
            guardian=OuterRef("pk"), student__in=Student.objects.exclude(pk=student.pk)
        ).filter(Exists(still_active))
        guardians = Guardian.objects.filter(links__student=student)
        leaving = list(guardians.exclude(Exists(other_active_child)).values_list("pk", "user_id"))
        leaving_ids = [pk for pk, _user in leaving]
        user_ids = [user for _pk, user in leaving if user]
        files = [
            *(a.photo for a in AuthorizedAdult.objects.filter(student=student) if a.photo),
            *(
                r.court_order_file
                for r in CustodyRestriction.objects.filter(student=student)
                if r.court_order_file
            ),
        ]

        # Names that steps of several students carry in the history's words (see below).
        named = [
            student.full_name, f"{student.first_name} {student.last_name}",
            f"{student.last_name}, {student.first_name}",
            *(g.full_name for g in Guardian.objects.filter(pk__in=leaving_ids)),
            *(a.full_name for a in AuthorizedAdult.objects.filter(student=student)),
            *CustodyRestriction.objects.filter(student=student).values_list(
                "person_name", flat=True),
        ]  # fmt: skip
        Guardian.objects.filter(pk__in=leaving_ids).update(
            first_name=ERASED, last_name="guardian", email="", mobile="", mailing_address="",
            source_id="", user=None,
        )  # fmt: skip
        # Their sign-in accounts can't be used again and name nobody.
        for user in get_user_model().objects.filter(pk__in=user_ids):
            user.email = f"erased-{user.pk}@erased.invalid"
            user.first_name = user.last_name = ""
            user.is_active = False
            user.set_unusable_password()
            user.save()
        GuardianLink.objects.filter(student=student).delete()
        adults = AuthorizedAdult.objects.filter(student=student).update(
            first_name=ERASED, last_name="adult", relationship="", phone="", photo="", note="",
        )  # fmt: skip
        CustodyRestriction.objects.filter(student=student).update(
            person_name=ERASED, person_description="", court_order_reference="",
            court_order_file="", end_reason="",
        )  # fmt: skip
        DefaultDay.objects.filter(default__student=student).update(pickup_name="", note="")
        PlanChange.objects.filter(student=student).update(pickup_name="", note="")
        Absence.objects.filter(student=student).update(reason="")
        Letter.objects.filter(student=student).update(void_reason="")
        Conference.objects.filter(letter__student=student).update(notes="")
        Referral.objects.filter(letter__student=student).update(outcome="")
        _erase_from_letter_runs(student)
        TagStudent.objects.filter(student=student).delete()
        CustodyEvent.objects.filter(student=student).redact(to_label="", note="")
        others = CustodyEvent.objects.filter(arrival=OuterRef("pk")).exclude(student=student)
        Arrival.objects.filter(custodyevent__student=student).exclude(Exists(others)).update(
            adult_name=""
        )
        messages = Message.objects.filter(Q(student=student) | Q(guardian__in=leaving_ids))
        messages.update(to="", subject="", body="", html_body="", last_error="")
        # Nothing is left to send: a message still waiting is not delivered, and says why.
        messages.filter(status__in=[Status.QUEUED, Status.SENDING]).update(
            status=Status.FAILED, last_error=_("Not sent: the family's data was erased.")
        )
        Student.objects.filter(pk=student.pk).update(
            first_name=ERASED, last_name="student", preferred_name="",
            sis_id=f"erased-{student.pk}",
        )  # fmt: skip
        erasure = Erasure.objects.create(student=student, by=actor)
        # The history's events about the student keep what happened, not who: the chain of
        # digests still verifies (audit/chain.py). Before the erasure's own event, which
        # names nobody.
        audit_redact_student(student_id=student.pk, actor=actor, names=named)
        audit_record(
            action="privacy.student.erased", actor=actor, target=erasure,
            school=student.school, student=student, label=f"Student {student.pk}",
            after={"guardians_erased": len(leaving_ids), "pickup_adults_erased": adults,
                   "files_deleted": len(files)},
            via=via,
        )  # fmt: skip
        transaction.on_commit(partial(_delete_files, files))
    return erasure


def _erase_from_letter_runs(student: Student) -> None:
    """A letter run lists by name the students it left out; the erased one loses the name."""
    runs = LetterBatch.objects.filter(district_id=student.school.district_id, dropped_count__gt=0)
    for run in runs.only("pk", "dropped"):
        if any(row.get("student_id") == student.pk for row in run.dropped):
            run.dropped = [
                {**row, "name": ERASED} if row.get("student_id") == student.pk else row
                for row in run.dropped
            ]
            run.save(update_fields=["dropped"])


# --- Retention ------------------------------------------------------------------------------


def retention_policy_save(*, policy: RetentionPolicy, actor, via=Via.WEB) -> RetentionPolicy:
    """Save a district's retention (a validated form's instance) with its audit event."""
    fields = ["dismissal_event_days", "message_body_days"]
    with transaction.atomic():
        # The district's row is the lock: two admins saving a first policy at once save one.
        District.objects.select_for_update(no_key=True).get(pk=policy.district_id)
        saved = RetentionPolicy.objects.filter(district=policy.district).first()
        before = {f: getattr(saved or RetentionPolicy(), f) for f in fields}
        if saved is not None:
            policy.pk = saved.pk
        policy.updated_by = actor if actor is not None and actor.pk else None
        policy.save()
        audit_record(
            action="privacy.retention.saved", actor=actor, target=policy,
            district=policy.district, before=before,
            after={f: getattr(policy, f) for f in fields}, via=via,
        )  # fmt: skip
    return policy


def retention_purge(*, district, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete the district's dismissal events older than its retention (each day keeping
    its counts for the reports) and blank the text of older messages. Safe to run again:
    what is purged is not purged twice. Returns how many days, events and messages."""
    now = now or timezone.now()
    policy = RetentionPolicy.for_district(district)
    today = now.astimezone(zoneinfo.ZoneInfo(district.timezone)).date()
    events_before = today - dt.timedelta(days=policy.dismissal_event_days)
    messages_before = now - dt.timedelta(days=policy.message_body_days)
    done = {"days": 0, "events": 0, "messages": 0}
    with transaction.atomic():
        for school in district.schools.order_by("pk"):
            days, events = _purge_days(school, events_before, now)
            done["days"] += days
            done["events"] += events
        done["messages"] = (
            Message.objects.filter(
                Q(school__district=district) | Q(school__isnull=True, guardian__district=district),
                created_at__lt=messages_before, status__in=[Status.SENT, Status.FAILED],
            )
            .exclude(body="", html_body="", subject="")
            .update(subject="", body="", html_body="")
        )  # fmt: skip
        if any(done.values()):
            audit_record(
                action="privacy.retention.purged", actor=None, target=district,
                district=district, via=Via.SYSTEM,
                after={**done, "events_before": events_before.isoformat(),
                       "messages_before": messages_before.date().isoformat()},
            )  # fmt: skip
    return done


def _purge_days(school, before: dt.date, now: dt.datetime) -> tuple[int, int]:
    """The school's days before `before`: counts kept on each day, then its events deleted.
    A constant number of queries, whatever the number of days or events."""
    days = list(
        DismissalDay.objects.select_for_update(no_key=True)
        .filter(school=school, date__lt=before, events_purged_at__isnull=True)
        .order_by("date")
    )
    if not days:
        return 0, 0
    start, end = days[0].date, days[-1].date
    released = {row["day__date"]: row for row in reports.releases_per_day(school, start, end)}
    late = {row["day__date"]: row for row in reports.late_per_day(school, start, end)}
    for day in days:
        kept = released.get(day.date)
        day.events_purged_at = now
        day.released_count = kept["released"] if kept else 0
        day.released_late_count = kept["late"] if kept else 0
        day.first_release_at = kept["first"] if kept else None
        day.last_release_at = kept["last"] if kept else None
        day.flagged_late_count = late[day.date]["flagged"] if day.date in late else 0
    DismissalDay.objects.bulk_update(
        days,
        ["events_purged_at", "released_count", "released_late_count", "first_release_at",
         "last_release_at", "flagged_late_count"],
        batch_size=500,
    )  # fmt: skip
    purged = DismissalDay.objects.filter(school=school, date__lt=before, events_purged_at=now)
    events = CustodyEvent.objects.filter(day__in=purged).retention_purge()
    Arrival.objects.filter(day__in=purged).delete()
    return len(days), events
