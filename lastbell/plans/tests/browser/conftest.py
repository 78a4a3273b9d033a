"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Data is built around the school's real today (the live server runs in another thread, so the
clock is not frozen). Pages run under the production Content-Security-Policy; every console
error or uncaught page error (CSP violations included) fails the test that caused it.
"""

import dataclasses
import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils.http import urlencode

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.plans import services
from lastbell.plans.models import PlanType
from lastbell.schools.models import CalendarDay, School

# Chromium, the `page`, `browser_errors` and the browser marker come from the shared plugin
# (lastbell/testing_browser.py); this package adds its school and a sign-in that lands on
# the dashboard.


@dataclasses.dataclass
class World:
    """The school the browser tests work in, built around the school's real today."""

    school: object
    staff: object
    today: dt.date
    # The first Monday–Friday from today: long-term defaults cover weekdays only, so when
    # today is a weekend (made a school day below) a new default shows from this day.
    weekday: dt.date
    homeroom: object
    route: object
    students: dict

    def url(self, name, *args, date=None, **query):
        """The path of a school page; `date` other than today goes in the query."""
        if date is not None and date != self.today:
            query["date"] = date.isoformat()
        url = reverse(name, args=[self.school.id, *args])
        return url + ("?" + urlencode(query) if query else "")


# name: (first, last, grade, plan). `None` has no plan yet.
ROSTER = {
    "ana": ("Ana", "Rivera", "3", None),
    "ben": ("Ben", "Okafor", "3", "bus"),
    "chloe": ("Chloe", "Nguyen", "4", "walk"),
    "dev": ("Dev", "Patel", "4", "bus"),
    "elena": ("Elena", "Rivas", "5", None),
    "farah": ("Farah", "Haddad", "5", "pickup"),
    "gus": ("Gus", "Larsen", "K", None),
}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Argon2 costs a quarter second a hash; the sign-in form is the same with MD5."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(transactional_db) -> World:
    district = testing.make_district()
    # Build around the school's own today (not the server's date near midnight).
    today = School(timezone="America/Los_Angeles").today()
    school = testing.make_school(
        district, "Lincoln Elementary",
        term=(today - dt.timedelta(days=100), today + dt.timedelta(days=200)),
    )  # fmt: skip
    assert school.today() == today
    if not school.is_school_day(today):
        CalendarDay.objects.create(school=school, date=today, kind="school_day",
                                   note="Make-up day")  # fmt: skip
    weekday = today
    while weekday.weekday() >= 5:
        weekday += dt.timedelta(days=1)
    homeroom = testing.make_homeroom(school, "Room 12")
    other_room = testing.make_homeroom(school, "Room 14")
    route = testing.make_route(school, "12", "North loop")
    testing.make_route(school, "7", "River road")
    staff = testing.make_staff(school, Role.DISMISSAL_STAFF, first="Dana", last="Office")
    enrolled = today - dt.timedelta(days=100)
    students = {}
    for i, (key, (first, last, grade, plan)) in enumerate(ROSTER.items()):
        pupil = testing.make_student(
            school, first=first, last=last, grade=grade, enrolled_on=enrolled,
            homeroom=homeroom if i % 2 == 0 else other_room,
        )  # fmt: skip
        students[key] = pupil
        if plan is None:
            continue
        spec = services.PlanSpec(
            plan_type=plan,
            bus_route=route if plan == PlanType.BUS else None,
            pickup_name="Grandpa Joe" if plan == PlanType.PICKUP else "",
        )
        # Every weekday, weekends too, so a weekend make-up day has these plans as well.
        services.default_set(student=pupil, starts_on=today, days=dict.fromkeys(range(7), spec),
                             actor=staff)  # fmt: skip
    return World(school, staff, today, weekday, homeroom, route, students)


@pytest.fixture
def sign_in(page, live_server):
    """Sign in through the real form; lands on the staff member's school dashboard."""
    from playwright.sync_api import expect

    def sign_in_as(user, *, press_enter=False):
        page.goto("/accounts/sign-in/")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(testing.PASSWORD)
        if press_enter:
            page.get_by_label("Password").press("Enter")
        else:
            page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/schools/\d+/$"))
        return page

    return sign_in_as
