"""plan_days resolves many dates at once exactly as day_board resolves each one."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.plans import weekdays
from lastbell.plans.board import day_board, plan_days
from lastbell.plans.models import (
    DefaultDay,
    Enrollment,
    LongTermDefault,
    PlanChange,
    PlanType,
    Program,
)
from lastbell.schools.models import CalendarDay

START = dt.date(2026, 11, 16)  # a Monday
END = dt.date(2026, 12, 6)


def _world(school, route, n):
    students = [testing.make_student(school) for _ in range(n)]
    program = Program.objects.create(
        school=school, name="Chess", weekdays=weekdays.mask_of([1, 3]),
        starts_on=dt.date(2026, 11, 20), ends_on=dt.date(2026, 12, 31), end_time=dt.time(17),
    )  # fmt: skip
    CalendarDay.objects.create(school=school, date=dt.date(2026, 11, 26), kind="holiday")
    CalendarDay.objects.create(
        school=school, date=dt.date(2026, 11, 28), kind="school_day", follows_weekday=0
    )
    for i, student in enumerate(students):
        old = LongTermDefault.objects.create(
            student=student, starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 11, 22)
        )
        new = LongTermDefault.objects.create(student=student, starts_on=dt.date(2026, 11, 23))
        for day in range(5):
            DefaultDay.objects.create(default=old, weekday=day, plan_type=PlanType.WALK)
            if day != i % 5:
                DefaultDay.objects.create(
                    default=new, weekday=day, plan_type=PlanType.BUS, bus_route=route
                )
        if i % 2:
            PlanChange.objects.create(
                student=student, starts_on=START, ends_on=END, weekdays=weekdays.bit(4),
                plan_type=PlanType.PICKUP, pickup_name="Aunt",
            )  # fmt: skip
        if i % 3 == 0:
            Enrollment.objects.create(
                program=program,
                student=student,
                weekdays=weekdays.bit(3),
                starts_on=dt.date(2026, 11, 1),
            )
        if i % 4 == 0:
            Absence.objects.create(student=student, date=START + dt.timedelta(days=i % 10))
    return students


def _key(board):
    return [(r.student_id, r.plan_type, r.layer, r.record_id) for r in board.rows]


def test_it_resolves_each_date_of_a_range_like_the_day_board(school, route):
    _world(school, route, 12)
    boards = plan_days(school, START, END)
    assert list(boards) == [START + dt.timedelta(days=n) for n in range(21)]
    for date, board in boards.items():
        single = day_board(school, date)
        assert board.is_school_day == single.is_school_day, date
        assert _key(board) == _key(single), date
    # The make-up Saturday follows Monday's plans; the holiday has none.
    assert boards[dt.date(2026, 11, 28)].is_school_day
    assert not boards[dt.date(2026, 11, 26)].is_school_day


def test_its_queries_do_not_grow_with_days_or_students(school, route, other_school):
    students = _world(school, route, 3)
    with CaptureQueriesContext(connection) as few:
        plan_days(school, START, START + dt.timedelta(days=2), student_ids=[students[0].id])
    _world(other_school, testing.make_route(other_school), 15)
    with CaptureQueriesContext(connection) as many:
        plan_days(other_school, START, END)
    assert len(many) == len(few)
