"""Writes of truancy policies, letters, letter templates, conferences and referrals, each in
one transaction with its audit event.

Issuing (`letters_issue`) is the one way letters are made. It takes the students staff
previewed, and inside one transaction:
1. locks the district's row (SELECT … FOR UPDATE; on SQLite the IMMEDIATE transaction already
   holds the database's write lock), so two runs in a district never interleave: the second
   waits for the first to commit, then sees its letters;
2. asks the tracker again who is due now, and issues only the previewed students still due,
   saying why each other one was dropped (a letter issued meanwhile, an absence excused, a
   withdrawal, a letter voided);
3. records each letter (count, dates, threshold, who, when, run), its audit event, the run, a
   conference for a letter 2 and a referral for a letter 3, and books the run's PDF (and
   emails) on the task worker after commit.
A unique index on (student, level, school year) among letters not voided is the last guard:
if anything got past the lock, the database refuses the second letter and nothing of that run
is saved.
"""

import dataclasses
import datetime as dt
import zoneinfo
from functools import partial

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from lastbell.attendance.models import Absence
from lastbell.audit.models import Via
from lastbell.audit.services import audit_event, audit_record, audit_saved
from lastbell.people.models import Student
from lastbell.schools.models import District, SchoolCalendar
from lastbell.truancy import sandbox, tracker
from lastbell.truancy.models import (
    Conference,
    Letter,
    LetterBatch,
    LetterTemplate,
    Referral,
    TruancyPolicy,
)  # fmt: skip

FIELDS = ["counts", "tardy_minutes", "levels", "year_starts_on", "year_ends_on"]


def _snapshot(policy: TruancyPolicy | None) -> dict | None:
    if policy is None or policy.pk is None:
        return None
    return {
        "counts": list(policy.counts), "tardy_minutes": policy.tardy_minutes,
        "levels": [dict(level) for level in policy.levels],
        "year": f"{policy.year_starts_on:%Y-%m-%d} to {policy.year_ends_on:%Y-%m-%d}",
    }  # fmt: skip


def policy_save(*, district, school=None, values: dict, actor) -> TruancyPolicy:
    """Save the district's policy, or `school`'s override of it, from `values` (FIELDS).

    Raises ValidationError (nothing saved) when the policy can't be used. Letters already
    issued are not touched: they keep the level, count and dates they were issued with.
    """
    with transaction.atomic():
        found = TruancyPolicy.objects.select_for_update(no_key=True).filter(district=district)
        found = found.filter(school=school) if school else found.filter(school__isnull=True)
        policy = found.first() or TruancyPolicy(district=district, school=school)
        before = _snapshot(policy)
        for name in FIELDS:
            setattr(policy, name, values[name])
        policy.updated_by = actor
        policy.full_clean(exclude=["district", "school", "updated_by"])
        policy.save()
        after = _snapshot(policy)
        if before != after:
            where = school.name if school else district.name
            audit_record(
                action="truancy.policy.saved", actor=actor, target=policy, school=school,
                district=district, before=before, after=after, via=Via.WEB,
                label=f"Truancy policy of {where}",
            )  # fmt: skip
    return policy


def policy_remove(*, school, actor) -> bool:
    """Drop `school`'s own policy: the district's applies again. False: it had none."""
    with transaction.atomic():
        policy = TruancyPolicy.objects.select_for_update(no_key=True).filter(school=school).first()
        if policy is None:
            return False
        audit_record(
            action="truancy.policy.removed", actor=actor, target=policy, school=school,
            before=_snapshot(policy), after=None, via=Via.WEB,
            label=f"Truancy policy of {school.name}",
        )  # fmt: skip
        policy.delete()
    return True


# --- issuing letters --------------------------------------------------------------------------


class CannotIssue(Exception):
    """Nothing was issued; the message says why in plain words."""


@dataclasses.dataclass
class IssueOutcome:
    batch: LetterBatch | None
    issued: int
    dropped: list[dict]  # [{"student_id", "name", "reason"}]: previewed, not issued
    newly_due: int  # due now but not in the preview: issued on a next run

    def dropped_summary(self) -> str:
        """ "2 already had this letter; 1 no longer reaches the count." """
        reasons: dict[str, int] = {}
        for row in self.dropped:
            reasons[row["reason"]] = reasons.get(row["reason"], 0) + 1
        return "; ".join(f"{n} {DROP_REASONS[key][n != 1]}" for key, n in reasons.items())


