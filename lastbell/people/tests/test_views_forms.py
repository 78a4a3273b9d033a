"""The forms of the pickup page: each saves what it should, or says what to fix, saving nothing."""

import datetime as dt
import re

import pytest
from django.contrib import messages
from django.contrib.messages import Message
from django.urls import reverse
from django.utils.html import escape
from pytest_django.asserts import assertContains, assertMessages, assertRedirects

from lastbell.audit.models import AuditEvent
from lastbell.people import services
from lastbell.people.models import AuthorizedAdult, CustodyRestriction, PickupSource
from lastbell.people.tests.uploads import (
    HTML_BYTES,
    JPEG_BYTES,
    PDF_BYTES,
    SVG_BYTES,
    WEBP_BYTES,
    upload,
)

FIX_BELOW = "Some answers need a fix: see the messages in red below. Nothing was saved."


def _rows():
    return (AuthorizedAdult.objects.count(), CustodyRestriction.objects.count(),
            AuditEvent.objects.count())  # fmt: skip


def _pickup(student, anchor=""):
    return reverse("people:pickup", args=[student.school_id, student.id]) + anchor


def _adult(student, staff, first="Rosa"):
    return services.adult_add(
        student=student, actor=staff, source=PickupSource.STAFF, first_name=first,
        last_name="Diaz", relationship="Aunt", phone="555-010-0123",
    )  # fmt: skip


# --- adding an adult ----------------------------------------------------------------------

ADULT = {"first_name": "Rosa", "last_name": "Diaz", "relationship": "Grandmother",
         "phone": "(555) 010-0123", "note": "Has a walker"}  # fmt: skip


def test_office_staff_add_an_adult_with_a_photo(client, on_school_day, staff, student):
    client.force_login(staff)

    r = client.post(
        reverse("people:adult_add", args=[student.school_id, student.id]),
        {**ADULT, "photo": upload("rosa.webp", WEBP_BYTES, "image/webp")},
    )

    assertRedirects(r, _pickup(student, "#adults"), fetch_redirect_response=False)
    adult = AuthorizedAdult.objects.get()
    assert (adult.full_name, adult.relationship, adult.note) == (
        "Rosa Diaz", "Grandmother", "Has a walker",
    )  # fmt: skip
    assert adult.source == PickupSource.STAFF and adult.added_by == staff
    assert adult.photo.name.endswith(".webp")
    assertMessages(r, [Message(messages.SUCCESS,
        "Added Rosa Diaz to Ana Rivera's pickup list. "
        "Mark them verified once you have seen their photo ID.")])  # fmt: skip


BIG_JPEG = object()
BAD_ADULT = [
    pytest.param({"first_name": ""}, "Give the adult's first name.", id="no-first-name"),
    pytest.param({"last_name": "   "}, "Give the adult's last name.", id="blank-last-name"),
    pytest.param({"relationship": ""},
                 "Say how this adult knows the student, such as grandmother or neighbor.",
                 id="no-relationship"),
    pytest.param({"phone": ""}, "Give a phone number where the school can reach this adult.",
                 id="no-phone"),
    pytest.param({"phone": "ask her daughter"},
                 "Enter a phone number with its area code, such as (555) 010-0123.",
                 id="phone-in-words"),
    pytest.param({"phone": "0100"},
                 "Enter a phone number with its area code, such as (555) 010-0123.",
                 id="phone-too-short"),
    pytest.param({"first_name": "R" * 101}, "Keep this to 100 characters or fewer.",
                 id="name-too-long"),
    pytest.param({"photo": ("rosa.jpg", HTML_BYTES, "image/jpeg")},
                 "The photo must be a JPEG, PNG or WebP picture. This file is not one of "
                 "those (whatever its name says): save it in one of those formats and try "
                 "again.", id="html-pretending-to-be-a-jpeg"),
    pytest.param({"photo": ("rosa.svg", SVG_BYTES, "image/svg+xml")},
                 "The photo must be a JPEG, PNG or WebP picture.", id="svg-picture"),
    pytest.param({"photo": ("rosa.png", PDF_BYTES, "image/png")},
                 "The photo must be a JPEG, PNG or WebP picture.", id="pdf-named-png"),
    pytest.param({"photo": ("rosa.jpg", b"", "image/jpeg")},
                 "The photo file is empty. Choose the file again.", id="empty-photo"),
    pytest.param({"photo": BIG_JPEG},
                 "The photo is 5.1 MB; the most it can be is 5 MB. "
                 "Choose a smaller file or shrink it first.", id="photo-over-5-mb"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "message"), BAD_ADULT)
def test_adding_an_adult_refuses_bad_input(
    client, on_school_day, staff, student, private_media, change, message
):
    if change.get("photo") is BIG_JPEG:
        change = {"photo": ("rosa.jpg", JPEG_BYTES + b"\0" * (5 * 1024 * 1024), "image/jpeg")}
    if "photo" in change:
        change = {"photo": upload(*change["photo"])}
    client.force_login(staff)
    before = _rows()

    r = client.post(
        reverse("people:adult_add", args=[student.school_id, student.id]), {**ADULT, **change}
    )

    assert r.status_code == 400
    assertContains(r, escape(message), status_code=400)
    assertContains(r, FIX_BELOW, status_code=400)
    assertContains(r, '<details class="addform" open>', status_code=400)
    assert _rows() == before
    assert not private_media.exists() or not any(private_media.rglob("*.*"))


