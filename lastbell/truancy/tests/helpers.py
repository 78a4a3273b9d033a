"""Attendance for truancy tests, recorded through the real services."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from lastbell.attendance.services import AbsenceEvent, AbsenceSpec, absences_record_many
from lastbell.truancy.models import Letter

ON = dt.date(2026, 11, 18)  # a Wednesday of the 2026–27 school year (July 1 – June 30)
DAYS = [dt.date(2026, 9, 1) + dt.timedelta(days=n) for n in range(60)]


def record(student, *entries):
    """entries: (date, kind, excused, minutes); early departures leave at 2 pm."""
    events = [
        AbsenceEvent(student.pk, student.school_id, student.full_name, AbsenceSpec(
            date=date, kind=kind, excused=excused, minutes=minutes,
            departs_at=dt.time(14, 0) if kind == "early_departure" else None,
        ))
        for date, kind, excused, minutes in entries
    ]  # fmt: skip
    with transaction.atomic():
        absences_record_many(events, district_id=student.school.district_id)


def unexcused(student, *dates):
    record(student, *[(d, "absent", False, None) for d in dates])


def issue(student, level, at=None, voided=False):
    """A letter written straight to the table (letters_issue is what staff use)."""
    from lastbell.truancy.tracker import policy_for

    at = at or timezone.now()
    year = policy_for(student.school, at.date()).year_starts_on
    return Letter.objects.create(student=student, school=student.school, level=level,
                                 year_starts_on=year, issued_at=at,
                                 voided_at=at if voided else None)  # fmt: skip


IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def preview(school, level, on=ON):
    """The student ids staff see due on the tracker page: what a run is asked to issue."""
    from lastbell.truancy import tracker

    return [row.student_id for row in tracker.due(district=school.district, school=school,
                                                  level=level, on=on)]  # fmt: skip


def run(school, level, actor, *, students=None, on=ON, **options):
    """Issue letter `level` at `school` to `students` (by default: whoever is due now)."""
    from lastbell.truancy import services

    ids = preview(school, level, on) if students is None else [s.pk for s in students]
    return services.letters_issue(district=school.district, school=school, level=level,
                                  student_ids=ids, actor=actor, on=on, **options)  # fmt: skip