# (singular, plural) after a number: "1 already had this letter".
DROP_REASONS = {
    "issued": ("already had this letter (someone issued it meanwhile)",
               "already had this letter (someone issued it meanwhile)"),
    "below": ("no longer reaches the count (an absence was excused or corrected)",
              "no longer reach the count (absences were excused or corrected)"),
    "order": ("no longer has the letter before this one (it was voided)",
              "no longer have the letter before this one (it was voided)"),
    "left": ("is no longer enrolled here", "are no longer enrolled here"),
}  # fmt: skip


def _locked(district: District):
    """Serialise issuing in the district (see the module's docstring)."""
    District.objects.select_for_update(no_key=True).filter(pk=district.pk).values_list("pk").first()


def letters_issue(*, district, level: int, student_ids, actor, school=None,
                  delivery: str = LetterBatch.Delivery.PRINT, details: dict | None = None,
                  on: dt.date | None = None) -> IssueOutcome:  # fmt: skip
    """Issue letter `level` to the previewed `student_ids` still due at `school` (or across the
    district), as one run. Raises CannotIssue when the database refuses (another run at the
    same moment) or is busy; otherwise an outcome, whose batch is None when nobody was
    still due (nothing is written then)."""
    wanted = {int(pk) for pk in student_ids}
    details = details or {}
    try:
        with transaction.atomic():
            _locked(district)
            on = on or tracker.district_today(district)
            rows = tracker.due(district=district, school=school, level=level, on=on)
            due_ids = {row.student_id for row in rows}
            chosen = [row for row in rows if row.student_id in wanted]
            dropped = _why_dropped(district, school, level, wanted - due_ids, on)
            outcome = IssueOutcome(None, len(chosen), dropped, len(due_ids - wanted))
            if chosen:
                outcome.batch = _issue(district, school, level, chosen, actor, delivery,
                                       details, dropped)  # fmt: skip
        return outcome
    except IntegrityError as error:
        raise CannotIssue(
            "Nothing was issued: someone else issued some of these letters at the same moment. "
            "Look at the list again; the letters they issued are under Letters."
        ) from error
    except OperationalError as error:
        if connection.vendor != "sqlite" or "locked" not in str(error):
            raise
        raise CannotIssue(
            "Nothing was issued: Last Bell is busy saving other changes (a large import, say). "
            "Try again in a few minutes."
        ) from error


def _issue(district, school, level, rows, actor, delivery, details, dropped) -> LetterBatch:
    now = timezone.now()
    policy = rows[0].policy
    batch = LetterBatch.objects.create(
        district=district, school=school, level=level, level_name=policy.level_name(level),
        delivery=delivery, issued=len(rows), dropped=dropped[: LetterBatch.MAX_DROPPED],
        dropped_count=len(dropped), details=details, created_by=actor,
        progress_total=len(rows),
    )  # fmt: skip
    letters = Letter.objects.bulk_create([
        Letter(student_id=row.student_id, school_id=row.school_id, level=level,
               level_name=row.policy.level_name(level), year_starts_on=row.policy.year_starts_on,
               count=row.count, threshold=row.policy.threshold(level),
               dates=[day.isoformat() for day in row.dates], batch=batch, issued_at=now,
               issued_by=actor)
        for row in rows
    ])  # fmt: skip
    schools = {s.pk: s for s in district.schools.filter(pk__in={r.school_id for r in rows})}
    if level == 2:
        _book_conferences(letters, schools, details.get("conference") or {}, actor)
    elif level >= 3:
        board = (details.get("board") or {}).get("name", "")
        Referral.objects.bulk_create(
            Referral(letter=letter, board=board, updated_by=actor) for letter in letters
        )
    names = {row.student_id: row.full_name for row in rows}
    audit_saved(
        audit_event(
            action="truancy.letter.issued", actor=actor, via=Via.WEB, district_id=district.pk,
            school_id=letter.school_id, student_id=letter.student_id, target_type="Letter",
            target_id=letter.pk, label=f"{letter.level_name} to {names[letter.student_id]}",
            after={"letter": letter.level_name, "level": letter.level, "count": letter.count,
                   "dates": ", ".join(letter.dates), "run": batch.pk},
        )
        for letter in letters
    )  # fmt: skip
    audit_record(
        action="truancy.batch.issued", actor=actor, target=batch, school=school,
        district=district, label=f"{batch.level_name}: {len(rows)} letters",
        after={"letter": batch.level_name, "issued": len(rows), "dropped": len(dropped),
               "delivery": batch.get_delivery_display()},
    )  # fmt: skip
    transaction.on_commit(partial(_make_letters, batch.pk))
    return batch


