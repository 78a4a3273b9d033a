"""The bus feed never overwrites people, is the whole truth for what it made, and honours
weekday-specific routes (plans/bus_feed.py)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.conftest import SCHOOL_DAY
from lastbell.plans import weekdays
from lastbell.plans.board import day_board
from lastbell.plans.bus_feed import Assignment, bus_feed_apply
from lastbell.plans.models import LongTermDefault, PlanType, Source
from lastbell.plans.services import PlanSpec, default_set

pytestmark = pytest.mark.django_db
MON_WED = weekdays.mask_of([0, 1, 2])
THU_FRI = weekdays.mask_of([3, 4])


def feed(school, *rows, apply=True, starts_on=None):
    items = [Assignment(row=n, student_id=sis, bus=bus, weekdays=mask)
             for n, (sis, bus, mask) in enumerate(rows, start=1)]  # fmt: skip
    return bus_feed_apply(school=school, assignments=items, apply=apply, starts_on=starts_on)


def buses(school, date):
    return {r.sis_id: r.bus_number for r in day_board(school, date).rows if r.plan_type == "bus"}


def test_a_first_feed_gives_buses_and_creates_missing_routes(school, student, on_school_day):
    report = feed(school, (student.sis_id, "12", weekdays.SCHOOL_WEEK))
    assert report.created == [student.sis_id] and report.routes_created == ["12"]
    assert buses(school, SCHOOL_DAY) == {student.sis_id: "12"}
    default = LongTermDefault.objects.get()
    assert (default.source, default.set_by) == (Source.IMPORT, None)
    assert AuditEvent.objects.filter(action="plan.default.set", via="import").count() == 1


def test_a_dry_run_reports_the_same_and_writes_nothing(school, student, on_school_day):
    report = feed(school, (student.sis_id, "12", weekdays.SCHOOL_WEEK), apply=False)
    assert report.counts()["created"] == 1 and not report.applied
    assert not LongTermDefault.objects.exists()
    assert not school.bus_routes.exists()


def test_the_same_feed_again_keeps_everything(school, student, on_school_day):
    row = (student.sis_id, "12", weekdays.SCHOOL_WEEK)
    feed(school, row)
    again = feed(school, row)
    assert again.kept == [(student.sis_id, "no change")] and not again.created
    assert LongTermDefault.objects.count() == 1


def test_it_never_overwrites_staff_or_a_guardian(school, student, staff, guardian, on_school_day):
    default_set(student=student, starts_on=SCHOOL_DAY, actor=staff,
                days={d: PlanSpec(PlanType.WALK) for d in range(5)})  # fmt: skip
    report = feed(school, (student.sis_id, "12", weekdays.SCHOOL_WEEK))
    assert report.kept == [(student.sis_id, "its default was set by staff")]
    assert day_board(school, SCHOOL_DAY).rows[0].plan_type == PlanType.WALK


def test_weekday_routes_and_a_changed_bus(school, student, on_school_day):
    feed(school, (student.sis_id, "12", MON_WED), (student.sis_id, "7", THU_FRI))
    wednesday, thursday = SCHOOL_DAY, SCHOOL_DAY + dt.timedelta(days=1)
    assert buses(school, wednesday) == {student.sis_id: "12"}
    assert buses(school, thursday) == {student.sis_id: "7"}
    report = feed(school, (student.sis_id, "9", weekdays.SCHOOL_WEEK),
                  starts_on=thursday)  # fmt: skip
    assert report.updated == [student.sis_id]
    assert buses(school, wednesday) == {student.sis_id: "12"}, "past days keep their bus"
    assert buses(school, thursday) == {student.sis_id: "9"}


def test_leaving_the_feed_ends_only_what_the_feed_made(school, student, staff, on_school_day):
    walker = testing.make_student(school)
    default_set(student=walker, starts_on=SCHOOL_DAY, actor=staff,
                days={d: PlanSpec(PlanType.WALK) for d in range(5)})  # fmt: skip
    feed(school, (student.sis_id, "12", weekdays.SCHOOL_WEEK))
    tomorrow = SCHOOL_DAY + dt.timedelta(days=1)
    report = feed(school, starts_on=tomorrow)
    assert report.ended == [student.sis_id]
    assert buses(school, SCHOOL_DAY) == {student.sis_id: "12"}
    assert day_board(school, tomorrow, student_ids=[student.pk]).rows[0].missing
    assert day_board(school, tomorrow, student_ids=[walker.pk]).rows[0].plan_type == "walk"


def test_bad_rows_are_rejected_one_by_one(school, student, on_school_day):
    other = testing.make_student(school)
    report = feed(
        school,
        ("NOPE", "12", weekdays.SCHOOL_WEEK),
        (student.sis_id, "", weekdays.SCHOOL_WEEK),
        (other.sis_id, "12", MON_WED),
        (other.sis_id, "7", weekdays.mask_of([2, 3])),  # Wednesday twice
    )
    reasons = {row: why for row, _, why in report.rejected}
    assert "no student with id NOPE" in reasons[1]
    assert "no bus number" in reasons[2]
    assert "different bus on Wed" in reasons[4]
    assert report.created == [other.sis_id]


def test_a_feed_reads_the_same_queries_for_10_or_100_students(school, on_school_day):
    def run(count):
        students = [testing.make_student(school) for _ in range(count)]
        rows = [(s.sis_id, str(n % 5), weekdays.SCHOOL_WEEK) for n, s in enumerate(students)]
        with CaptureQueriesContext(connection) as queries:
            feed(school, *rows)
        return len(queries)

    small = run(10)
    assert run(100) <= small + 2


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    staff_owned=st.lists(st.booleans(), min_size=4, max_size=4),
    first=st.lists(st.sampled_from(["", "1", "2"]), min_size=4, max_size=4),
    second=st.lists(st.sampled_from(["", "1", "2"]), min_size=4, max_size=4),
)
def test_property_people_are_never_overwritten_and_the_feed_is_the_truth(
    school, staff, on_school_day, staff_owned, first, second
):
    LongTermDefault.objects.all().delete()
    students = [testing.make_student(school) for _ in range(4)]
    for student, owned in zip(students, staff_owned, strict=True):
        if owned:
            default_set(student=student, starts_on=SCHOOL_DAY, actor=staff,
                        days={d: PlanSpec(PlanType.WALK) for d in range(5)})  # fmt: skip
    for run in (first, second):
        rows = [(s.sis_id, bus, weekdays.SCHOOL_WEEK)
                for s, bus in zip(students, run, strict=True) if bus]  # fmt: skip
        feed(school, *rows)
        board = {r.student_id: r for r in day_board(school, SCHOOL_DAY).rows}
        for student, owned, bus in zip(students, staff_owned, run, strict=True):
            row = board[student.pk]
            if owned:
                assert row.plan_type == PlanType.WALK
            elif bus:
                assert (row.plan_type, row.bus_number) == (PlanType.BUS, bus)
            else:
                assert row.missing
