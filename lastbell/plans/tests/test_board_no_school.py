"""On a day without school no plan is needed, so nobody is missing one."""

import datetime as dt

import pytest

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.plans import services
from lastbell.plans.board import day_board
from lastbell.plans.models import PlanType
from lastbell.plans.services import PlanSpec
from lastbell.schools.models import CalendarDay


@pytest.fixture
def two_students(on_school_day, school, staff, student):
    """Ana walks every day of the week; Ben has no plan at all."""
    services.default_set(
        student=student,
        starts_on=on_school_day,
        days={day: PlanSpec(PlanType.WALK) for day in range(7)},
        actor=staff,
    )
    return student, testing.make_student(school, first="Ben")


def test_it_counts_the_missing_plans_on_a_school_day(on_school_day, school, two_students):
    board = day_board(school, on_school_day)

    assert board.is_school_day
    assert board.no_school_reason == ""
    assert (board.total, board.planned_count, board.missing_count) == (2, 1, 1)


@pytest.mark.parametrize(
    ("date", "kind", "reason"),
    [
        (dt.date(2026, 11, 21), None, "No school: weekend."),
        (dt.date(2026, 11, 26), CalendarDay.Kind.HOLIDAY, "No school: Thanksgiving."),
        (dt.date(2026, 11, 19), CalendarDay.Kind.CLOSURE, "No school: Thanksgiving."),
        (dt.date(2027, 7, 1), None, "No school: this date is outside the school year."),
    ],
)
def test_it_needs_no_plan_on_a_day_without_school(school, two_students, date, kind, reason):
    if kind:
        CalendarDay.objects.create(school=school, date=date, kind=kind, note="Thanksgiving")

    board = day_board(school, date)

    assert not board.is_school_day
    assert board.no_school_reason == reason
    assert board.missing_count == 0
    assert board.planned_count == 0
    assert {row.plan_type for row in board.rows} == {None}
    # The students are still listed; only the plans are not needed.
    assert board.total == 2


def test_it_names_a_closure_without_a_note_by_its_kind(school, two_students):
    CalendarDay.objects.create(
        school=school, date=dt.date(2026, 12, 2), kind=CalendarDay.Kind.CLOSURE
    )

    board = day_board(school, dt.date(2026, 12, 2))

    assert board.no_school_reason == "No school: Closure."


def test_it_needs_plans_on_an_extra_school_day_on_a_weekend(school, two_students):
    saturday = dt.date(2026, 11, 21)
    CalendarDay.objects.create(school=school, date=saturday, kind=CalendarDay.Kind.EXTRA_SCHOOL_DAY)

    board = day_board(school, saturday)

    assert board.is_school_day
    assert (board.planned_count, board.missing_count) == (1, 1)


def test_it_says_nothing_about_no_school_when_a_student_is_absent(
    on_school_day, school, two_students
):
    ana, _ = two_students
    Absence.objects.create(student=ana, date=on_school_day, reason="Family trip")

    board = day_board(school, on_school_day)

    assert board.is_school_day
    assert board.no_school_reason == ""