def _make_letters(batch_id: int):
    from lastbell.truancy.tasks import make_letters

    make_letters.enqueue(batch_id)


def _why_dropped(district, school, level, ids: set[int], on: dt.date) -> list[dict]:
    """Why each previewed student in scope is no longer due; students outside the scope
    (ids that were never in this preview) are left out, unnamed. A fixed number of queries."""
    if not ids:
        return []
    students = Student.objects.filter(pk__in=ids, school__district=district)
    if school is not None:
        students = students.filter(school=school)
    students = {s.pk: s for s in students.select_related("school")}
    dropped, unsure = [], []
    active = set(Student.objects.filter(pk__in=students).active_on(on).values_list("pk", flat=True))
    tz = zoneinfo.ZoneInfo(district.timezone)
    by_school: dict[int, list] = {}
    for student in students.values():
        by_school.setdefault(student.school_id, []).append(student)
    groups = tracker.policies(district, list({s.school_id: s.school for s in students.values()}
                                             .values()), on)  # fmt: skip
    for policy, schools in groups:
        members = [s for school_ in schools for s in by_school.get(school_.pk, [])]
        letters = Letter.objects.in_force(policy.year_starts_on, policy.year_ends_on, tz).filter(
            student__in=members
        )
        highest: dict[int, int] = {}
        for student_id, lvl in letters.values_list("student_id", "level"):
            highest[student_id] = max(highest.get(student_id, 0), lvl)
        start, end = policy.window(on)
        counts = dict(
            Absence.objects.filter(policy.counted(), student__in=members, date__gte=start,
                                   date__lte=end)
            .values("student_id").annotate(n=Count("pk")).values_list("student_id", "n")
        )  # fmt: skip
        for student in members:
            if highest.get(student.pk, 0) >= level:
                reason = "issued"
            elif student.pk not in active:
                reason = "left"
            elif level > 1 and highest.get(student.pk, 0) < level - 1:
                reason = "order"
            elif counts.get(student.pk, 0) < (policy.threshold(level) or 0):
                reason = "below"
            else:
                unsure.append(student)
                continue
            dropped.append({"student_id": student.pk, "name": student.full_name,
                            "reason": reason})  # fmt: skip
    for student in unsure:  # e.g. the school's policy changed since the preview
        dropped.append({"student_id": student.pk, "name": student.full_name, "reason": "below"})
    return sorted(dropped, key=lambda row: row["name"].lower())


def _book_conferences(letters, schools, wanted: dict, actor):
    """A conference per letter 2: one after the other from the first day and time staff gave,
    `minutes` apart, until `until`, then on the school's next school day; each school has its
    own sequence. Without a first day, the letter asks the family to call."""
    place = (wanted.get("place") or "").strip()
    first_day = wanted.get("first_day")
    slots: dict[int, object] = {}
    if first_day:
        first_day = dt.date.fromisoformat(first_day)
        start = dt.time.fromisoformat(wanted["start"])
        until = dt.time.fromisoformat(wanted["until"])
        step = dt.timedelta(minutes=int(wanted["minutes"]))
        by_school: dict[int, list] = {}
        for letter in letters:
            by_school.setdefault(letter.school_id, []).append(letter)
        for school_id, group in by_school.items():
            school = schools[school_id]
            calendar = SchoolCalendar.for_school(
                school, first_day, first_day + dt.timedelta(days=366)
            )
            moments = _slots(calendar, first_day, start, until, step, school.tz)
            for letter in sorted(group, key=lambda lt: lt.pk):
                slots[letter.pk] = next(moments, None)  # None: the family calls
    Conference.objects.bulk_create(
        Conference(letter=letter, scheduled_at=slots.get(letter.pk), place=place,
                   updated_by=actor)
        for letter in letters
    )  # fmt: skip


