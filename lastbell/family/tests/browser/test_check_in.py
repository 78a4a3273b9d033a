"""A guardian at pickup on a phone: "I'm here", then the child's state as the office works,
without reloading the page.

The live server runs in another thread with the real clock, so the school is put where the
check-in window is open now: a timezone in which it is about noon, school every day of the
week, dismissal at 11 pm and check-in open from midnight.
"""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.dismissal import services
from lastbell.dismissal.models import CustodyEvent
from lastbell.dismissal.services import Adult
from lastbell.people.models import GuardianLink
from lastbell.schools.models import School
from lastbell.testing_browser import assert_accessible, assert_fits_width

pytestmark = pytest.mark.browser
ELEVEN_PM = dt.time(23, 0)


def _noon_somewhere() -> str:
    """A fixed-offset zone where it is between 11 am and 1 pm now ("Etc/GMT-3" is UTC+3)."""
    offset = 12 - dt.datetime.now(dt.UTC).hour  # from -11 to +12 hours
    return f"Etc/GMT{-offset:+d}" if offset else "UTC"


@pytest.fixture
def family(transactional_db):
    zone = _noon_somewhere()
    today = School(timezone=zone).today()
    district = testing.make_district()
    school = testing.make_school(
        district, "Lincoln Elementary", parent_access=True, parent_editing=True,
        timezone=zone, checkin_opens_minutes=23 * 60,
        term=(today - dt.timedelta(days=60), today + dt.timedelta(days=200)),
        **{field: ELEVEN_PM for field in School.DISMISSAL_FIELDS},
    )  # fmt: skip
    ana = testing.make_student(school, first="Ana", last="Rivera")
    leo = testing.make_student(school, first="Leo", last="Rivera")
    guardian = testing.make_guardian(ana, first="Maria", last="Lopez")
    GuardianLink.objects.create(guardian=guardian, student=leo, relationship="Parent")
    staff = testing.make_staff(school, Role.DISMISSAL_STAFF)
    return school, ana, leo, guardian, staff


@pytest.mark.parametrize("viewport", ["phone"])
def test_a_guardian_taps_im_here_and_sees_the_release_without_reloading(
    page, force_sign_in, family, viewport, browser_errors
):
    school, ana, leo, guardian, staff = family
    force_sign_in(guardian.user)
    page.goto("/family/")
    card = page.get_by_test_id("checkin")
    button = card.get_by_role("button", name="I'm here")
    expect(button).to_be_enabled()
    expect(card).to_contain_text("One tap tells the school you're here for Ana, Leo.")
    assert_accessible(page)
    assert_fits_width(page)

    # By keyboard: the big button is reachable and Enter presses it.
    button.focus()
    page.keyboard.press("Enter")
    expect(card).to_contain_text("We told the school you're here.")
    expect(page.get_by_test_id(f"pickup-{ana.pk}")).to_contain_text("Waiting to be called")
    expect(page.get_by_test_id(f"pickup-{leo.pk}")).to_contain_text("Waiting to be called")
    expect(card.get_by_role("button", name="I'm here")).to_have_count(0)
    assert_accessible(page)
    assert_fits_width(page)

    # The office sends Ana out and hands her over; the page follows by itself.
    day = services.day_of(school)
    services.mark_sent(day, [ana.pk], actor=staff, door="Door 2")
    expect(page.get_by_test_id(f"pickup-{ana.pk}")).to_contain_text(
        "On the way to Door 2", timeout=15_000
    )
    event = services.release(day, ana, adult=Adult(CustodyEvent.To.GUARDIAN, guardian),
                             actor=staff, verification="car_tag")  # fmt: skip
    at = event.at.astimezone(school.tz).strftime("%-I:%M\u00a0%p").lower()
    expect(page.get_by_test_id(f"pickup-{ana.pk}")).to_contain_text(
        f"Released to Maria Lopez at {at}", timeout=15_000
    )
    expect(page.get_by_test_id(f"pickup-{leo.pk}")).to_contain_text("Waiting to be called")
    assert page.url.endswith("/family/")  # never reloaded: the same page, updated in place
    assert_accessible(page)
    assert_fits_width(page)
    browser_errors.assert_none()


@pytest.mark.parametrize("viewport", ["phone", "phone_large"])
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_pickup_card_fits_a_phone_in_both_languages(page, force_sign_in, family, viewport,
                                                       language, browser_errors):  # fmt: skip
    school, ana, leo, guardian, staff = family
    guardian.language = language
    guardian.save()
    force_sign_in(guardian.user)
    page.goto("/family/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    name = "I'm here" if language == "en" else "Ya llegué"
    page.get_by_role("button", name=name).click()
    told = "We told the school" if language == "en" else "Avisamos a la escuela"
    expect(page.get_by_test_id("checkin")).to_contain_text(told)
    assert_accessible(page)
    assert_fits_width(page)
    browser_errors.assert_none()


@pytest.mark.parametrize("viewport", ["phone"])
def test_before_check_in_opens_the_button_is_disabled_and_says_when(
    page, force_sign_in, family, viewport, browser_errors
):
    school, ana, leo, guardian, staff = family
    school.checkin_opens_minutes = 5  # opens at 10:55 pm, hours from now
    school.save()
    force_sign_in(guardian.user)
    page.goto(f"/family/children/{ana.pk}/")
    expect(page.get_by_role("button", name="I'm here")).to_be_disabled()
    expect(page.get_by_test_id("checkin")).to_contain_text(
        re.compile(r"You can check in from 10:55\s?pm\.")
    )
    assert_accessible(page)
    assert_fits_width(page)
    browser_errors.assert_none()
