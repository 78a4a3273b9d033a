"""Issuing letters in Chromium, as the office does: preview who is due, confirm, watch the
PDF being made by the task worker, download it and read the letter in it; and the template
editor's live preview (htmx, under the strict CSP).

Data is built around the real today (the live server runs in another thread, so the clock is
not frozen): the policy's school year and the absences are placed around it."""

import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect
from pypdf import PdfReader

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.attendance.services import AbsenceEvent, AbsenceSpec, absences_record_many
from lastbell.testing_browser import PHONE, assert_accessible, assert_fits_width
from lastbell.truancy import services
from lastbell.truancy.models import Letter

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def files(settings, tmp_path):
    settings.DATA_DIR = tmp_path


@pytest.fixture
def office(transactional_db):
    """A school whose truancy year runs around today, and Ana with three unexcused absences
    on the last three weekdays."""
    district = testing.make_district()
    today = dt.date.today()
    school = testing.make_school(district, "Lincoln Elementary",
                                 term=(today - dt.timedelta(days=90),
                                       today + dt.timedelta(days=90)))  # fmt: skip
    services.policy_save(district=district, values={
        "counts": ["absent_unexcused"], "tardy_minutes": 30,
        "levels": [{"threshold": 3, "name": "Letter 1: first truancy notice"}],
        "year_starts_on": today - dt.timedelta(days=100),
        "year_ends_on": today + dt.timedelta(days=200),
    }, actor=None)  # fmt: skip
    staff = testing.make_staff(school, Role.DISMISSAL_STAFF, first="Dana", last="Office")
    ana = testing.make_student(school, first="Ana", last="Rivera",
                               enrolled_on=today - dt.timedelta(days=60))  # fmt: skip
    testing.make_guardian(ana, first="Maria", last="Lopez",
                          mailing_address="12 Oak Street\nRiverside, CA 92501")  # fmt: skip
    days, day = [], today - dt.timedelta(days=1)
    while len(days) < 3:
        if day.weekday() < 5:
            days.append(day)
        day -= dt.timedelta(days=1)
    from django.db import transaction

    with transaction.atomic():
        absences_record_many([AbsenceEvent(ana.pk, school.pk, ana.full_name, AbsenceSpec(date=d))
                              for d in days], district_id=district.pk)  # fmt: skip
    return school, staff, ana


def run_worker():
    """The real django-tasks-db worker: runs every task that is ready now, then stops."""
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)


def test_preview_issue_and_download_the_letters(page, force_sign_in, office, browser_errors):
    school, staff, ana = office
    force_sign_in(staff)
    page.goto(reverse("truancy:school", args=[school.pk]))
    expect(page.get_by_role("row", name=re.compile("Rivera, Ana"))).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Issue Letter 1: first truancy notice to 1 student…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Issue Letter 1: first truancy notice"
    )
    expect(page.get_by_role("row", name=re.compile("Rivera, Ana"))).to_be_visible()
    assert_accessible(page)
    assert not Letter.objects.exists()  # the preview and the confirmation issue nothing
    page.get_by_label("Print and mail").check()
    page.get_by_role("button", name="Issue 1 letter").click()

    expect(page.get_by_text("Issued 1 letter.")).to_be_visible()
    expect(page.get_by_text("Waiting for its turn…")).to_be_visible()
    assert Letter.objects.get().student == ana
    assert_accessible(page)

    run_worker()

    # The page polls: the download appears without a reload.
    download_link = page.get_by_test_id("download")
    expect(download_link).to_be_visible()
    expect(page.locator("#batch-status")).not_to_have_attribute("hx-trigger", re.compile("."))
    with page.expect_download() as download:
        download_link.click()
    pdf = PdfReader(io.BytesIO(download.value.path().read_bytes()))
    text = " ".join(" ".join(p.extract_text().split()) for p in pdf.pages)
    assert "Notice of truancy" in text and "Dear Maria Lopez," in text
    assert "Ana Rivera (grade 3, student ID" in text and "12 Oak Street" in text
    assert "California Education Code section 48260.5 requires us to tell you" in text
    assert download.value.suggested_filename.startswith("truancy-letter-1-lincoln-elementary-")

    # The run is in the history.
    page.get_by_role("link", name="‹ Runs").click()
    runs = page.get_by_role("row", name=re.compile("Letter 1: first truancy notice"))
    expect(runs).to_be_visible()
    browser_errors.assert_none()


def test_the_confirmation_fits_a_phone(page, force_sign_in, office, browser_errors):
    school, staff, _ana = office
    page.set_viewport_size(PHONE)
    force_sign_in(staff)
    page.goto(reverse("truancy:school_issue", args=[school.pk]) + "?level=1")
    expect(page.get_by_role("button", name="Issue 1 letter")).to_be_visible()
    assert_fits_width(page)
    assert_accessible(page)
    browser_errors.assert_none()


def test_the_template_editor_previews_as_you_type(page, force_sign_in, office, browser_errors):
    school, _staff, _ana = office
    admin = testing.make_district_admin(school.district)
    force_sign_in(admin)
    page.goto(reverse("truancy:district_template", args=[school.district.pk, 1, "en"]))
    preview = page.get_by_test_id("preview-letter")
    expect(preview).to_contain_text("Dear Maria Lopez and Jose Lopez,")
    assert_accessible(page)
    page.get_by_label("Letter (HTML with merge fields)").fill(
        "<p>Hello {{ guardian_names }}, about {{ student.first_name }}.</p>"
    )
    expect(preview).to_have_text("Hello Maria Lopez and Jose Lopez, about Ana.")
    page.get_by_label("Letter (HTML with merge fields)").fill("<p>{% load static %}</p>")
    expect(page.locator("#letter-preview")).to_contain_text("letters can't use {% load %}")
    browser_errors.assert_none()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_truancy_pages_are_accessible_and_fit(page, force_sign_in, office, browser_errors,
                                                  viewport):  # fmt: skip
    school, staff, ana = office
    services.letters_issue(district=school.district, school=school, level=1,
                           student_ids=[ana.pk], actor=staff)  # fmt: skip
    force_sign_in(staff)
    for name in ("letters", "batches", "review", "followup", "chronic"):
        page.goto(reverse(f"truancy:school_{name}", args=[school.pk]))
        expect(page.get_by_role("navigation", name="Truancy pages")).to_be_visible()
        assert_accessible(page)
        assert_fits_width(page)
    page.goto(reverse("truancy:school_letter", args=[school.pk, Letter.objects.get().pk]))
    expect(page.get_by_role("button", name="Void the letter")).to_be_visible()
    assert_accessible(page)
    assert_fits_width(page)
    browser_errors.assert_none()
