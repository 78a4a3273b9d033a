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
    at = at or timezone.now()
    return Letter.objects.create(student=student, level=level, issued_at=at,
                                 voided_at=at if voided else None)  # fmt: skip
