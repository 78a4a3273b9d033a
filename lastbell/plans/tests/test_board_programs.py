"""A program counts on the days it meets that the student chose, inside both date ranges."""

import datetime as dt

import pytest

from lastbell.plans import services, weekdays
from lastbell.plans.board import day_board
from lastbell.plans.models import Layer, PlanType, Program
from lastbell.plans.services import PlanSpec

MON, TUE, WED, THU, FRI = range(5)


@pytest.fixture
def care(on_school_day, school, staff, student):
    """Care meets Mon–Thu until Dec 18; Ana attends Tue and Wed from today; else she walks."""
    services.default_set(
        student=student,
        starts_on=on_school_day,
        days={day: PlanSpec(PlanType.WALK) for day in range(5)},
        actor=staff,
    )
    program = Program.objects.create(
        school=school,
        name="After care",
        kind=Program.Kind.CARE,
        weekdays=weekdays.mask_of([MON, TUE, WED, THU]),
        starts_on=dt.date(2026, 9, 1),
        ends_on=dt.date(2026, 12, 18),
        end_time=dt.time(18, 0),
    )
    return services.enrollment_create(
        program=program,
        student=student,
        weekday_mask=weekdays.mask_of([TUE, WED]),
        starts_on=on_school_day,
        ends_on=None,
        actor=staff,
    )


def layers(school, student, dates):
    return [
        next(row.layer for row in day_board(school, date).rows if row.student_id == student.id)
        for date in dates
    ]


def test_it_counts_only_the_chosen_days(on_school_day, school, student, care):
    week = [dt.date(2026, 11, 23) + dt.timedelta(days=n) for n in range(5)]  # Mon–Fri

    assert layers(school, student, week) == [
        Layer.DEFAULT,
        Layer.PROGRAM,
        Layer.PROGRAM,
        Layer.DEFAULT,
        Layer.DEFAULT,
    ]


def test_it_counts_from_the_first_day_of_the_enrollment(on_school_day, school, student, care):
    last_tuesday = dt.date(2026, 11, 17)

    # The walking default starts today too, so yesterday had no plan at all.
    assert layers(school, student, [last_tuesday, on_school_day]) == [None, Layer.PROGRAM]


def test_it_stops_when_the_program_ends(on_school_day, school, student, care):
    last_day, after = dt.date(2026, 12, 16), dt.date(2027, 1, 5)  # Wednesday, Tuesday

    assert layers(school, student, [last_day, after]) == [Layer.PROGRAM, Layer.DEFAULT]


def test_it_stops_when_the_enrollment_ends(on_school_day, school, staff, student, care):
    services.enrollment_end(enrollment=care, last_day=dt.date(2026, 11, 24), actor=staff)

    assert layers(school, student, [dt.date(2026, 11, 24), dt.date(2026, 11, 25)]) == [
        Layer.PROGRAM,
        Layer.DEFAULT,
    ]


def test_it_shows_the_program_and_its_end_time(on_school_day, school, student, care):
    (row,) = day_board(school, on_school_day).rows

    assert (row.plan_type, row.record_id, row.program_id) == (
        PlanType.PROGRAM,
        care.id,
        care.program_id,
    )
    assert row.detail == "After care until 6 pm"
