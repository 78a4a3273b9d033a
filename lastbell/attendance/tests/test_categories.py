"""Tardies and part-day absences are kept with their minutes; the day board still reads only
what keeps a child from going home as planned."""

import datetime as dt

import pytest

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.attendance.services import AbsenceSpec, absence_record
from lastbell.conftest import SCHOOL_DAY
from lastbell.plans.board import day_board
from lastbell.plans.models import PlanType
from lastbell.plans.services import PlanSpec, default_set

pytestmark = pytest.mark.django_db


def plan_of(school, student):
    return {r.student_id: r for r in day_board(school, SCHOOL_DAY).rows}[student.pk]


def test_a_tardy_is_kept_with_its_minutes_and_leaves_the_plan_alone(school, student, staff,
                                                                     on_school_day):  # fmt: skip
    default_set(student=student, starts_on=SCHOOL_DAY, actor=staff,
                days={d: PlanSpec(PlanType.WALK) for d in range(5)})  # fmt: skip
    absence_record(student=student, spec=AbsenceSpec(date=SCHOOL_DAY, kind="tardy", minutes=45))
    tardy = Absence.objects.get()
    assert (tardy.kind, tardy.minutes, tardy.category_label) == (
        "tardy",
        45,
        "Tardy, 45 min (unexcused)",
    )
    assert plan_of(school, student).plan_type == PlanType.WALK
    absence_record(student=student, spec=AbsenceSpec(date=SCHOOL_DAY, kind="absent"))
    assert plan_of(school, student).plan_type == PlanType.ABSENCE
    assert Absence.objects.get().minutes is None  # a full day has no minutes


def test_an_early_departure_counts_the_minutes_to_dismissal_unless_told(school, student):
    spec = AbsenceSpec(date=SCHOOL_DAY, kind="early_departure", departs_at=dt.time(13, 15))
    absence, _ = absence_record(student=student, spec=spec)
    assert absence.minutes == 105  # until 3 pm
    row = plan_of(school, student)
    assert (row.plan_type, row.time) == (PlanType.EARLY_DISMISSAL, dt.time(13, 15))
    spec.minutes = 20
    absence, outcome = absence_record(student=student, spec=spec)
    assert (absence.minutes, outcome) == (20, "updated")
    absence, outcome = absence_record(student=student, spec=spec)
    assert outcome == "kept"


def test_without_a_dismissal_time_the_minutes_stay_unknown(district):
    school = testing.make_school(district, dismissal_wed=None)
    pupil = testing.make_student(school)
    spec = AbsenceSpec(date=SCHOOL_DAY, kind="early_departure", departs_at=dt.time(13, 15))
    absence, _ = absence_record(student=pupil, spec=spec)
    assert absence.minutes is None
