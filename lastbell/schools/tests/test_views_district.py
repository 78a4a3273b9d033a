"""The district overview: every school of the district today, for district admins only."""

import datetime as dt

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from lastbell import testing
from lastbell.plans.models import PlanChange


def _url(district):
    return reverse("schools:district", args=[district.id])


def test_it_shows_every_school_of_the_district(
    client, on_school_day, district, school, other_school, district_admin, student
):
    PlanChange.objects.create(
        student=student,
        starts_on=dt.date(2026, 11, 18),
        ends_on=dt.date(2026, 11, 18),
        plan_type="walk",
    )
    testing.make_student(school, first="Ben")
    testing.make_student(other_school, first="Cleo")
    other_school.tracker_enabled = False
    other_school.save()
    testing.make_school(testing.make_district("Hillside Unified"), "Hill Elementary")
    client.force_login(district_admin)

    r = client.get(_url(district))

    assertContains(r, "Riverside Unified")
    assertContains(r, reverse("plans:dashboard", args=[school.id]))
    assertContains(r, "Washington Middle")
    assertContains(r, "Tracker off")
    assertNotContains(r, "Hill Elementary")
    # Only Lincoln's two students count: Washington's tracker is off.
    assertContains(r, "Today at every school: 2 students, <strong>1 without a plan</strong>.")
    assertContains(
        r,
        f'<a class="badge warn" href="{reverse("plans:students", args=[school.id])}'
        '?type=missing">1</a>',
        html=True,
    )


def test_it_says_when_there_is_no_school_today(
    client, on_school_day, district, school, district_admin, time_machine
):
    time_machine.move_to(dt.datetime(2026, 11, 21, 17, 0, tzinfo=dt.UTC), tick=False)
    client.force_login(district_admin)

    r = client.get(_url(district))

    assertContains(r, "No school: weekend.")


@pytest.mark.parametrize("persona", ["staff", "teacher", "guardian"])
def test_it_hides_the_overview_from_everyone_else(
    client, on_school_day, request, district, persona
):
    user = request.getfixturevalue(persona)
    client.force_login(getattr(user, "user", None) or user)

    r = client.get(_url(district))

    assert r.status_code == 404


def test_it_hides_another_districts_overview(client, on_school_day, district_admin):
    hillside = testing.make_district("Hillside Unified")
    testing.make_school(hillside, "Hill Elementary")
    client.force_login(district_admin)

    r = client.get(_url(hillside))

    assert r.status_code == 404


def test_it_sends_an_anonymous_visitor_to_sign_in(client, district):
    r = client.get(_url(district))

    assert r.status_code == 302
    assert r.url.startswith(reverse("accounts:login") + "?next=")
