"""The records and privacy pages in Chromium: a district admin downloads nothing by accident,
erases a departed student after typing the id, and the retention page, on a phone."""

import datetime as dt

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from lastbell import testing
from lastbell.people.models import Student
from lastbell.schools.models import School
from lastbell.testing_browser import assert_accessible, assert_fits_width

pytestmark = pytest.mark.browser


@pytest.fixture
def departed(transactional_db):
    today = School(timezone="America/Los_Angeles").today()
    school = testing.make_school(
        testing.make_district(), "Lincoln Elementary",
        term=(today - dt.timedelta(days=100), today + dt.timedelta(days=200)),
    )  # fmt: skip
    pupil = testing.make_student(school, first="Ana", last="Rivera", sis_id="S-1042",
                                 enrolled_on=today - dt.timedelta(days=100),
                                 withdrawn_on=today - dt.timedelta(days=2))  # fmt: skip
    testing.make_guardian(pupil, first="Maria", last="Lopez", mobile="(555) 010-0177")
    return testing.make_district_admin(school.district), pupil


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_district_admin_erases_a_departed_student(page, force_sign_in, departed,
                                                    browser_errors):  # fmt: skip
    admin, pupil = departed
    force_sign_in(admin)
    page.goto(reverse("privacy:student", args=[pupil.school_id, pupil.pk]))
    expect(page.get_by_role("button", name="Download the record (ZIP)")).to_be_visible()
    assert_accessible(page)
    assert_fits_width(page)

    page.get_by_role("link", name="Erase this student's personal data…").click()
    assert_accessible(page)
    assert_fits_width(page)
    page.get_by_label("Type the student id to confirm").fill("S-1043")
    page.get_by_role("button", name="Erase for good").click()
    expect(page.get_by_text("That is not this student's id.")).to_be_visible()
    assert Student.objects.get(pk=pupil.pk).first_name == "Ana"
    [refused] = browser_errors.take()  # the form sent back answers 400, as it should
    assert "400" in refused

    page.get_by_label("Type the student id to confirm").fill("S-1042")
    page.get_by_role("button", name="Erase for good").click()
    expect(page.locator(".msg-success")).to_contain_text("personal data is erased")
    assert Student.objects.get(pk=pupil.pk).first_name == "Erased"
    browser_errors.assert_none()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_the_retention_page_fits_a_phone(page, force_sign_in, departed, browser_errors):
    admin, pupil = departed
    force_sign_in(admin)
    page.goto(reverse("privacy:retention", args=[pupil.school.district_id]))
    page.get_by_label("Keep dismissal events (days)").fill("400")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".msg-success")).to_contain_text("The retention is saved")
    assert_accessible(page)
    assert_fits_width(page)
    browser_errors.assert_none()
