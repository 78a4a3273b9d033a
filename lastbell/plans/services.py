"""Every change to a student's plan: one transaction with its audit event."""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lastbell.audit.models import Via
from lastbell.audit.services import audit_record
from lastbell.plans import notify, weekdays
from lastbell.plans.models import (
    DefaultDay,
    Enrollment,
    LongTermDefault,
    PlanChange,
    Program,
    Source,
    validation_error,
)
from lastbell.schools.models import SchoolCalendar


@dataclass
class PlanSpec:
    """The how-home part of a plan before it is stored."""

    plan_type: str
    bus_route: object = None
    pickup_guardian: object = None
    pickup_name: str = ""
    dismiss_at: dt.time | None = None
    note: str = ""

    def fields(self) -> dict:
        return {
            "plan_type": self.plan_type,
            "bus_route": self.bus_route,
            "pickup_guardian": self.pickup_guardian,
            "pickup_name": self.pickup_name.strip(),
            "dismiss_at": self.dismiss_at,
            "note": self.note.strip(),
        }


def _checked(instance, school, student):
    instance.clear_unused()
    errors = instance.plan_errors(school, student)
    if errors:
        raise validation_error(errors)
    return instance


def _default_snapshot(default: LongTermDefault) -> dict:
    return {
        "starts_on": default.starts_on.isoformat(),
        "ends_on": default.ends_on.isoformat() if default.ends_on else None,
        "days": {
            weekdays.label(weekdays.bit(day.weekday)): day.plan_snapshot()
            for day in default.days.select_related("bus_route", "pickup_guardian")
        },
    }


def default_set(
    *,
    student,
    starts_on: dt.date,
    days: dict[int, PlanSpec],
    actor,
    source=Source.STAFF,
    via=Via.WEB,
    source_detail="",
) -> LongTermDefault:
    """Start a new version of the student's long-term default on `starts_on`.

    The version in effect the day before ends then; versions that had not started yet are
    cancelled. Past days keep the plan they had.
    """
    school = student.school
    if not days:
        raise validation_error({"days": _("Choose a plan for at least one weekday.")})
    if starts_on < school.today():
        raise validation_error(
            {"starts_on": _("A new default can start today or later; past days keep their plan.")}
        )
    new_days = [
        _checked(DefaultDay(weekday=weekday, **spec.fields()), school, student)
        for weekday, spec in sorted(days.items())
    ]
    with transaction.atomic():
        # Lock the student, not only its versions: two first defaults saved at once would
        # otherwise both start open-ended.
        type(student).objects.select_for_update(no_key=True).filter(pk=student.pk).first()
        current = list(
            LongTermDefault.objects.select_for_update(no_key=True)
            .filter(student=student, cancelled_at__isnull=True)
            .exclude(ends_on__lt=starts_on)
            .order_by("starts_on", "id")
        )
        before = None
        now = timezone.now()
        for old in current:
            if old.starts_on < starts_on:
                before = _default_snapshot(old)
                old.ends_on = starts_on - dt.timedelta(days=1)
                old.save(update_fields=["ends_on"])
            else:
                # A version scheduled on or after the new start never takes effect; say so.
                dropped = _default_snapshot(old)
                old.cancelled_at = now
                old.save(update_fields=["cancelled_at"])
                audit_record(
                    action="plan.default.cancelled", actor=actor, target=old, school=school,
                    student=student, before=dropped, after=None, via=via,
                    label=f"Scheduled default for {student.full_name}",
                )  # fmt: skip
        default = LongTermDefault.objects.create(
            student=student, starts_on=starts_on, source=source, set_by=actor,
            source_detail=source_detail,
        )  # fmt: skip
        for day in new_days:
            day.default = default
        DefaultDay.objects.bulk_create(new_days)
        audit_record(
            action="plan.default.set", actor=actor, target=default, school=school,
            student=student, before=before, after=_default_snapshot(default), via=via,
            label=f"Long-term default for {student.full_name}",
        )  # fmt: skip
        notify.confirm(student=student, actor=actor, source=source,
                       lines_of=lambda: notify.default_lines(default))  # fmt: skip
    return default


def default_end(
    *, student, last_day: dt.date, actor, via=Via.WEB, source=Source.STAFF
) -> LongTermDefault | None:
    """Stop the standing plan after `last_day`: from the next day the student has none.

    The version in effect on `last_day` ends then; versions that start later are cancelled.
    """
    if last_day < student.school.today() - dt.timedelta(days=1):
        raise validation_error(
            {"last_day": "A default can end yesterday at the earliest; past days keep their plan."}
        )
    ended = None
    with transaction.atomic():
        versions = (
            LongTermDefault.objects.select_for_update(no_key=True)
            .filter(student=student, cancelled_at__isnull=True)
            .exclude(ends_on__lte=last_day)
            .order_by("starts_on")
        )
        now = timezone.now()
        for version in versions:
            before = _default_snapshot(version)
            if version.starts_on <= last_day:
                version.ends_on = last_day
                version.save(update_fields=["ends_on"])
            else:
                version.cancelled_at = now
                version.save(update_fields=["cancelled_at"])
            audit_record(
                action="plan.default.ended", actor=actor, target=version,
                school=student.school, student=student, before=before,
                after=None if version.cancelled_at else _default_snapshot(version), via=via,
                label=f"Long-term default for {student.full_name}",
            )  # fmt: skip
            ended = version
        if ended is not None:
            notify.confirm(student=student, actor=actor, source=source,
                           lines_of=lambda: notify.default_ended_lines(last_day))  # fmt: skip
    return ended


