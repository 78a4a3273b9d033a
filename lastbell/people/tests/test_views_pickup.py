"""The "Pickup and custody" page: what office staff and teachers see on it."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from lastbell import testing
from lastbell.people import services
from lastbell.people.models import PickupSource
from lastbell.people.tests.uploads import PDF_BYTES, upload


@pytest.fixture
def on_file(on_school_day, student, guardian, staff):
    guardian.mobile = "(555) 010-0177"
    guardian.save()
    rosa = services.adult_add(
        student=student, actor=staff, source=PickupSource.STAFF, first_name="Rosa",
        last_name="Diaz", relationship="Aunt", phone="555-010-0123", photo=upload(),
        note="Drives a blue van",
    )  # fmt: skip
    services.adult_verify(adult=rosa, actor=staff)
    pablo = services.adult_add(
        student=student, actor=staff, source=PickupSource.STAFF, first_name="Pablo",
        last_name="Cruz", relationship="Uncle", phone="555-010-0144",
    )  # fmt: skip
    gone = services.adult_add(
        student=student, actor=staff, source=PickupSource.STAFF, first_name="Luis",
        last_name="Gone", relationship="Neighbor", phone="555-010-0155",
    )  # fmt: skip
    services.adult_remove(adult=gone, actor=staff, source=PickupSource.STAFF)
    restriction = services.restriction_record(
        student=student, actor=staff, person_name="Victor Diaz", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=on_school_day - dt.timedelta(days=30),
        person_description="Drives a red pickup",
        court_order_file=upload("order.pdf", PDF_BYTES, "application/pdf"),
    )  # fmt: skip
    lifted = services.restriction_record(
        student=student, actor=staff, person_name="Ed Stone", kind="no_contact",
        court_order_reference="FL-2025-0001", starts_on=on_school_day - dt.timedelta(days=90),
    )  # fmt: skip
    services.restriction_end(restriction=lifted, actor=staff, reason="Lifted by FL-2026-0107")
    return {"rosa": rosa, "pablo": pablo, "restriction": restriction}


def _url(student):
    return reverse("people:pickup", args=[student.school_id, student.id])


def _section(html: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.S)
    assert match, section_id
    return match[0]


def test_office_staff_see_everyone_with_contacts_photos_and_actions(
    client, staff, student, on_file
):
    client.force_login(staff)

    r = client.get(_url(student))

    html = r.content.decode()
    guardians = _section(html, "guardians")
    assert "Maria Lopez" in guardians and "(555) 010-0177" in guardians
    adults = _section(html, "adults")
    assert "Rosa Diaz" in adults and "555-010-0123" in adults and "Drives a blue van" in adults
    assert re.search(r"Rosa Diaz</strong>.*?Verified</span>", adults, re.S)
    assert re.search(r"Pablo Cruz</strong>.*?Not verified</span>", adults, re.S)
    assert "Luis Gone" not in adults
    photo = reverse("people:adult_photo", args=[student.school_id, student.id, on_file["rosa"].id])
    assert f'src="{photo}"' in adults and 'alt="Photo of Rosa Diaz"' in adults
    verify = reverse(
        "people:adult_verify", args=[student.school_id, student.id, on_file["pablo"].id]
    )
    assert f'action="{verify}"' in adults  # only the unverified one has the button
    assert adults.count("Mark verified</button>") == 1
    assert adults.count(">Remove</button>") == 2
    assert 'enctype="multipart/form-data"' in adults


def test_restrictions_in_effect_are_the_first_thing_on_the_page(client, staff, student, on_file):
    client.force_login(staff)

    html = client.get(_url(student)).content.decode()

    custody = _section(html, "custody")
    assert html.index('id="custody"') < html.index('id="guardians"')
    alert = re.search(r'<div class="alert" data-testid="custody-alert">.*?</div>', custody, re.S)[0]
    assert "Do not release to Victor Diaz" in alert and "In effect" in alert
    assert "Drives a red pickup" in alert and "FL-2026-0042" in alert
    court_order = reverse(
        "people:court_order", args=[student.school_id, student.id, on_file["restriction"].id]
    )
    assert f'href="{court_order}"' in alert
    assert "Ed Stone" not in alert  # ended: kept on record, below
    record = _section(html, "record")
    assert "Ed Stone" in record and "Lifted by FL-2026-0107" in record
    assert "Luis Gone" in record


def test_a_guardian_named_by_a_restriction_is_flagged(client, staff, student, on_file):
    testing.make_guardian(student, first="Victor", last="Diaz")
    client.force_login(staff)

    guardians = _section(client.get(_url(student)).content.decode(), "guardians")

    items = re.findall(r'<li class="person">.*?</li>', guardians, re.S)
    flagged = {
        re.search(r"<strong>(.*?)</strong>", item)[1]: "Named in a custody restriction" in item
        for item in items
    }
    assert flagged == {"Maria Lopez": False, "Victor Diaz": True}


def test_a_teacher_sees_names_but_no_contacts_files_or_actions(client, teacher, student, on_file):
    client.force_login(teacher)

    r = client.get(_url(student))

    assert r.status_code == 200
    html = r.content.decode()
    for name in ("Maria Lopez", "Rosa Diaz", "Pablo Cruz", "Do not release to Victor Diaz"):
        assert name in html
    hidden = ["(555) 010-0177", "555-010-0123", "FL-2026-0042", "/photo/", "/court-order/",
              "Ed Stone", "Luis Gone", '<form method="post" action="/schools', "Mark verified",
              "Record the restriction", "Add to the pickup list"]  # fmt: skip
    for text in hidden:
        assert text not in html, text


def test_a_student_with_nothing_on_file_says_so(client, on_school_day, staff, school):
    pupil = testing.make_student(school, first="Cleo")
    client.force_login(staff)

    r = client.get(_url(pupil))

    assertContains(r, "No custody restriction on file.")
    assertContains(r, "No guardian on file.")
    assertContains(r, "Nobody besides the guardians is on the pickup list.")
    assertNotContains(r, "custody-alert")
    assertNotContains(r, "Kept on record")


def test_an_upcoming_restriction_shows_its_first_day(client, on_school_day, staff, student):
    services.restriction_record(
        student=student, actor=staff, person_name="Victor Diaz", kind="supervised_only",
        court_order_reference="FL-2026-0042", starts_on=dt.date(2026, 12, 1),
    )  # fmt: skip
    client.force_login(staff)

    r = client.get(_url(student))

    assertContains(r, "Supervised contact only, do not release to Victor Diaz")
    assertContains(r, '<span class="badge warn">From Dec 1, 2026</span>', html=True)


def test_the_page_works_with_the_tracker_off_as_the_other_tabs_do(
    client, on_school_day, school, staff, student
):
    school.tracker_enabled = False
    school.save()
    client.force_login(staff)

    assertContains(client.get(_url(student)), "tracker is off")


# --- the strict Content-Security-Policy ------------------------------------------------------


def _assert_obeys_the_policy(response):
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)[1]
    html = response.content.decode()
    assert not re.search(r"\sstyle\s*=", html), "inline style attribute"
    assert "<style" not in html
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert "javascript:" not in html
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert f'nonce="{nonce}"' in tag or " src=" in tag, tag


def test_the_pages_obey_the_strict_policy(client, staff, student, on_file):
    client.force_login(staff)
    end = reverse(
        "people:restriction_end", args=[student.school_id, student.id, on_file["restriction"].id]
    )

    for response in (
        client.get(_url(student)),
        client.get(end),
        client.post(end, {"reason": ""}),
        client.post(reverse("people:adult_add", args=[student.school_id, student.id]), {}),
    ):
        assert response.status_code in (200, 400)
        _assert_obeys_the_policy(response)
