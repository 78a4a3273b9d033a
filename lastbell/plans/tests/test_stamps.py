"""Board stamps: every write to what the day board reads changes the school's stamp, so a
reused board is never stale (plans/stamps.py, board.day_board)."""

import datetime as dt
import random
import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.conftest import SCHOOL_DAY
from lastbell.people.models import Guardian, Student
from lastbell.plans import stamps, weekdays
from lastbell.plans.board import board_cache, day_board, plan_days
from lastbell.plans.models import (
    BoardStamp,
    DefaultDay,
    Enrollment,
    LongTermDefault,
    PlanChange,
    PlanType,
    Program,
)
from lastbell.plans.services import PlanSpec, change_create, default_set
from lastbell.schools.models import BusRoute, CalendarDay, Homeroom, SchoolTerm

START = dt.date(2026, 8, 17)


def token(scope):
    return BoardStamp.objects.filter(scope=scope).values_list("token", flat=True).first()


def test_every_watched_table_has_its_triggers(db):
    assert stamps.installed_tables() == {table for table, _, _ in stamps.WATCHED}


def test_the_board_reads_only_watched_tables(school, student, route, on_school_day):
    """A board that read a table without a trigger could be reused after that table changed."""
    program = Program.objects.create(
        school=school, name="Chess", weekdays=weekdays.SCHOOL_WEEK, starts_on=START,
        ends_on=dt.date(2027, 6, 1), end_time=dt.time(17, 0),
    )  # fmt: skip
    Enrollment.objects.create(program=program, student=student, weekdays=weekdays.SCHOOL_WEEK,
                              starts_on=START)  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        plan_days(school, SCHOOL_DAY, SCHOOL_DAY + dt.timedelta(days=7))
    read = set()
    for query in queries.captured_queries:
        read |= set(re.findall(r'(?:FROM|JOIN)\s+"?(\w+)"?', query["sql"]))
    assert "people_student" in read and "plans_defaultday" in read
    assert read <= {table for table, _, _ in stamps.WATCHED}, read


def test_install_is_idempotent(db):
    stamps.install()
    stamps.install()
    assert stamps.installed_tables() == {table for table, _, _ in stamps.WATCHED}


def _writes(school, student, guardian, route, homeroom):
    """One write of each kind the board depends on, each a callable."""
    version = LongTermDefault.objects.create(student=student, starts_on=START)
    day = DefaultDay.objects.create(default=version, weekday=2, plan_type=PlanType.WALK)
    program = Program.objects.create(
        school=school, name="Art", weekdays=weekdays.SCHOOL_WEEK, starts_on=START,
        ends_on=dt.date(2027, 6, 1), end_time=dt.time(17, 0),
    )  # fmt: skip
    return {
        "student renamed": lambda: Student.objects.filter(pk=student.pk).update(first_name="Zoe"),
        "student added": lambda: testing.make_student(school),
        "student withdrawn": lambda: Student.objects.filter(pk=student.pk).update(
            withdrawn_on=SCHOOL_DAY
        ),
        "absence added": lambda: Absence.objects.create(student=student, date=SCHOOL_DAY),
        "change added": lambda: PlanChange.objects.create(
            student=student, starts_on=SCHOOL_DAY, ends_on=SCHOOL_DAY, plan_type=PlanType.BIKE
        ),
        "default ended": lambda: LongTermDefault.objects.filter(pk=version.pk).update(
            ends_on=SCHOOL_DAY
        ),
        "default day edited (raw update)": lambda: DefaultDay.objects.filter(pk=day.pk).update(
            note="by the gate"
        ),
        "default day deleted": lambda: DefaultDay.objects.filter(pk=day.pk).delete(),
        "enrollment added": lambda: Enrollment.objects.create(
            program=program, student=student, weekdays=weekdays.SCHOOL_WEEK, starts_on=START
        ),
        "program renamed": lambda: Program.objects.filter(pk=program.pk).update(name="Drawing"),
        "bus route renumbered": lambda: BusRoute.objects.filter(pk=route.pk).update(number="99"),
        "homeroom renamed": lambda: Homeroom.objects.filter(pk=homeroom.pk).update(name="B2"),
        "holiday added": lambda: CalendarDay.objects.create(
            school=school, date=SCHOOL_DAY, kind=CalendarDay.Kind.HOLIDAY
        ),
        "term moved": lambda: SchoolTerm.objects.filter(school=school).update(starts_on=START),
        "dismissal time changed": lambda: (
            type(school).objects.filter(pk=school.pk).update(dismissal_wed=dt.time(13, 0))
        ),
    }