def test_adding_an_adult_reports_every_problem_at_once(client, on_school_day, staff, student):
    client.force_login(staff)

    r = client.post(
        reverse("people:adult_add", args=[student.school_id, student.id]),
        {"first_name": "", "last_name": "Diaz", "relationship": "", "phone": "soon",
         "photo": upload("x.jpg", HTML_BYTES)},
    )  # fmt: skip

    for message in ("Give the adult's first name.", "Say how this adult knows the student",
                    "Enter a phone number with its area code",
                    "The photo must be a JPEG, PNG or WebP picture."):  # fmt: skip
        assertContains(r, escape(message), status_code=400)


def test_adding_an_adult_twice_says_they_are_on_the_list(client, on_school_day, staff, student):
    _adult(student, staff)
    client.force_login(staff)
    before = _rows()

    r = client.post(reverse("people:adult_add", args=[student.school_id, student.id]), ADULT)

    assertContains(r, escape("Rosa Diaz is already on Ana Rivera's pickup list."), status_code=400)
    assert _rows() == before


def test_adding_a_restricted_person_is_refused(client, on_school_day, staff, student):
    services.restriction_record(
        student=student, actor=staff, person_name="Rosa Diaz", kind="do_not_release",
        court_order_reference="FL-1", starts_on=on_school_day,
    )  # fmt: skip
    client.force_login(staff)
    before = _rows()

    r = client.post(reverse("people:adult_add", args=[student.school_id, student.id]), ADULT)

    assertContains(r, "A custody restriction on file names Rosa Diaz", status_code=400)
    assert _rows() == before


# --- verifying and removing ---------------------------------------------------------------


def test_mark_verified(client, on_school_day, staff, student):
    adult = _adult(student, staff)
    client.force_login(staff)

    r = client.post(reverse("people:adult_verify", args=[student.school_id, student.id, adult.id]))

    assertRedirects(r, _pickup(student, "#adults"), fetch_redirect_response=False)
    adult.refresh_from_db()
    assert adult.verified_by == staff
    assertMessages(r, [Message(messages.SUCCESS, "Rosa Diaz is verified.")])


def test_mark_verified_on_a_removed_adult_says_why_not(client, on_school_day, staff, student):
    adult = _adult(student, staff)
    services.adult_remove(adult=adult, actor=staff, source=PickupSource.STAFF)
    client.force_login(staff)

    r = client.post(reverse("people:adult_verify", args=[student.school_id, student.id, adult.id]))

    assertMessages(r, [Message(messages.ERROR, "Rosa Diaz was removed from the pickup list and "
                               "can't be verified. Add them again first.")])  # fmt: skip
    adult.refresh_from_db()
    assert not adult.is_verified


def test_remove(client, on_school_day, staff, student):
    adult = _adult(student, staff)
    client.force_login(staff)

    r = client.post(reverse("people:adult_remove", args=[student.school_id, student.id, adult.id]))

    assertRedirects(r, _pickup(student, "#adults"), fetch_redirect_response=False)
    adult.refresh_from_db()
    assert adult.removed_by == staff
    html = client.get(_pickup(student)).content.decode()
    adults = re.search(r'<section[^>]*id="adults".*?</section>', html, re.S)[0]
    record = re.search(r'<section[^>]*id="record".*?</section>', html, re.S)[0]
    assert "Rosa Diaz" not in adults and "Rosa Diaz (Aunt)" in record


@pytest.mark.parametrize("name", ["people:adult_verify", "people:adult_remove"])
def test_buttons_do_nothing_on_get(client, on_school_day, staff, student, name):
    adult = _adult(student, staff)
    client.force_login(staff)

    r = client.get(reverse(name, args=[student.school_id, student.id, adult.id]))

    assert r.status_code == 405
    adult.refresh_from_db()
    assert adult.is_active and not adult.is_verified


# --- recording a restriction -------------------------------------------------------------

RESTRICTION = {"person_name": "Victor Diaz", "kind": "do_not_release",
               "court_order_reference": "FL-2026-0042", "starts_on": "2026-11-01",
               "ends_on": "2027-11-01", "person_description": "Drives a red pickup"}  # fmt: skip


