"""The Students tab: search, filters, pages, the htmx fragment, and a constant query count."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.people.models import Student
from lastbell.plans import weekdays
from lastbell.plans.models import DefaultDay, Enrollment, LongTermDefault, PlanChange, Program

TODAY = dt.date(2026, 11, 18)
SEP_1 = dt.date(2026, 9, 1)


@pytest.fixture
def pupils(school, homeroom, student, route):
    """Ana Rivera (3, Room 12) rides bus 12; Ben Okafor (4, Room 14) walks; Cleo has no plan."""
    default = LongTermDefault.objects.create(student=student, starts_on=SEP_1)
    DefaultDay.objects.bulk_create(
        DefaultDay(default=default, weekday=day, plan_type="bus", bus_route=route)
        for day in range(5)
    )
    room_14 = testing.make_homeroom(school, "Room 14")
    ben = testing.make_student(school, first="Ben", last="Okafor", grade="4", homeroom=room_14)
    PlanChange.objects.create(student=ben, starts_on=TODAY, ends_on=TODAY, plan_type="walk")
    cleo = testing.make_student(school, first="Cleo", last="Nakamura", grade="K")
    return student, ben, cleo


def _names(response) -> list[str]:
    html = response.content.decode()
    return re.findall(r'<th scope="row" data-label="Student"><a [^>]*>([^<]*)</a>', html)


def _get(client, school, **params):
    return client.get(reverse("plans:students", args=[school.id]), params)


def _add_students(school, count, *, homeroom=None, route=None, program=None):
    """`count` students with a mix of plans, written in a handful of queries."""
    first = Student.objects.count()
    pupils = Student.objects.bulk_create(
        Student(school=school, sis_id=f"B{first + n:05d}", first_name=f"Kid{first + n}",
                last_name=f"Family{first + n:03d}", grade=str(1 + n % 5), homeroom=homeroom,
                enrolled_on=dt.date(2026, 8, 1))
        for n in range(count)
    )  # fmt: skip
    if route is None:
        return pupils
    defaults = LongTermDefault.objects.bulk_create(
        LongTermDefault(student=s, starts_on=SEP_1) for s in pupils[::2]
    )
    DefaultDay.objects.bulk_create(
        DefaultDay(default=d, weekday=day, plan_type="bus", bus_route=route)
        for d in defaults for day in range(5)
    )  # fmt: skip
    PlanChange.objects.bulk_create(
        PlanChange(student=s, starts_on=TODAY, ends_on=TODAY, plan_type="pickup",
                   pickup_name="Aunt May")
        for s in pupils[1::4]
    )  # fmt: skip
    Enrollment.objects.bulk_create(
        Enrollment(program=program, student=s, weekdays=weekdays.SCHOOL_WEEK, starts_on=SEP_1)
        for s in pupils[::3]
    )
    Absence.objects.bulk_create(Absence(student=s, date=TODAY) for s in pupils[::7])
    return pupils


def test_it_lists_every_active_student_with_the_plan(client, on_school_day, school, staff, pupils):
    testing.make_student(school, first="Dan", last="Gone", withdrawn_on=dt.date(2026, 10, 1))
    testing.make_student(school, first="Eve", last="Later", enrolled_on=dt.date(2026, 12, 1))
    client.force_login(staff)

    r = _get(client, school)

    assert _names(r) == ["Nakamura, Cleo", "Okafor, Ben", "Rivera, Ana"]
    assertContains(r, "3 students")
    assertContains(r, "Bus 12 — North loop")
    assertContains(r, "Walks home")
    assertContains(r, '<tr class="is-missing">')


@pytest.mark.parametrize(("q", "found"), [
    ("rive", ["Rivera, Ana"]),
    ("ANA", ["Rivera, Ana"]),
    ("Okafor, Ben", ["Okafor, Ben"]),
    ("ben okafor", ["Okafor, Ben"]),
    ("nobody", []),
])  # fmt: skip
def test_it_searches_by_name(client, on_school_day, school, staff, pupils, q, found):
    client.force_login(staff)

    r = _get(client, school, q=q)

    assert _names(r) == found


def test_it_searches_by_student_id(client, on_school_day, school, staff, pupils):
    ana, ben, _ = pupils
    client.force_login(staff)

    assert _names(_get(client, school, q=ben.sis_id.lower())) == ["Okafor, Ben"]
    assert "Rivera, Ana" in _names(_get(client, school, q=ana.sis_id[:-1]))


def test_it_says_when_nothing_matches(client, on_school_day, school, staff, pupils):
    client.force_login(staff)

    r = _get(client, school, q="zzz")

    assertContains(r, "No student matches.")
    assertContains(r, "0 students of 3")


@pytest.mark.parametrize(("filters", "found"), [
    ({"grade": "4"}, ["Okafor, Ben"]),
    ({"grade": "K"}, ["Nakamura, Cleo"]),
    ({"type": "bus"}, ["Rivera, Ana"]),
    ({"type": "walk"}, ["Okafor, Ben"]),
    ({"type": "missing"}, ["Nakamura, Cleo"]),
    ({"type": "bus", "grade": "4"}, []),
])  # fmt: skip
def test_it_filters_by_grade_and_plan(client, on_school_day, school, staff, pupils, filters, found):
    client.force_login(staff)

    r = _get(client, school, **filters)

    assert _names(r) == found


def test_it_filters_by_homeroom(client, on_school_day, school, staff, pupils, homeroom):
    client.force_login(staff)

    r = _get(client, school, homeroom=str(homeroom.id))

    assert _names(r) == ["Rivera, Ana"]


def test_it_shows_the_plans_of_another_day(client, on_school_day, school, staff, pupils):
    client.force_login(staff)

    # Ben's walk was for today only.
    r = _get(client, school, type="missing", date="2026-11-19")

    assert _names(r) == ["Nakamura, Cleo", "Okafor, Ben"]


def test_it_pages_fifty_students_at_a_time(client, on_school_day, school, staff):
    _add_students(school, 61)
    client.force_login(staff)

    first = _get(client, school)
    second = _get(client, school, page="2")

    assert len(_names(first)) == 50
    assertContains(first, "Page 1 of 2")
    assert len(_names(second)) == 11
    assert not set(_names(first)) & set(_names(second))


def test_it_keeps_the_filters_when_paging(client, on_school_day, school, staff):
    _add_students(school, 61)
    client.force_login(staff)

    r = _get(client, school, q="family", grade="1")  # 13 of them: one page

    assert len(_names(r)) == 13
    assertNotContains(r, "Page 1 of")
    r = _get(client, school, q="family")
    assertContains(r, 'href="?q=family&page=2"')


def test_it_answers_htmx_with_the_results_only(client, on_school_day, school, staff, pupils):
    client.force_login(staff)

    r = client.get(
        reverse("plans:students", args=[school.id]), {"q": "rivera"}, HTTP_HX_REQUEST="true"
    )

    html = r.content.decode()
    assert r.status_code == 200
    assert html.lstrip().startswith('<div id="results"')
    assert "<html" not in html
    assert 'class="filters"' not in html
    assert _names(r) == ["Rivera, Ana"]


@pytest.mark.parametrize(
    "name", ["plans:students", "plans:dashboard", "plans:roster", "plans:export"]
)
def test_it_reads_the_same_number_of_queries_for_5_or_60_students(
    client, on_school_day, school, staff, homeroom, route, name
):
    program = Program.objects.create(
        school=school, name="After Care", weekdays=weekdays.SCHOOL_WEEK, starts_on=SEP_1,
        ends_on=dt.date(2027, 6, 11), end_time=dt.time(18, 0),
    )  # fmt: skip
    url = reverse(name, args=[school.id])
    client.force_login(staff)
    client.get(url)  # warm up the session and the caches

    def queries():
        with CaptureQueriesContext(connection) as captured:
            r = client.get(url)
        assert r.status_code == 200
        return len(captured.captured_queries)

    _add_students(school, 5, homeroom=homeroom, route=route, program=program)
    with_5 = queries()
    _add_students(school, 55, homeroom=homeroom, route=route, program=program)
    with_60 = queries()

    assert with_60 == with_5