def change_snapshot(change: PlanChange) -> dict:
    return {
        "dates": change.span_label,
        **change.plan_snapshot(),
    }


def change_create(
    *,
    student,
    starts_on: dt.date,
    ends_on: dt.date | None,
    plan: PlanSpec,
    actor,
    weekday_mask: int = weekdays.ALL_DAYS,
    source=Source.STAFF,
    via=Via.WEB,
) -> PlanChange:
    """Add a one-time or short-term change. Overlapping changes: the newest wins."""
    school = student.school
    ends_on = ends_on or starts_on
    change = PlanChange(
        student=student, starts_on=starts_on, ends_on=ends_on, weekdays=weekday_mask,
        source=source, set_by=actor, **plan.fields(),
    )  # fmt: skip
    errors = {}
    if ends_on < starts_on:
        errors["ends_on"] = _("The last day of the change is before its first day.")
    elif starts_on < school.today():
        errors["starts_on"] = _("A change can't start in the past.")
    elif (ends_on - starts_on).days > 366:
        errors["ends_on"] = _("A change can last a year at most; set a long-term default instead.")
    if not weekday_mask or weekday_mask & ~weekdays.ALL_DAYS:
        errors["weekdays"] = _("Choose at least one weekday.")
    elif not errors and not any(
        change.covers(starts_on + dt.timedelta(days=n))
        for n in range(min(7, (ends_on - starts_on).days + 1))
    ):
        errors["weekdays"] = _("None of the chosen weekdays falls between those dates.")
    elif not errors:
        calendar = SchoolCalendar.for_school(school, starts_on, ends_on)
        days = (starts_on + dt.timedelta(days=n) for n in range((ends_on - starts_on).days + 1))
        if not any(change.covers(day) and calendar.is_school_day(day) for day in days):
            # A change for days without school would never show: say so rather than save it.
            errors["starts_on"] = _("There is no school on the chosen days.")
    change.clear_unused()
    errors.update(change.plan_errors(school, student))
    if errors:
        raise validation_error(errors)
    with transaction.atomic():
        change.save()
        audit_record(
            action="plan.change.created", actor=actor, target=change, school=school,
            student=student, after=change_snapshot(change), via=via,
            label=f"Change for {student.full_name}, {change.span_label}",
        )  # fmt: skip
        notify.confirm(student=student, actor=actor, source=source,
                       lines_of=lambda: notify.change_lines(change))  # fmt: skip
    return change


def change_cancel(*, change: PlanChange, actor, via=Via.WEB, source=Source.STAFF) -> PlanChange:
    """Remove a change that has not passed yet. A past day keeps the plan it had."""
    school = change.student.school
    if change.ends_on < school.today():
        raise validation_error({"change": _("This change is in the past and can't be removed.")})
    with transaction.atomic():
        change = PlanChange.objects.select_for_update(no_key=True).get(pk=change.pk)
        if change.cancelled_at:
            return change
        before = change_snapshot(change)
        today = school.today()
        # What is removed, for the confirmation: from today when the change already began.
        removed = PlanChange(starts_on=max(change.starts_on, today), ends_on=change.ends_on,
                             weekdays=change.weekdays)  # fmt: skip
        if change.starts_on < today:
            # Days already passed keep the change; it stops after yesterday.
            change.ends_on = today - dt.timedelta(days=1)
            change.save(update_fields=["ends_on"])
        else:
            change.cancelled_at = timezone.now()
            change.cancelled_by = actor
            change.save(update_fields=["cancelled_at", "cancelled_by"])
        audit_record(
            action="plan.change.cancelled", actor=actor, target=change, school=school,
            student=change.student, before=before, via=via,
            # A change that already began keeps its past days: the log shows what is left.
            after=None if change.cancelled_at else change_snapshot(change),
            label=f"Change for {change.student.full_name}, {change.span_label}",
        )  # fmt: skip
        notify.confirm(student=change.student, actor=actor, source=source,
                       lines_of=lambda: notify.change_lines(removed, removed=True))  # fmt: skip
    return change


