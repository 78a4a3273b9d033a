"""A change covering the date overrides the usual plan; of overlapping ones the newest wins."""

import datetime as dt

import pytest

from lastbell.plans import services, weekdays
from lastbell.plans.board import day_board
from lastbell.plans.models import Layer, PlanChange, PlanType
from lastbell.plans.services import PlanSpec


@pytest.fixture
def rides_the_bus(on_school_day, staff, student, route):
    return services.default_set(
        student=student,
        starts_on=on_school_day,
        days={day: PlanSpec(PlanType.BUS, bus_route=route) for day in range(5)},
        actor=staff,
    )


def row_of(school, date, student):
    (row,) = [row for row in day_board(school, date).rows if row.student_id == student.id]
    return row


def change(student, staff, starts_on, ends_on, plan_type, **details):
    return services.change_create(
        student=student,
        starts_on=starts_on,
        ends_on=ends_on,
        plan=PlanSpec(plan_type, **details),
        actor=staff,
    )


def test_it_lets_the_change_entered_last_win(
    on_school_day, time_machine, school, staff, student, rides_the_bus
):
    friday = on_school_day + dt.timedelta(days=2)
    week = change(student, staff, on_school_day, friday, PlanType.WALK)
    time_machine.shift(dt.timedelta(minutes=5))
    today_only = change(student, staff, on_school_day, None, PlanType.BIKE)
    time_machine.shift(dt.timedelta(minutes=5))
    # Entered last, so it wins on Friday even though it is a longer range than the walk.
    two_weeks = change(
        student,
        staff,
        friday,
        friday + dt.timedelta(days=14),
        PlanType.PICKUP,
        pickup_name="Aunt June",
    )

    today = row_of(school, on_school_day, student)
    thursday = row_of(school, on_school_day + dt.timedelta(days=1), student)
    on_friday = row_of(school, friday, student)

    assert (today.plan_type, today.record_id) == (PlanType.BIKE, today_only.id)
    assert (thursday.plan_type, thursday.record_id) == (PlanType.WALK, week.id)
    assert (on_friday.plan_type, on_friday.record_id) == (PlanType.PICKUP, two_weeks.id)
    assert {today.layer, thursday.layer, on_friday.layer} == {Layer.CHANGE}


def test_it_goes_by_when_a_change_was_entered_not_by_its_id(
    on_school_day, school, staff, student, rides_the_bus
):
    first = change(student, staff, on_school_day, None, PlanType.WALK)
    second = change(student, staff, on_school_day, None, PlanType.BIKE)
    # An import may store a change later with an earlier entry time.
    PlanChange.objects.filter(pk=second.pk).update(
        created_at=first.created_at - dt.timedelta(hours=1)
    )

    row = row_of(school, on_school_day, student)

    assert (row.plan_type, row.record_id) == (PlanType.WALK, first.id)


def test_it_drops_a_cancelled_change(on_school_day, school, staff, student, rides_the_bus):
    older = change(student, staff, on_school_day, None, PlanType.WALK)
    newer = change(student, staff, on_school_day, None, PlanType.BIKE)

    services.change_cancel(change=newer, actor=staff)
    assert row_of(school, on_school_day, student).record_id == older.id

    services.change_cancel(change=older, actor=staff)
    row = row_of(school, on_school_day, student)
    assert (row.layer, row.record_id) == (Layer.DEFAULT, rides_the_bus.id)


def test_it_keeps_the_days_of_a_change_that_passed_when_it_is_cancelled(
    on_school_day, time_machine, school, staff, student, rides_the_bus
):
    walk = change(
        student, staff, on_school_day, on_school_day + dt.timedelta(days=7), PlanType.WALK
    )
    time_machine.move_to(dt.datetime(2026, 11, 20, 17, 0, tzinfo=dt.UTC), tick=False)

    services.change_cancel(change=walk, actor=staff)

    assert row_of(school, dt.date(2026, 11, 19), student).record_id == walk.id
    assert row_of(school, dt.date(2026, 11, 20), student).layer == Layer.DEFAULT


def test_it_applies_every_friday_in_march_on_the_fridays_only(
    on_school_day, school, staff, student, guardian, rides_the_bus
):
    fridays = services.change_create(
        student=student,
        starts_on=dt.date(2027, 3, 1),
        ends_on=dt.date(2027, 3, 31),
        plan=PlanSpec(PlanType.PICKUP, pickup_guardian=guardian),
        actor=staff,
        weekday_mask=weekdays.mask_of([4]),
    )

    march = [dt.date(2027, 3, day) for day in range(1, 32)]
    rows = {date: row_of(school, date, student) for date in march}

    on_change = {date for date, row in rows.items() if row.layer == Layer.CHANGE}
    assert on_change == {date for date in march if date.weekday() == 4}
    assert len(on_change) == 4
    for date in on_change:
        assert rows[date].record_id == fridays.id
        assert rows[date].detail == "Picked up by Maria Lopez"
    for date in march:
        if date.weekday() < 4:
            assert rows[date].layer == Layer.DEFAULT, date


def test_it_carries_the_details_of_the_change(
    on_school_day, school, staff, student, route, rides_the_bus
):
    change(
        student,
        staff,
        on_school_day,
        None,
        PlanType.EARLY_DISMISSAL,
        dismiss_at=dt.time(12, 30),
        note="Doctor",
    )

    row = row_of(school, on_school_day, student)

    assert (row.plan_type, row.time, row.note) == (
        PlanType.EARLY_DISMISSAL,
        dt.time(12, 30),
        "Doctor",
    )
    assert row.detail == "Early dismissal at 12:30 pm — Doctor"
    # A bus route of the default does not leak into the change's row.
    assert (row.bus_route_id, row.bus_number) == (None, "")
