"""An absence from attendance always wins; correcting it brings the usual plan back."""

import datetime as dt

import pytest

from lastbell.attendance.models import Absence
from lastbell.plans import services, weekdays
from lastbell.plans.board import day_board
from lastbell.plans.models import Layer, PlanType, Program, Source
from lastbell.plans.services import PlanSpec


@pytest.fixture
def planned(on_school_day, school, staff, student, route):
    """Ana rides bus 12 every weekday, is in chess club today, and walks by a change today."""
    default = services.default_set(
        student=student,
        starts_on=on_school_day,
        days={day: PlanSpec(PlanType.BUS, bus_route=route) for day in range(5)},
        actor=staff,
    )
    chess = Program.objects.create(
        school=school,
        name="Chess club",
        weekdays=weekdays.SCHOOL_WEEK,
        starts_on=on_school_day,
        ends_on=dt.date(2027, 5, 28),
        end_time=dt.time(16, 30),
    )
    enrollment = services.enrollment_create(
        program=chess,
        student=student,
        weekday_mask=weekdays.SCHOOL_WEEK,
        starts_on=on_school_day,
        ends_on=None,
        actor=staff,
    )
    change = services.change_create(
        student=student,
        starts_on=on_school_day,
        ends_on=None,
        plan=PlanSpec(PlanType.WALK),
        actor=staff,
    )
    return default, enrollment, change


def row_of(school, date, student):
    (row,) = [row for row in day_board(school, date).rows if row.student_id == student.id]
    return row


@pytest.mark.parametrize("excused", [True, False])
def test_it_lets_an_absence_win_over_a_change_a_program_and_the_default(
    on_school_day, school, student, planned, excused
):
    absence = Absence.objects.create(
        student=student, date=on_school_day, excused=excused, reason="Flu"
    )

    row = row_of(school, on_school_day, student)

    assert (row.plan_type, row.layer, row.record_id) == (
        PlanType.ABSENCE,
        Layer.ABSENCE,
        absence.id,
    )
    assert row.excused is excused
    assert row.detail == ("Absent, excused" if excused else "Absent, not excused")
    assert row.source == Source.IMPORT


def test_it_brings_the_change_back_when_the_absence_is_deleted(
    on_school_day, school, student, planned
):
    _, _, change = planned
    absence = Absence.objects.create(student=student, date=on_school_day)
    assert row_of(school, on_school_day, student).layer == Layer.ABSENCE

    absence.delete()

    row = row_of(school, on_school_day, student)
    assert (row.plan_type, row.layer, row.record_id) == (PlanType.WALK, Layer.CHANGE, change.id)


def test_it_brings_the_default_back_when_the_absence_is_deleted(
    on_school_day, school, staff, student, route, planned
):
    default, enrollment, change = planned
    services.change_cancel(change=change, actor=staff)
    services.enrollment_end(
        enrollment=enrollment, last_day=on_school_day - dt.timedelta(days=1), actor=staff
    )
    absence = Absence.objects.create(student=student, date=on_school_day)

    absence.delete()

    row = row_of(school, on_school_day, student)
    assert (row.plan_type, row.layer, row.record_id) == (PlanType.BUS, Layer.DEFAULT, default.id)
    assert row.bus_route_id == route.id


def test_it_only_takes_the_day_of_the_absence(on_school_day, school, student, planned):
    Absence.objects.create(student=student, date=on_school_day)
    tomorrow = on_school_day + dt.timedelta(days=1)

    assert row_of(school, tomorrow, student).layer == Layer.PROGRAM


def test_it_turns_an_early_departure_into_an_early_dismissal_at_its_time(
    on_school_day, school, student, planned
):
    departure = Absence.objects.create(
        student=student,
        date=on_school_day,
        kind=Absence.Kind.EARLY_DEPARTURE,
        departs_at=dt.time(10, 45),
        reason="Dentist",
        excused=True,
    )

    row = row_of(school, on_school_day, student)

    assert (row.plan_type, row.layer, row.record_id) == (
        PlanType.EARLY_DISMISSAL,
        Layer.ABSENCE,
        departure.id,
    )
    assert row.time == dt.time(10, 45)
    assert row.detail == "Early dismissal at 10:45 am — Dentist"
    assert "early departure" in row.why


def test_it_follows_an_absence_corrected_into_an_early_departure(
    on_school_day, school, student, planned
):
    absence = Absence.objects.create(student=student, date=on_school_day)

    absence.kind = Absence.Kind.EARLY_DEPARTURE
    absence.departs_at = dt.time(13, 15)
    absence.save()

    row = row_of(school, on_school_day, student)
    assert (row.plan_type, row.time) == (PlanType.EARLY_DISMISSAL, dt.time(13, 15))
