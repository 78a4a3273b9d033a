"""The emergency and report pages pass axe-core on a desktop and a 320 px phone, where they do
not scroll sideways, and a reunification works by keyboard and mouse under the real CSP."""

import datetime as dt
import os

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.dismissal import services
from lastbell.dismissal.models import CustodyEvent, Verification
from lastbell.dismissal.services import Adult
from lastbell.people.models import AuthorizedAdult, CustodyRestriction
from lastbell.testing_browser import DESKTOP, PHONE, assert_accessible, assert_fits_width

pytestmark = pytest.mark.browser
Kind, To = CustodyEvent.Kind, CustodyEvent.To
PACIFIC = dt.timezone(dt.timedelta(hours=-8))
SIZES = {"desktop": DESKTOP, "phone": PHONE}
SHOTS = os.environ.get("LASTBELL_SCREENSHOTS")  # a folder: save each page's picture there


@pytest.fixture
def emergency(time_machine, school, student, guardian, staff):
    time_machine.move_to(dt.datetime(2026, 11, 18, 14, 10, tzinfo=PACIFIC), tick=False)
    AuthorizedAdult.objects.create(
        student=student, first_name="Tom", last_name="Rivera", relationship="Uncle",
        phone="555-0101", source="staff",
    )  # fmt: skip
    CustodyRestriction.objects.create(
        student=student, person_name="Tom Rivera", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=dt.date(2026, 1, 1),
    )  # fmt: skip
    ben = testing.make_student(school, first="Ben", last="Okafor-Wolfeschlegelsteinhausen")
    testing.make_guardian(ben, first="Bea", last="Okafor")
    earlier = services.day_of(school, dt.date(2026, 11, 17))
    services.release(earlier, student, adult=Adult(To.GUARDIAN, guardian), actor=staff,
                     verification=Verification.QR,
                     now=dt.datetime(2026, 11, 17, 15, 20, tzinfo=PACIFIC))  # fmt: skip
    day = services.day_of(school, dt.date(2026, 11, 18))
    admin = testing.make_staff(school, Role.SCHOOL_ADMIN)
    services.emergency_start(day, actor=admin, message="Go to the church lot.",
                             site="St. Mark's, 12 Elm St")  # fmt: skip
    services.account(day, ben, status=Kind.MISSING, actor=staff)
    return day


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


@pytest.mark.parametrize("size", SIZES)
def test_the_emergency_and_report_pages_are_accessible(page, sign_in, emergency, school,
                                                       student, staff, size,
                                                       browser_errors):  # fmt: skip
    page.set_viewport_size(SIZES[size])
    sign_in(staff)
    pages = {
        "board": reverse("dismissal:emergency", args=[school.id]),
        "desk": reverse("dismissal:emergency_desk", args=[school.id]) + "?q=rivera",
        "student": reverse("dismissal:emergency_student", args=[school.id, student.id]),
        "reports": reverse("dismissal:reports", args=[school.id]),
        "pickups": reverse("dismissal:reports_pickups", args=[school.id]),
    }
    for name, path in pages.items():
        page.goto(path)
        _shot(page, f"{name}-{size}")
        assert_accessible(page)
        assert_fits_width(page)
    browser_errors.assert_none()


def test_a_reunification_by_the_desk_and_the_reunifier(page, sign_in, emergency, school,
                                                       student, staff, browser_errors):  # fmt: skip
    page.set_viewport_size(DESKTOP)
    sign_in(staff)
    page.goto(reverse("dismissal:emergency_desk", args=[school.id]))
    page.get_by_label("Student's name or student id").fill("ana")
    page.get_by_role("link", name="Rivera, Ana").click()
    page.get_by_label("Tom Rivera").check()
    page.get_by_label("I checked the adult's photo ID").check()
    page.get_by_label("Reunifier").fill("Ms. Lee")
    page.get_by_label("Yes: Ana says yes").check()
    page.get_by_role("button", name="Release Ana").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Do not release Ana Rivera to Tom Rivera")
    expect(alert).to_contain_text("FL-2026-0042")
    _shot(page, "blocked")
    # The refused release answers 409, which the browser reports on its console.
    assert [e.split(" (")[0] for e in browser_errors.take()] == [
        "console error: Failed to load resource: the server responded with a status of 409"
    ]
    page.get_by_label("Maria Lopez").check()
    page.get_by_role("button", name="Release Ana").click()
    expect(page.get_by_text("Ana Rivera released to Maria Lopez.")).to_be_visible()
    assert CustodyEvent.objects.filter(kind=Kind.RELEASED, day=emergency).count() == 1
    browser_errors.assert_none()
