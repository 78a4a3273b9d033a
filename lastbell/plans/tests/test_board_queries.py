"""The day board reads a constant number of queries, whatever the number of students."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.conftest import SCHOOL_DAY
from lastbell.plans import weekdays
from lastbell.plans.board import day_board
from lastbell.plans.models import (
    DefaultDay,
    Enrollment,
    Layer,
    LongTermDefault,
    PlanChange,
    PlanType,
    Program,
)

START = dt.date(2026, 8, 17)


def populate(school, count: int):
    """`count` students with a default, and in turn a change, a program or an absence today."""
    homeroom = testing.make_homeroom(school)
    route = testing.make_route(school)
    program = Program.objects.create(
        school=school,
        name="Robotics",
        weekdays=weekdays.SCHOOL_WEEK,
        starts_on=START,
        ends_on=dt.date(2027, 6, 1),
        end_time=dt.time(17, 0),
    )
    students = [testing.make_student(school, homeroom=homeroom) for _ in range(count)]
    versions = LongTermDefault.objects.bulk_create(
        LongTermDefault(student=student, starts_on=START) for student in students
    )
    DefaultDay.objects.bulk_create(
        DefaultDay(default=version, weekday=day, plan_type=PlanType.BUS, bus_route=route)
        for version in versions
        for day in range(5)
    )
    PlanChange.objects.bulk_create(
        PlanChange(
            student=student,
            starts_on=SCHOOL_DAY,
            ends_on=SCHOOL_DAY,
            plan_type=PlanType.PICKUP,
            pickup_name="Aunt June",
        )
        for student in students[1::4]
    )
    Enrollment.objects.bulk_create(
        Enrollment(program=program, student=student, weekdays=weekdays.SCHOOL_WEEK, starts_on=START)
        for student in students[2::4]
    )
    Absence.objects.bulk_create(
        Absence(student=student, date=SCHOOL_DAY, excused=True) for student in students[3::4]
    )
    return homeroom


def queries_of_board(school, **options):
    with CaptureQueriesContext(connection) as queries:
        board = day_board(school, SCHOOL_DAY, **options)
    return len(queries), board


def test_it_reads_as_many_queries_for_sixty_students_as_for_three(school, other_school):
    populate(school, 3)
    populate(other_school, 60)

    few, small_board = queries_of_board(school)
    many, big_board = queries_of_board(other_school)

    assert big_board.total == 60
    # Every layer was resolved, so every query of the board ran.
    assert {row.layer for row in big_board.rows} == set(Layer.values)
    assert {row.layer for row in small_board.rows} == {Layer.DEFAULT, Layer.CHANGE, Layer.PROGRAM}
    assert many == few


def test_it_reads_as_many_queries_for_a_teachers_homeroom_of_any_size(school, other_school):
    small_room = populate(school, 3)
    big_room = populate(other_school, 60)

    few, small_board = queries_of_board(school, homeroom_ids=[small_room.pk])
    many, big_board = queries_of_board(other_school, homeroom_ids=[big_room.pk])

    assert (small_board.total, big_board.total) == (3, 60)
    assert many == few