def _slots(calendar, day: dt.date, start: dt.time, until: dt.time, step: dt.timedelta, tz):
    """Conference times from `day`: `start`, then every `step` while a conference still ends
    by `until` (at least one a day), on each school day in turn; past the year the calendar
    covers, on weekdays."""
    for offset in range(732):
        date = day + dt.timedelta(days=offset)
        if not (calendar.is_school_day(date) if offset < 366 else date.weekday() < 5):
            continue
        moment = dt.datetime.combine(date, start, tzinfo=tz)
        end = dt.datetime.combine(date, until, tzinfo=tz)
        while True:
            yield moment
            moment += step
            if moment + step > end:
                break


# --- after issuing ------------------------------------------------------------------------------


def _letter_snapshot(letter: Letter) -> dict:
    return {"letter": letter.level_name or f"Letter {letter.level}", "count": letter.count,
            "issued": f"{letter.issued_at:%Y-%m-%d}",
            "voided": f"{letter.voided_at:%Y-%m-%d}" if letter.voided_at else None,
            "reason": letter.void_reason or None}  # fmt: skip


def letter_void(*, letter: Letter, reason: str, actor) -> Letter:
    """Void a letter issued in error, with the reason: it stays on record, no longer counts,
    and the tracker lists the student as due again if they still are. A letter that a later
    letter of the same year rests on can't be voided before that one."""
    reason = " ".join((reason or "").split())
    if len(reason) < 5:
        raise ValidationError(
            {
                "reason": "Say why the letter is voided (for the record), "
                "such as “absences were excused by a doctor's note”."
            }
        )
    with transaction.atomic():
        letter = (
            Letter.objects.select_for_update(no_key=True)
            .select_related("student", "school")
            .get(pk=letter.pk)
        )
        if letter.voided_at is not None:
            raise ValidationError("This letter was already voided. Nothing changed.")
        later = Letter.objects.filter(
            student=letter.student, year_starts_on=letter.year_starts_on,
            level__gt=letter.level, voided_at__isnull=True,
        ).order_by("level").first()  # fmt: skip
        if later is not None:
            raise ValidationError(
                f"{later.level_name or f'Letter {later.level}'} was issued after this one and "
                "rests on it. Void that letter first, then this one."
            )
        before = _letter_snapshot(letter)
        letter.voided_at, letter.voided_by, letter.void_reason = timezone.now(), actor, reason
        letter.save(update_fields=["voided_at", "voided_by", "void_reason"])
        audit_record(
            action="truancy.letter.voided", actor=actor, target=letter, school=letter.school,
            student=letter.student, before=before, after=_letter_snapshot(letter),
            label=f"{letter.level_name} to {letter.student}",
        )  # fmt: skip
    return letter


def letter_keep(*, letter: Letter, actor) -> Letter:
    """Review: the count fell below the letter's level (an absence was excused) and staff
    keep the letter as issued. It leaves the review list."""
    with transaction.atomic():
        letter = (
            Letter.objects.select_for_update(no_key=True)
            .select_related("student", "school")
            .get(pk=letter.pk)
        )
        if letter.voided_at is not None:
            raise ValidationError("This letter was voided; there is nothing to keep.")
        if letter.reviewed_at is not None:
            return letter
        letter.reviewed_at, letter.reviewed_by = timezone.now(), actor
        letter.save(update_fields=["reviewed_at", "reviewed_by"])
        audit_record(
            action="truancy.letter.reviewed", actor=actor, target=letter, school=letter.school,
            student=letter.student, before={"reviewed": False},
            after={"reviewed": True, "kept": "yes"},
            label=f"{letter.level_name} to {letter.student}",
        )  # fmt: skip
    return letter


def _conference_snapshot(conference: Conference, tz) -> dict:
    when = conference.scheduled_at.astimezone(tz) if conference.scheduled_at else None
    return {"status": conference.get_status_display(),
            "when": f"{when:%Y-%m-%d %H:%M}" if when else None,
            "place": conference.place or None, "notes": conference.notes or None}  # fmt: skip


def conference_save(*, letter: Letter, values: dict, actor) -> Conference:
    """Record the letter 2 conference: when and where, and whether it was held."""
    if letter.level != 2:
        raise ValidationError("Only a letter 2 has a parent conference.")
    with transaction.atomic():
        conference, _ = Conference.objects.select_for_update(no_key=True).get_or_create(
            letter=letter
        )
        tz = letter.school.tz
        before = _conference_snapshot(conference, tz)
        for name in ("scheduled_at", "place", "status", "notes"):
            setattr(conference, name, values[name])
        conference.updated_by = actor
        conference.save()
        after = _conference_snapshot(conference, tz)
        if before != after:
            audit_record(
                action="truancy.conference.saved", actor=actor, target=conference,
                school=letter.school, student=letter.student, before=before, after=after,
                label=f"Conference about {letter.student}",
            )  # fmt: skip
    return conference