@pytest.mark.parametrize(
    "what",
    [
        "student renamed", "student added", "student withdrawn", "absence added",
        "change added", "default ended", "default day edited (raw update)",
        "default day deleted", "enrollment added", "program renamed",
        "bus route renumbered", "homeroom renamed", "holiday added", "term moved",
        "dismissal time changed",
    ],
)  # fmt: skip
@pytest.mark.django_db(transaction=True)  # PostgreSQL stamps at commit
def test_a_write_changes_its_schools_stamp_only(
    what, school, other_school, student, guardian, route, homeroom
):
    writes = _writes(school, student, guardian, route, homeroom)
    before, other_before = token(school.id), token(other_school.id)
    assert before is not None and other_before is not None
    with transaction.atomic():
        writes[what]()
    assert token(school.id) != before
    assert token(other_school.id) == other_before


@pytest.mark.django_db(transaction=True)
def test_names_shown_on_boards_change_the_district_stamp(guardian, staff):
    before = token(0)
    Guardian.objects.filter(pk=guardian.pk).update(mobile="+15550100200")
    staff.last_login = dt.datetime(2026, 11, 18, 16, tzinfo=dt.UTC)
    staff.save(update_fields=["last_login"])
    assert token(0) == before, "a phone number or a sign-in changes no board"
    Guardian.objects.filter(pk=guardian.pk).update(last_name="Lopez-Garcia")
    after_guardian = token(0)
    assert after_guardian != before
    type(staff).objects.filter(pk=staff.pk).update(first_name="Patricia")
    assert token(0) != after_guardian


def test_no_reuse_inside_a_transaction(db, school):
    # pytest-django's `db` runs each test inside a transaction.
    assert connection.in_atomic_block
    assert stamps.current(school.id) is None


# ---------------------------------------------------------------------------------------------
# Reuse, outside transactions: these tests commit.


