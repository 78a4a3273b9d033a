"""The dashboard and the roster: today's totals, how students go home, who has no plan."""

import datetime as dt

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.people.models import Student
from lastbell.plans.models import DefaultDay, LongTermDefault, PlanChange
from lastbell.schools.models import CalendarDay

TODAY = dt.date(2026, 11, 18)


def _stat(name, value):
    return f'<span class="num" data-testid="{name}">{value}</span>'


def _bus_default(student, route):
    default = LongTermDefault.objects.create(student=student, starts_on=dt.date(2026, 9, 1))
    DefaultDay.objects.bulk_create(
        DefaultDay(default=default, weekday=day, plan_type="bus", bus_route=route)
        for day in range(5)
    )


def test_it_counts_todays_plans(client, on_school_day, school, staff, student, route):
    _bus_default(student, route)
    ben = testing.make_student(school, first="Ben", last="Okafor")
    Absence.objects.create(student=ben, date=TODAY, excused=True)
    testing.make_student(school, first="Cleo", last="Nakamura")
    testing.make_student(school, first="Dan", last="Gone", withdrawn_on=dt.date(2026, 10, 1))
    client.force_login(staff)

    r = client.get(reverse("plans:dashboard", args=[school.id]))

    assertContains(r, _stat("total", 3), html=True)
    assertContains(r, _stat("planned", 2), html=True)
    assertContains(r, _stat("missing", 1), html=True)
    assertContains(r, "Nakamura, Cleo")
    assertNotContains(r, "Gone, Dan")
    assertContains(
        r, '<tr><td>Bus 12</td><td>North loop</td><td class="num">1</td></tr>', html=True
    )


def test_it_lists_twelve_missing_students_and_counts_the_rest(client, on_school_day, school, staff):
    Student.objects.bulk_create(
        Student(school=school, sis_id=f"M{n:03d}", first_name="Kid", last_name=f"Family{n:02d}",
                grade="2", enrolled_on=dt.date(2026, 8, 1))
        for n in range(15)
    )  # fmt: skip
    client.force_login(staff)

    r = client.get(reverse("plans:dashboard", args=[school.id]))

    assertContains(r, _stat("missing", 15), html=True)
    assertContains(r, "Family11, Kid")
    assertNotContains(r, "Family12, Kid")
    assertContains(r, "and 3 more…")


def test_it_says_when_every_student_has_a_plan(client, on_school_day, school, staff, student):
    PlanChange.objects.create(student=student, starts_on=TODAY, ends_on=TODAY, plan_type="walk")
    client.force_login(staff)

    r = client.get(reverse("plans:dashboard", args=[school.id]))

    assertContains(r, "Every student has a plan.")


@pytest.mark.parametrize(("date", "reason"), [
    ("2026-11-21", "No school: weekend."),
    ("2026-11-27", "No school: Thanksgiving break."),
    ("2027-07-01", "No school: this date is outside the school year."),
])  # fmt: skip
def test_it_needs_no_plan_on_a_day_without_school(
    client, on_school_day, school, staff, student, date, reason
):
    CalendarDay.objects.create(
        school=school,
        date=dt.date(2026, 11, 27),
        kind=CalendarDay.Kind.HOLIDAY,
        note="Thanksgiving break",
    )
    client.force_login(staff)

    r = client.get(reverse("plans:dashboard", args=[school.id]), {"date": date})

    assertContains(r, reason)
    assertContains(r, "No dismissal plans are needed for this day.")
    assertContains(r, _stat("missing", 0), html=True)


def test_it_shows_today_for_a_date_that_is_not_one(client, on_school_day, school, staff):
    client.force_login(staff)

    r = client.get(reverse("plans:dashboard", args=[school.id]), {"date": "2026-02-30"})

    assertContains(r, "“2026-02-30” is not a date; showing today instead.")
    assertContains(r, "Wednesday, November 18")


def test_it_groups_the_roster_by_bus(client, on_school_day, school, staff, student, route):
    _bus_default(student, route)
    ben = testing.make_student(school, first="Ben", last="Okafor")
    _bus_default(ben, testing.make_route(school, "7"))
    testing.make_student(school, first="Cleo", last="Nakamura")
    client.force_login(staff)

    r = client.get(reverse("plans:roster", args=[school.id]))

    html = r.content.decode()
    html = html[html.index('<section class="group"') :]
    assert html.index("Bus 7") < html.index("Okafor, Ben") < html.index("Bus 12")
    assert html.index("Bus 12") < html.index("Rivera, Ana") < html.index('id="g-missing"')
    assert html.index('id="g-missing"') < html.index("Nakamura, Cleo")


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01"])
@pytest.mark.parametrize("name", ["plans:dashboard", "plans:student"])
def test_it_survives_a_date_at_the_end_of_the_calendar(
    client, on_school_day, school, staff, student, name, date
):
    """A hand-edited URL must not crash the page (date ± 1 day overflows)."""
    client.force_login(staff)
    args = [school.id, student.id] if name == "plans:student" else [school.id]

    r = client.get(reverse(name, args=args), {"date": date})

    assert r.status_code == 200
