"""Every page is served under a strict Content-Security-Policy and obeys it.

The policy allows scripts from our origin or with the request's nonce, and styles only from
our origin: so the HTML must carry no inline style, no inline event handler and no inline
script without the nonce.
"""

import datetime as dt
import re

import pytest
from django.urls import reverse

from lastbell import testing
from lastbell.accounts.models import Role, StaffMembership
from lastbell.plans import weekdays
from lastbell.plans.models import Enrollment, PlanChange, Program


@pytest.fixture
def world(school, student, guardian, route):
    PlanChange.objects.create(
        student=student,
        starts_on=dt.date(2026, 11, 18),
        ends_on=dt.date(2026, 11, 18),
        plan_type="bus",
        bus_route=route,
    )
    program = Program.objects.create(
        school=school, name="Chess Club", weekdays=weekdays.SCHOOL_WEEK,
        starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 6, 11), end_time=dt.time(17, 30),
        capacity=10,
    )  # fmt: skip
    Enrollment.objects.create(
        program=program,
        student=student,
        weekdays=weekdays.SCHOOL_WEEK,
        starts_on=dt.date(2026, 9, 1),
    )
    testing.make_student(school, first="Ben")  # someone with no plan
    return {"school": school.id, "student": student.id, "program": program.id}


PAGES = [
    ("plans:dashboard", ["school"], 200),
    ("plans:roster", ["school"], 200),
    ("plans:students", ["school"], 200),
    ("plans:student", ["school", "student"], 200),
    ("plans:default_edit", ["school", "student"], 200),
    ("plans:change_new", ["school", "student"], 200),
    ("plans:programs", ["school"], 200),
    ("plans:program_new", ["school"], 200),
    ("plans:program", ["school", "program"], 200),
    ("plans:program_edit", ["school", "program"], 200),
    ("audit:history", ["school"], 200),
    ("plans:student", ["school", "missing"], 404),
]


def _nonce(response) -> str:
    policy = response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert "'nonce-" not in directives.get("style-src", "")
    nonce = re.search(r"'nonce-([^']+)'", directives["script-src"])
    assert nonce, policy
    return nonce[1]


def _assert_obeys_the_policy(response):
    nonce = _nonce(response)
    html = response.content.decode()
    assert "<html" in html
    assert not re.search(r"\sstyle\s*=", html), "inline style attribute"
    assert "<style" not in html, "inline <style> block"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert "javascript:" not in html
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts
    for tag in scripts:
        assert f'nonce="{nonce}"' in tag or " src=" in tag, tag


@pytest.mark.parametrize(
    ("name", "args", "status"), PAGES, ids=[f"{name}-{status}" for name, _, status in PAGES]
)
def test_it_serves_school_pages_under_a_strict_policy(
    client, on_school_day, staff, world, name, args, status
):
    client.force_login(staff)

    r = client.get(reverse(name, args=[world.get(a, 999999) for a in args]))

    assert r.status_code == status
    _assert_obeys_the_policy(r)


def test_it_uses_a_new_nonce_for_every_response(client, on_school_day, school, staff):
    client.force_login(staff)
    url = reverse("plans:dashboard", args=[school.id])

    assert _nonce(client.get(url)) != _nonce(client.get(url))


def test_it_serves_forms_with_errors_under_the_policy(client, on_school_day, staff, world):
    client.force_login(staff)

    r = client.post(
        reverse("plans:change_new", args=[world["school"], world["student"]]),
        {"starts_on": "2026-11-19", "plan_type": "bus"},
    )

    assert r.status_code == 400
    _assert_obeys_the_policy(r)


def test_it_serves_a_forbidden_page_under_the_policy(client, on_school_day, teacher, world):
    client.force_login(teacher)

    r = client.get(reverse("plans:programs", args=[world["school"]]))

    assert r.status_code == 403
    _assert_obeys_the_policy(r)


def test_it_serves_the_sign_in_page_under_the_policy(client):
    r = client.get(reverse("accounts:login"))

    assert r.status_code == 200
    _assert_obeys_the_policy(r)


def test_it_serves_the_district_overview_under_the_policy(
    client, on_school_day, district_admin, district, world
):
    client.force_login(district_admin)

    r = client.get(reverse("schools:district", args=[district.id]))

    assert r.status_code == 200
    _assert_obeys_the_policy(r)


def test_it_serves_the_school_picker_under_the_policy(client, on_school_day, school, other_school):
    user = testing.make_staff(school)
    StaffMembership.objects.create(
        user=user, district=other_school.district, school=other_school, role=Role.DISMISSAL_STAFF
    )
    client.force_login(user)

    r = client.get(reverse("schools:home"))

    assert r.status_code == 200
    assert b"Choose a school" in r.content
    _assert_obeys_the_policy(r)


def test_it_serves_the_tracker_off_page_under_the_policy(client, on_school_day, school, staff):
    school.tracker_enabled = False
    school.save()
    client.force_login(staff)

    r = client.get(reverse("plans:dashboard", args=[school.id]))

    assert b"tracker is off" in r.content
    _assert_obeys_the_policy(r)