def test_office_staff_record_a_restriction_with_its_court_order(
    client, on_school_day, staff, student
):
    client.force_login(staff)

    r = client.post(
        reverse("people:restriction_add", args=[student.school_id, student.id]),
        {**RESTRICTION, "court_order_file": upload("order.pdf", PDF_BYTES, "application/pdf")},
    )

    assertRedirects(r, _pickup(student, "#custody"), fetch_redirect_response=False)
    restriction = CustodyRestriction.objects.get()
    assert (restriction.person_name, restriction.kind, restriction.court_order_reference) == (
        "Victor Diaz", "do_not_release", "FL-2026-0042",
    )  # fmt: skip
    assert (restriction.starts_on, restriction.ends_on) == (
        dt.date(2026, 11, 1), dt.date(2027, 11, 1),
    )  # fmt: skip
    assert restriction.court_order_file.name.endswith(".pdf")
    assert services.active_restrictions(student).get() == restriction


BAD_RESTRICTION = [
    pytest.param({"person_name": ""},
                 "Give the name of the person, as it is written on the court order.",
                 id="no-person"),
    pytest.param({"kind": ""}, "Choose what the court order says.", id="no-kind"),
    pytest.param({"kind": "delete_everything"}, "Choose what the court order says.",
                 id="unknown-kind"),
    pytest.param({"court_order_reference": " "},
                 "Give the court order's case number or reference, as written on it.",
                 id="no-court-order"),
    pytest.param({"starts_on": ""}, "Give the date the court order starts.", id="no-start"),
    pytest.param({"starts_on": "next week"}, "Enter a date such as 2026-11-30.",
                 id="start-not-a-date"),
    pytest.param({"ends_on": "2026-02-30"}, "Enter a date such as 2026-11-30.",
                 id="end-not-a-date"),
    pytest.param({"starts_on": "2026-12-01", "ends_on": "2026-11-30"},
                 "The restriction ends before it starts. Check both dates on the court order.",
                 id="ends-before-it-starts"),
    pytest.param({"ends_on": "2026-11-17"},
                 "This restriction has already ended.", id="ended-yesterday"),
    pytest.param({"court_order_file": ("order.pdf", HTML_BYTES, "application/pdf")},
                 "The court order must be a PDF, or a JPEG, PNG or WebP picture.",
                 id="html-pretending-to-be-a-pdf"),
    pytest.param({"court_order_file": ("order.pdf", b"", "application/pdf")},
                 "The court order file is empty. Choose the file again.", id="empty-file"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "message"), BAD_RESTRICTION)
def test_recording_a_restriction_refuses_bad_input(
    client, on_school_day, staff, student, private_media, change, message
):
    if "court_order_file" in change:
        change = {"court_order_file": upload(*change["court_order_file"])}
    client.force_login(staff)
    before = _rows()

    r = client.post(
        reverse("people:restriction_add", args=[student.school_id, student.id]),
        {**RESTRICTION, **change},
    )

    assert r.status_code == 400
    assertContains(r, escape(message), status_code=400)
    assertContains(r, FIX_BELOW, status_code=400)
    assertContains(r, '<details class="addform" open>', status_code=400)
    assert _rows() == before
    assert not private_media.exists() or not any(private_media.rglob("*.*"))


# --- ending a restriction ----------------------------------------------------------------


@pytest.fixture
def restriction(on_school_day, staff, student):
    return services.restriction_record(
        student=student, actor=staff, person_name="Victor Diaz", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=on_school_day,
    )  # fmt: skip


def _end_url(restriction):
    student = restriction.student
    return reverse("people:restriction_end", args=[student.school_id, student.id, restriction.id])


def test_the_end_page_asks_for_a_reason(client, staff, restriction):
    client.force_login(staff)

    r = client.get(_end_url(restriction))

    assertContains(r, "Do not release to Victor Diaz")
    assertContains(r, "Why does the restriction end?")
    assertContains(r, "It stays on record")


def test_ending_a_restriction(client, staff, student, restriction):
    client.force_login(staff)

    r = client.post(_end_url(restriction), {"reason": "Lifted by order FL-2026-0107"})

    assertRedirects(r, _pickup(student, "#custody"), fetch_redirect_response=False)
    restriction.refresh_from_db()
    assert restriction.ended_by == staff
    assert restriction.end_reason == "Lifted by order FL-2026-0107"
    assert not services.active_restrictions(student).exists()


@pytest.mark.parametrize(
    ("reason", "message"),
    [("", "Say why the restriction ends, such as the court order that lifted it."),
     ("x" * 501, "Keep this to 500 characters or fewer.")],
    ids=["no-reason", "reason-too-long"],
)  # fmt: skip
def test_ending_a_restriction_needs_a_reason(client, staff, restriction, reason, message):
    client.force_login(staff)
    before = _rows()

    r = client.post(_end_url(restriction), {"reason": reason})

    assertContains(r, escape(message), status_code=400)
    assertContains(r, FIX_BELOW, status_code=400)
    restriction.refresh_from_db()
    assert restriction.ended_at is None
    assert _rows() == before


def test_an_ended_restriction_has_no_end_page(client, staff, restriction):
    services.restriction_end(restriction=restriction, actor=staff, reason="Lifted")
    client.force_login(staff)

    assert client.post(_end_url(restriction), {"reason": "Again"}).status_code == 404
    assert AuditEvent.objects.filter(action="custody.restriction.ended").count() == 1
