"""A parent on a phone: from the "no plan yet" message to a plan the office sees.

The live server runs in another thread with the real clock, so dates are built around the
school's real today; the days used are strictly after it, so the same-day cutoff never
decides the outcome.
"""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.messaging.models import Message
from lastbell.schools.models import School
from lastbell.testing_browser import assert_accessible, assert_fits_width

pytestmark = pytest.mark.browser


def _next_weekday(after: dt.date, weekday: int | None = None) -> dt.date:
    day = after + dt.timedelta(days=1)
    while day.weekday() >= 5 or (weekday is not None and day.weekday() != weekday):
        day += dt.timedelta(days=1)
    return day


@pytest.fixture
def family(transactional_db):
    today = School(timezone="America/Los_Angeles").today()
    district = testing.make_district()
    school = testing.make_school(
        district, "Lincoln Elementary", parent_access=True, parent_editing=True,
        term=(today - dt.timedelta(days=60), today + dt.timedelta(days=200)),
    )  # fmt: skip
    student = testing.make_student(school, first="Ana", last="Rivera")
    guardian = testing.make_guardian(student, first="Maria", last="Lopez")
    staff = testing.make_staff(school, Role.DISMISSAL_STAFF)
    first = _next_weekday(today)
    friday = _next_weekday(first, weekday=4)
    return school, student, guardian, staff, first, friday


@pytest.mark.parametrize("viewport", ["phone"])
def test_a_parent_sets_plans_from_the_message_link(page, force_sign_in, family, viewport,
                                                    browser_errors):  # fmt: skip
    school, student, guardian, staff, first, friday = family

    # The office sees Ana without a plan for the first day, and writes to her parents.
    force_sign_in(staff)
    page.goto(f"/schools/{school.pk}/?date={first:%Y-%m-%d}")
    expect(page.get_by_test_id("missing")).to_have_text("1")
    page.get_by_role("link", name="Message their parents…").click()
    expect(page.get_by_test_id("guardian-count")).to_have_text("1")
    page.get_by_role("button", name="Send to the ticked students' guardians").click()
    expect(page.locator(".msg-success")).to_contain_text("Queued 1 message")
    body = Message.objects.get(kind="missing_plan", to=guardian.email).body
    link = re.search(r"https?://\S+", body).group(0)
    page.context.clear_cookies()

    # The link signs Maria in where Ana's plan is set: she has no usual plan yet.
    page.goto(re.sub(r"^https?://[^/]+", "", link))
    expect(page.get_by_role("heading", level=1)).to_have_text("How Ana usually gets home")
    assert_accessible(page)
    assert_fits_width(page)

    # The usual plan: she walks home, every school day from the first day.
    page.get_by_label("Starts on").fill(first.isoformat())
    every = page.locator("fieldset[data-pattern=same]")
    every.get_by_label("How home").select_option("walk")
    page.get_by_role("button", name="Save the usual plan").click()
    expect(page.locator(".msg-success")).to_contain_text("Saved")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ana Rivera")

    # A Friday change: Maria picks her up.
    page.get_by_role("link", name="Change a day").click()
    page.get_by_label("From").fill(friday.isoformat())
    page.get_by_label("How home").select_option("pickup")
    page.get_by_label("Picked up by (guardian)").select_option(label="Maria Lopez")
    assert_accessible(page)
    page.get_by_role("button", name="Save the change").click()
    expect(page.locator(".msg-success")).to_contain_text("Change saved")

    # Both show on the calendar, from month to month with its arrows.
    page.get_by_role("link", name="See the month").click()
    while page.locator(f'[data-date="{first:%Y-%m-%d}"]').count() == 0:
        page.get_by_role("link", name="Next month").click()
    expect(page.locator(f'[data-date="{first:%Y-%m-%d}"]')).to_contain_text("Walk")
    if first.month != friday.month:
        page.get_by_role("link", name="Next month").click()
    expect(page.locator(f'[data-date="{friday:%Y-%m-%d}"]')).to_contain_text("Pickup")
    expect(page.locator(f'[data-date="{friday:%Y-%m-%d}"]')).to_contain_text("*")
    assert_accessible(page)
    assert_fits_width(page)
    browser_errors.assert_none()

    # And the office no longer sees Ana as missing.
    page.context.clear_cookies()
    force_sign_in(staff)
    page.goto(f"/schools/{school.pk}/?date={first:%Y-%m-%d}")
    expect(page.get_by_test_id("missing")).to_have_text("0")
    browser_errors.assert_none()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("language", ["en", "es"])
def test_family_pages_are_accessible_and_fit_a_phone(page, force_sign_in, family, viewport,
                                                      language, browser_errors):  # fmt: skip
    school, student, guardian, staff, first, friday = family
    guardian.language = language
    guardian.save()
    force_sign_in(guardian.user)
    for path in ("", "usual/", "changes/new/", "month/", "pickup/"):
        page.goto(f"/family/children/{student.pk}/{path}")
        expect(page.locator("html")).to_have_attribute("lang", language)
        assert_accessible(page)
        assert_fits_width(page)
    browser_errors.assert_none()
