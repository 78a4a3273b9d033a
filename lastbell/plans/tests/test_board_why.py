"""Each row says why its plan is in effect: the layer it came from, who set it and when."""

import datetime as dt

import pytest

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.plans import services, weekdays
from lastbell.plans.board import day_board
from lastbell.plans.models import Layer, PlanType, Program, Source
from lastbell.plans.services import PlanSpec


def row_of(school, date, student):
    (row,) = [row for row in day_board(school, date).rows if row.student_id == student.id]
    return row


@pytest.fixture
def parent(student):
    return testing.make_guardian(student, first="Maria", last="Lopez")


def test_it_names_the_default_and_who_set_it(on_school_day, school, staff, student, route):
    services.default_set(
        student=student,
        starts_on=on_school_day,
        days={day: PlanSpec(PlanType.BUS, bus_route=route) for day in range(5)},
        actor=staff,
    )

    row = row_of(school, on_school_day, student)

    assert row.layer == Layer.DEFAULT
    assert row.layer_label == "Long-term default"
    assert row.why == "The long-term default for this weekday; set by Dana Office on Nov 18, 2026."


def test_it_names_a_change_and_the_guardian_who_made_it(on_school_day, school, student, parent):
    services.change_create(
        student=student,
        starts_on=on_school_day,
        ends_on=None,
        plan=PlanSpec(PlanType.WALK),
        actor=parent.user,
        source=Source.GUARDIAN,
    )

    row = row_of(school, on_school_day, student)

    assert (row.layer, row.source, row.set_by) == (Layer.CHANGE, Source.GUARDIAN, "Maria Lopez")
    assert row.why == (
        "A change for this day overrides the usual plan; set by Maria Lopez on Nov 18, 2026."
    )


def test_it_names_the_program(on_school_day, school, staff, student):
    robotics = Program.objects.create(
        school=school,
        name="Robotics",
        weekdays=weekdays.SCHOOL_WEEK,
        starts_on=on_school_day,
        ends_on=dt.date(2027, 5, 28),
        end_time=dt.time(17, 0),
    )
    services.enrollment_create(
        program=robotics,
        student=student,
        weekday_mask=weekdays.mask_of([2]),
        starts_on=on_school_day,
        ends_on=None,
        actor=staff,
    )

    row = row_of(school, on_school_day, student)

    assert (row.layer, row.program_name, row.time) == (Layer.PROGRAM, "Robotics", dt.time(17))
    assert row.detail == "Robotics until 5 pm"
    assert row.why == (
        "The student is enrolled in this program today; set by Dana Office on Nov 18, 2026."
    )


def test_it_names_the_attendance_system_and_who_recorded_the_absence(
    on_school_day, school, staff, student
):
    Absence.objects.create(
        student=student, date=on_school_day, recorded_by=staff, source=Source.STAFF
    )

    row = row_of(school, on_school_day, student)

    assert row.layer_label == "Attendance"
    assert row.why == (
        "The attendance system marked the student absent; set by Dana Office on Nov 18, 2026."
    )


def test_it_says_import_when_no_person_set_it(on_school_day, school, student):
    Absence.objects.create(student=student, date=on_school_day, source=Source.IMPORT)

    row = row_of(school, on_school_day, student)

    assert row.set_by == ""
    assert row.why.endswith("; set by import on Nov 18, 2026.")


def test_it_says_when_no_layer_covers_the_day(on_school_day, school, student):
    row = row_of(school, on_school_day, student)

    assert row.missing
    assert row.why == "No absence, change, program or long-term default covers this day."