def _referral_snapshot(referral: Referral, tz) -> dict:
    when = referral.hearing_at.astimezone(tz) if referral.hearing_at else None
    return {"board": referral.board or None, "status": referral.get_status_display(),
            "hearing": f"{when:%Y-%m-%d %H:%M}" if when else None,
            "outcome": referral.outcome or None}  # fmt: skip


def referral_save(*, letter: Letter, values: dict, actor) -> Referral:
    """Record the letter 3 referral to the attendance review board and its outcome."""
    if letter.level < 3:
        raise ValidationError("Only a letter 3 refers a student to the attendance review board.")
    with transaction.atomic():
        referral, _ = Referral.objects.select_for_update(no_key=True).get_or_create(letter=letter)
        tz = letter.school.tz
        before = _referral_snapshot(referral, tz)
        for name in ("board", "status", "hearing_at", "outcome"):
            setattr(referral, name, values[name])
        referral.updated_by = actor
        referral.save()
        after = _referral_snapshot(referral, tz)
        if before != after:
            audit_record(
                action="truancy.referral.saved", actor=actor, target=referral,
                school=letter.school, student=letter.student, before=before, after=after,
                label=f"Referral of {letter.student}",
            )  # fmt: skip
    return referral


def batch_retry(*, batch: LetterBatch, actor) -> LetterBatch:
    """Make a run's PDF again: it failed, or its worker stopped while making it."""
    with transaction.atomic():
        batch = LetterBatch.objects.select_for_update(no_key=True).get(pk=batch.pk)
        if batch.status != LetterBatch.Status.FAILED and not batch.stalled:
            raise ValidationError("This run's PDF did not fail; there is nothing to redo.")
        batch.status, batch.error, batch.progress_done = LetterBatch.Status.QUEUED, "", 0
        batch.finished_at = None
        batch.save(update_fields=["status", "error", "progress_done", "finished_at"])
        audit_record(
            action="truancy.batch.retried", actor=actor, target=batch, school=batch.school,
            district=batch.district, label=str(batch), after={"pdf": "asked again"},
        )  # fmt: skip
        transaction.on_commit(partial(_make_letters, batch.pk))
    return batch


# --- letter templates ---------------------------------------------------------------------------


def template_save(*, district, level: int, language: str, subject: str, body: str,
                  actor) -> LetterTemplate:  # fmt: skip
    """Save the district's text of a letter in a language, once the sandbox accepts it."""
    from lastbell.truancy.documents import FIELDS

    problems = {}
    subject = " ".join((subject or "").split())
    if not subject:
        problems["subject"] = ["Give the email subject, such as “Truancy notice”."]
    else:
        try:
            sandbox.check(subject, fields=FIELDS, what="The subject")
        except ValidationError as error:
            problems["subject"] = error.messages
    if not (body or "").strip():
        problems["body"] = ["Write the letter."]
    else:
        try:
            sandbox.check(body, fields=FIELDS)
        except ValidationError as error:
            problems["body"] = error.messages
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        saved = LetterTemplate.objects.select_for_update(no_key=True).filter(
            district=district, level=level, language=language).first()  # fmt: skip
        before = {"subject": saved.subject, "body": saved.body} if saved else None
        saved = saved or LetterTemplate(district=district, level=level, language=language)
        saved.subject, saved.body, saved.updated_by = subject, body, actor
        saved.save()
        after = {"subject": subject, "body": body}
        if before != after:
            audit_record(
                action="truancy.template.saved", actor=actor, target=saved, district=district,
                before=before, after=after, label=f"Letter {level} ({language})",
            )  # fmt: skip
    return saved


def template_reset(*, district, level: int, language: str, actor) -> bool:
    """Go back to the default text; False when the district had none of its own."""
    with transaction.atomic():
        saved = LetterTemplate.objects.select_for_update(no_key=True).filter(
            district=district, level=level, language=language).first()  # fmt: skip
        if saved is None:
            return False
        audit_record(
            action="truancy.template.reset", actor=actor, target=saved, district=district,
            before={"subject": saved.subject, "body": saved.body}, after=None,
            label=f"Letter {level} ({language})",
        )  # fmt: skip
        saved.delete()
    return True