def _plan(student, actor, kind=PlanType.WALK, **fields):
    return default_set(
        student=student, starts_on=SCHOOL_DAY, actor=actor,
        days={wd: PlanSpec(kind, **fields) for wd in range(5)},
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_board_is_reused_until_a_write(school, other_school, student, staff, on_school_day):
    board_cache.clear()
    first = day_board(school, SCHOOL_DAY)
    assert first.rows[0].missing

    with CaptureQueriesContext(connection) as queries:
        again = day_board(school, SCHOOL_DAY)
    assert len(queries) == 1, "only the stamp is read"
    assert again.rows[0] is first.rows[0] and again.school is school

    # A write elsewhere leaves this school's board alone.
    testing.make_student(other_school)
    with CaptureQueriesContext(connection) as queries:
        day_board(school, SCHOOL_DAY)
    assert len(queries) == 1

    _plan(student, staff)
    with CaptureQueriesContext(connection) as queries:
        fresh = day_board(school, SCHOOL_DAY)
    assert len(queries) > 1
    assert fresh.rows[0].plan_type == PlanType.WALK


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_write_leaves_the_reused_board_right(school, student, staff, on_school_day):
    board_cache.clear()
    _plan(student, staff)
    assert day_board(school, SCHOOL_DAY).rows[0].plan_type == PlanType.WALK
    with pytest.raises(RuntimeError), transaction.atomic():
        Absence.objects.create(student=student, date=SCHOOL_DAY)
        raise RuntimeError("the request failed")
    assert day_board(school, SCHOOL_DAY).rows[0].plan_type == PlanType.WALK
    Absence.objects.create(student=student, date=SCHOOL_DAY)
    assert day_board(school, SCHOOL_DAY).rows[0].plan_type == PlanType.ABSENCE


@pytest.mark.django_db(transaction=True)
def test_a_teachers_board_is_cut_from_the_reused_one(school, homeroom, staff, on_school_day):
    board_cache.clear()
    mine = testing.make_student(school, homeroom=homeroom)
    testing.make_student(school, homeroom=testing.make_homeroom(school))
    whole = day_board(school, SCHOOL_DAY)
    theirs = day_board(school, SCHOOL_DAY, homeroom_ids=[homeroom.id])
    assert whole.total == 2
    assert [row.student_id for row in theirs.rows] == [mine.id]
    assert theirs.missing_count == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.django_db(transaction=True)
def test_reused_boards_always_equal_a_fresh_resolution(
    seed, school, homeroom, staff, route, on_school_day
):
    """A random walk of writes of every kind: after each, the board day_board gives (reused
    when the stamp allows) equals one resolved from scratch."""
    board_cache.clear()
    rng = random.Random(seed)
    students = [testing.make_student(school, homeroom=homeroom) for _ in range(6)]
    guardian = testing.make_guardian(students[0], with_user=False)
    program = Program.objects.create(
        school=school, name="Chess", weekdays=weekdays.SCHOOL_WEEK, starts_on=START,
        ends_on=dt.date(2027, 6, 1), end_time=dt.time(17, 0),
    )  # fmt: skip
    days = [SCHOOL_DAY + dt.timedelta(days=n) for n in range(3)]

    def write():
        student = rng.choice(students)
        day = rng.choice(days)
        kind = rng.randrange(8)
        if kind == 0:
            _plan(student, staff, rng.choice([PlanType.WALK, PlanType.BIKE]))
        elif kind == 1:
            _plan(student, staff, PlanType.BUS, bus_route=route)
        elif kind == 2:
            change_create(
                student=student, starts_on=day, ends_on=day, weekday_mask=weekdays.ALL_DAYS,
                plan=PlanSpec(PlanType.OTHER, note=f"note {rng.random():.3f}"), actor=staff,
            )  # fmt: skip
        elif kind == 3:
            Absence.objects.update_or_create(student=student, date=day,
                                             defaults={"excused": rng.random() < 0.5})  # fmt: skip
        elif kind == 4:
            Enrollment.objects.get_or_create(program=program, student=student,
                                             defaults={"weekdays": weekdays.SCHOOL_WEEK,
                                                       "starts_on": START})  # fmt: skip
        elif kind == 5:
            BusRoute.objects.filter(pk=route.pk).update(name=f"Route {rng.randrange(100)}")
        elif kind == 6:
            Guardian.objects.filter(pk=guardian.pk).update(first_name=rng.choice("ABCDE"))
        else:
            _plan(students[0], staff, PlanType.PICKUP, pickup_guardian=guardian)

    for _ in range(25):
        write()
        for day in days:
            reused = day_board(school, day)
            fresh = plan_days(school, day, day)[day]
            assert [(r.student_id, r.plan_type, r.detail, r.why) for r in reused.rows] == [
                (r.student_id, r.plan_type, r.detail, r.why) for r in fresh.rows
            ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_writers_of_one_school_never_wait_on_the_stamp(school, on_school_day):
    """A long transaction (an import) stamps its school without blocking parents' writes."""
    import threading

    from django.db import connections

    first, second = testing.make_student(school), testing.make_student(school)
    holding, release, errors = threading.Event(), threading.Event(), []

    def long_import():
        try:
            with transaction.atomic():
                Absence.objects.create(student=first, date=SCHOOL_DAY)
                holding.set()
                release.wait(10)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=long_import)
    thread.start()
    try:
        assert holding.wait(10)
        before = stamps.current(school.id)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            Absence.objects.create(student=second, date=SCHOOL_DAY)
        assert stamps.current(school.id) != before
    finally:
        release.set()
        thread.join(10)
    assert not errors
    assert day_board(school, SCHOOL_DAY).counts[PlanType.ABSENCE] == 2
