"""The pickup page in Chromium: on a 320 px phone, by keyboard, and with JavaScript off."""

import datetime as dt
import re
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from playwright.sync_api import expect

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.people import services
from lastbell.people.models import AuthorizedAdult, PickupSource
from lastbell.schools.models import School

pytestmark = pytest.mark.browser


def _png(width=2, height=2) -> bytes:
    """A real (tiny, grey) PNG, so the browser can draw it."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))  # fmt: skip


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def family(transactional_db):
    today = School(timezone="America/Los_Angeles").today()
    school = testing.make_school(
        testing.make_district(), "Lincoln Elementary",
        term=(today - dt.timedelta(days=100), today + dt.timedelta(days=200)),
    )  # fmt: skip
    staff = testing.make_staff(school, Role.DISMISSAL_STAFF, first="Dana", last="Office")
    pupil = testing.make_student(school, first="Ana", last="Rivera",
                                 enrolled_on=today - dt.timedelta(days=100))  # fmt: skip
    testing.make_guardian(pupil, first="Maria", last="Lopez", mobile="(555) 010-0177")
    services.adult_add(
        student=pupil, actor=staff, source=PickupSource.STAFF,
        first_name="Rosalind", last_name="Diaz-Montgomery-Featherstonehaugh",
        relationship="Great-grandmother", phone="+1 (555) 010-0123 ext. 4412",
        photo=SimpleUploadedFile("r.png", _png(), "image/png"),
        note="Comes on foot; usually waits by the flagpole near the north gate",
    )  # fmt: skip
    services.restriction_record(
        student=pupil, actor=staff, person_name="Victor Alexander Diaz-Montgomery",
        kind="supervised_only", court_order_reference="FL-2026-0042-SUPERIOR-COURT-COUNTY",
        starts_on=today, person_description="Drives a red pickup truck with a ladder rack",
    )  # fmt: skip
    return staff, pupil


def _url(pupil):
    return reverse("people:pickup", args=[pupil.school_id, pupil.id])


def test_it_fits_a_320px_phone_and_shows_the_photo(page, sign_in, family, browser_errors):
    staff, pupil = family
    page.set_viewport_size({"width": 320, "height": 640})
    sign_in(staff)

    page.goto(_url(pupil))

    expect(page.get_by_test_id("custody-alert")).to_contain_text(
        "Supervised contact only, do not release to Victor Alexander Diaz-Montgomery"
    )
    photo = page.get_by_alt_text("Photo of Rosalind Diaz-Montgomery-Featherstonehaugh")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.complete && img.naturalWidth") == 2
    for summary in ("Record a custody restriction", "Add an adult"):
        page.get_by_text(summary).click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    browser_errors.assert_none()


def _focused(page):
    return page.evaluate(
        """() => { const el = document.activeElement;
                   return {tag: el.tagName, text: (el.textContent || '').trim(), id: el.id,
                           label: el.getAttribute('aria-label'),
                           visible: el.matches(':focus-visible')}; }"""
    )


def _tab_until(page, predicate, limit=60):
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if predicate(focused):
            return focused
    raise AssertionError(f"Tab never reached the element; last focus was {focused}")


def test_office_staff_add_and_verify_an_adult_by_keyboard(page, sign_in, family, browser_errors):
    staff, pupil = family
    sign_in(staff, press_enter=True)
    page.goto(_url(pupil))

    focused = _tab_until(page, lambda f: f["tag"] == "SUMMARY" and f["text"] == "Add an adult")
    assert focused["visible"], focused
    page.keyboard.press("Enter")  # opens the form
    _tab_until(page, lambda f: f["id"] == "id_first_name")
    for value in ("Pablo", "Cruz", "Uncle", "555-010-0144"):
        page.keyboard.type(value)
        page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # past the photo (optional) to the note
    expect(page.get_by_label("Note for staff (optional)")).to_be_focused()
    page.keyboard.press("Enter")  # sends the form

    expect(page.locator(".msg-success")).to_contain_text("Added Pablo Cruz")
    pablo = page.locator("#adults li.person", has_text="Pablo Cruz")
    expect(pablo).to_contain_text("Not verified")
    _tab_until(page, lambda f: f["label"] == "Mark Pablo Cruz verified")
    page.keyboard.press("Enter")
    expect(page.locator(".msg-success")).to_have_text("Pablo Cruz is verified.")
    expect(page.locator("#adults li.person", has_text="Pablo Cruz")).to_contain_text("Verified")
    assert AuthorizedAdult.objects.get(first_name="Pablo").verified_by == staff
    browser_errors.assert_none()


def test_it_works_with_javascript_off(browser, live_server, family):
    staff, pupil = family
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/accounts/sign-in/")
        page.get_by_label("Email").fill(staff.email)
        page.get_by_label("Password").fill(testing.PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(_url(pupil))

        page.get_by_text("End this restriction…").click()
        page.get_by_role("button", name="End the restriction").click()  # no reason yet
        expect(page.locator(".errorlist")).to_contain_text("Say why the restriction ends")
        page.get_by_label("Why does the restriction end?").fill("Entered by mistake")
        page.get_by_role("button", name="End the restriction").click()

        expect(page).to_have_url(re.compile(r"/pickup/#custody$"))
        expect(page.locator("#custody")).to_contain_text("No custody restriction on file.")
        expect(page.locator("#record")).to_contain_text("Entered by mistake")
    finally:
        context.close()