def _program_snapshot(program: Program) -> dict:
    return {
        "name": program.name,
        "kind": program.kind,
        "days": program.days_label,
        "dates": f"{program.starts_on} – {program.ends_on}",
        "end_time": program.end_time.strftime("%H:%M"),
        "capacity": program.capacity,
        "location": program.location,
    }


def program_save(*, program: Program, actor, via=Via.WEB) -> Program:
    """Create or edit a program (already validated by its form)."""
    creating = program.pk is None
    with transaction.atomic():
        before = None
        if not creating:
            before = _program_snapshot(
                Program.objects.select_for_update(no_key=True).get(pk=program.pk)
            )
        program.save()
        audit_record(
            action="program.created" if creating else "program.updated", actor=actor,
            target=program, school=program.school, before=before,
            after=_program_snapshot(program), via=via,
        )  # fmt: skip
    return program


def enrollment_create(
    *,
    program: Program,
    student,
    weekday_mask: int,
    starts_on: dt.date,
    ends_on: dt.date | None,
    actor,
    source=Source.STAFF,
    via=Via.WEB,
) -> Enrollment:
    enrollment = Enrollment(
        program=program, student=student, weekdays=weekday_mask, starts_on=starts_on,
        ends_on=ends_on, source=source, set_by=actor,
    )  # fmt: skip
    errors = enrollment.clean_days()
    if student.school_id != program.school_id:
        errors["student"] = "That student is at another school."
    if ends_on and ends_on < starts_on:
        errors["ends_on"] = "The last day is before the first day."
    if starts_on > program.ends_on or (ends_on or program.ends_on) < program.starts_on:
        errors["starts_on"] = (
            f"{program.name} runs {program.starts_on:%b %-d} – {program.ends_on:%b %-d, %Y}; "
            "choose dates inside that."
        )
    elif starts_on < program.school.today():
        errors["starts_on"] = "An enrollment can start today or later; past days keep their plan."
    if errors:
        raise validation_error(errors)
    with transaction.atomic():
        program = Program.objects.select_for_update(no_key=True).get(pk=program.pk)
        overlapping = Enrollment.objects.filter(program=program, student=student).exclude(
            ends_on__lt=starts_on
        )
        if ends_on is not None:
            overlapping = overlapping.exclude(starts_on__gt=ends_on)
        if overlapping.exists():
            raise validation_error(
                {
                    "student": f"{student.full_name} is already enrolled in {program.name}. "
                    "Remove the enrollment first to change the days."
                }
            )
        if program.capacity is not None:
            taken = (
                Enrollment.objects.filter(program=program)
                .exclude(ends_on__lt=starts_on)
                .exclude(student=student)
                .values("student")
                .distinct()
                .count()
            )
            if taken >= program.capacity:
                places = "place" if program.capacity == 1 else "places"
                raise validation_error(
                    {"student": f"{program.name} is full ({program.capacity} {places})."}
                )
        enrollment.save()
        audit_record(
            action="program.enrollment.created", actor=actor, target=enrollment,
            school=program.school, student=student,
            after={"program": program.name, "days": enrollment.days_label,
                   "starts_on": starts_on.isoformat(),
                   "ends_on": ends_on.isoformat() if ends_on else None},
            via=via, label=f"{student.full_name} in {program.name}",
        )  # fmt: skip
        notify.confirm(student=student, actor=actor, source=source,
                       lines_of=lambda: notify.enrollment_lines(enrollment))  # fmt: skip
    return enrollment


def enrollment_end(*, enrollment: Enrollment, last_day: dt.date, actor, via=Via.WEB):
    if last_day < enrollment.program.school.today() - dt.timedelta(days=1):
        raise validation_error(
            {"last_day": "An enrollment can end yesterday at the earliest; "
                         "past days keep their plan."}
        )  # fmt: skip
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update(no_key=True).get(pk=enrollment.pk)
        if enrollment.ends_on is not None and enrollment.ends_on <= last_day:
            return enrollment  # already over: its past days stay as they were
        before = {"ends_on": enrollment.ends_on.isoformat() if enrollment.ends_on else None}
        # An enrollment that had not started yet simply ends before it begins.
        enrollment.ends_on = max(last_day, enrollment.starts_on)
        starts_later = last_day < enrollment.starts_on
        if not starts_later:
            enrollment.save(update_fields=["ends_on"])
        # Written before a removal, so that the event still names the enrollment's id.
        audit_record(
            action="program.enrollment.ended", actor=actor, target=enrollment,
            school=enrollment.program.school, student=enrollment.student, before=before,
            after=None if starts_later else {"ends_on": enrollment.ends_on.isoformat()}, via=via,
            label=f"{enrollment.student.full_name} in {enrollment.program.name}",
        )  # fmt: skip
        notify.confirm(
            student=enrollment.student, actor=actor, source=Source.STAFF,
            lines_of=lambda: notify.enrollment_lines(enrollment, ended_after=last_day),
        )  # fmt: skip
        if starts_later:
            enrollment.delete()
    return enrollment
