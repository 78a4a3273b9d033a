"""The Imports tab in Chromium: the upload shows its own progress, the run page follows the
task worker by itself (htmx polling, or a refresh without JavaScript), and "Import this file"
imports what was checked."""

import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.attendance.models import Absence
from lastbell.imports.models import ImportRun
from lastbell.imports.tasks import ProgressFile
from lastbell.testing_browser import PHONE, assert_accessible, assert_fits_width

pytestmark = pytest.mark.browser

RUN_PAGE = re.compile(r"/schools/\d+/imports/\d+/$")


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    settings.DATA_DIR = tmp_path


@pytest.fixture
def office(transactional_db):
    school = testing.make_school(testing.make_district(), "Lincoln Elementary")
    staff = testing.make_staff(school, Role.DISMISSAL_STAFF, first="Dana", last="Office")
    student = testing.make_student(school, first="Ana", last="Rivera")
    today = school.today().isoformat()
    csv = f"student_id,date,kind\n{student.sis_id},{today},absent\n".encode()
    upload = {"name": "today.csv", "mimeType": "text/csv", "buffer": csv}
    return school, staff, upload


def run_worker():
    """The real django-tasks-db worker: runs every task that is ready now, then stops."""
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)


def test_a_file_is_checked_then_imported(page, force_sign_in, office, browser_errors):
    school, staff, upload = office
    force_sign_in(staff)
    page.goto(reverse("imports:school", args=[school.pk]))
    assert_accessible(page)

    # What the form's progress bar said last, kept across the page change that follows.
    page.evaluate(
        """() => document.addEventListener("htmx:xhr:progress", event => {
               const bar = event.target.querySelector("[data-upload-status] progress");
               if (bar) sessionStorage.setItem("uploaded", bar.value);
           })"""
    )
    page.locator("#upload-attendance").set_input_files(upload)
    with page.expect_request(lambda request: request.method == "POST") as posted:
        page.get_by_role("button", name="Check the file").first.click()

    assert posted.value.headers.get("hx-request") == "true"  # htmx sent it, with progress
    expect(page).to_have_url(RUN_PAGE)
    assert page.evaluate("sessionStorage.getItem('uploaded')") == "100"
    expect(page.get_by_role("heading", level=1)).to_have_text("Check of today.csv")
    expect(page.get_by_text("Waiting for its turn…")).to_be_visible()
    assert_accessible(page)

    run_worker()

    # The page polls: the report comes without a reload, and the polling stops.
    expect(page.get_by_test_id("counts")).to_have_text("absence: 1 created")
    expect(page.locator("#run-status")).not_to_have_attribute("hx-trigger", re.compile("."))
    assert_accessible(page)
    assert not Absence.objects.exists()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download every row (CSV)").click()
    rows = download.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == "File,Row,Record,Id,Result,Why"
    assert rows[1].startswith("today.csv,2,absence,") and ",created," in rows[1]

    page.get_by_role("button", name="Import this file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import of today.csv")
    run_worker()
    expect(page.get_by_role("heading", name="Imported")).to_be_visible()
    assert Absence.objects.count() == 1

    page.get_by_role("link", name="‹ Imports").click()
    runs = page.locator("#runs tbody tr")
    expect(runs).to_have_count(2)
    expect(runs.first).to_contain_text("Imported")
    expect(runs.last).to_contain_text("Checked")
    browser_errors.assert_none()


def test_the_upload_form_shows_how_much_has_been_sent(page, force_sign_in, office):
    school, staff, upload = office
    force_sign_in(staff)
    page.goto(reverse("imports:school", args=[school.pk]))
    status = page.locator("form:has(#upload-attendance) [data-upload-status]")
    expect(status).to_be_hidden()

    # htmx reports the upload's progress on the form (its XMLHttpRequest's upload events).
    page.locator("#upload-attendance").evaluate(
        """input => input.form.dispatchEvent(new CustomEvent("htmx:xhr:progress", {
               bubbles: true, detail: {lengthComputable: true, loaded: 3, total: 4}}))"""
    )

    expect(status).to_be_visible()
    expect(status.locator("progress")).to_have_js_property("value", 75)
    expect(status).to_contain_text("75%")


def test_the_run_page_shows_the_progress_as_it_goes(page, force_sign_in, office, browser_errors):
    school, staff, _ = office
    run = ImportRun.objects.create(
        district=school.district, school=school, kind="attendance", mode="check",
        file_name="year.csv", token="tok", status="running", created_by=staff,
    )  # fmt: skip
    progress = ProgressFile(run.progress_path, run.file_name, every=0)
    progress("year.csv", 250_000, 0.25)
    force_sign_in(staff)
    page.set_viewport_size(PHONE)
    page.goto(reverse("imports:school_run", args=[school.pk, run.pk]))

    bar = page.locator("#run-progress")
    expect(bar).to_have_attribute("value", "25")
    expect(page.get_by_test_id("progress-rows")).to_have_text("250,000")
    assert_accessible(page)
    assert_fits_width(page)

    progress("year.csv", 500_000, 0.5)
    expect(page.get_by_test_id("progress-rows")).to_have_text("500,000")
    expect(bar).to_have_attribute("value", "50")

    ImportRun.objects.filter(pk=run.pk).update(
        status="done", progress_fraction=1.0,
        report={"ok": True, "applied": False, "file_errors": [], "rows": [], "left_out": 0,
                "counts": {"absence": {"created": 0, "updated": 0, "kept": 999_999,
                                       "skipped": 0, "rejected": 1}}},
    )  # fmt: skip
    expect(page.get_by_test_id("counts")).to_have_text("absence: 999,999 kept, 1 rejected")
    expect(bar).to_have_count(0)
    browser_errors.assert_none()


def test_without_javascript_the_forms_and_the_run_page_still_work(browser, live_server, office):
    school, staff, upload = office
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(staff)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto(reverse("imports:school", args=[school.pk]))
        page.locator("#upload-attendance").set_input_files(upload)
        page.get_by_role("button", name="Check the file").first.click()
        expect(page).to_have_url(RUN_PAGE)
        expect(page.get_by_text("Waiting for its turn…")).to_be_visible()

        run_worker()

        # The page reloads itself (a meta refresh, allowed by the page's policy).
        expect(page.get_by_test_id("counts")).to_have_text("absence: 1 created")
    finally:
        context.close()
