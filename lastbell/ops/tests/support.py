"""A school with truant students and guardians, around the real today: the task worker may
run in another process, whose clock is not frozen."""

import datetime as dt

from django.db import transaction

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.attendance.services import AbsenceEvent, AbsenceSpec, absences_record_many
from lastbell.truancy import services
from lastbell.truancy.models import LetterBatch


def truant_school(students: int):
    """(school, staff, pupils): each pupil with three unexcused absences on the last three
    weekdays and a guardian with an email, so letter 1 is due for all of them."""
    district = testing.make_district()
    today = dt.date.today()
    school = testing.make_school(district, "Lincoln Elementary",
                                 term=(today - dt.timedelta(days=90),
                                       today + dt.timedelta(days=90)))  # fmt: skip
    services.policy_save(district=district, values={
        "counts": ["absent_unexcused"], "tardy_minutes": 30,
        "levels": [{"threshold": 3, "name": "Letter 1: first truancy notice"}],
        "year_starts_on": today - dt.timedelta(days=100),
        "year_ends_on": today + dt.timedelta(days=200),
    }, actor=None)  # fmt: skip
    staff = testing.make_staff(school, Role.DISMISSAL_STAFF, first="Dana", last="Office")
    days, day = [], today - dt.timedelta(days=1)
    while len(days) < 3:
        if day.weekday() < 5:
            days.append(day)
        day -= dt.timedelta(days=1)
    pupils = []
    for n in range(students):
        pupil = testing.make_student(school, first=f"Kid{n}", last="Rivera",
                                     enrolled_on=today - dt.timedelta(days=60))  # fmt: skip
        testing.make_guardian(pupil, first=f"Parent{n}", last="Rivera",
                              mailing_address=f"{n} Oak Street\nRiverside, CA 92501")  # fmt: skip
        pupils.append(pupil)
    with transaction.atomic():
        absences_record_many([AbsenceEvent(p.pk, school.pk, p.full_name, AbsenceSpec(date=d))
                              for p in pupils for d in days], district_id=district.pk)  # fmt: skip
    return school, staff, pupils


def issue_by_email(school, staff, pupils) -> LetterBatch:
    outcome = services.letters_issue(
        district=school.district, school=school, level=1, student_ids=[p.pk for p in pupils],
        actor=staff, delivery=LetterBatch.Delivery.EMAIL,
    )  # fmt: skip
    assert outcome.issued == len(pupils)
    return outcome.batch
