"""Photos and court orders are private: only the views that check scope ever send them."""

import pytest
from django.urls import reverse

from lastbell import testing
from lastbell.people import services
from lastbell.people.models import PickupSource
from lastbell.people.tests.uploads import JPEG_BYTES, PDF_BYTES, PNG_BYTES, upload


@pytest.fixture
def rosa(on_school_day, student, staff):
    return services.adult_add(
        student=student, actor=staff, source=PickupSource.STAFF, first_name="Rosa",
        last_name="Diaz", relationship="Aunt", phone="555-010-0123",
        photo=upload("rosa.png", PNG_BYTES, "image/png"),
    )  # fmt: skip


@pytest.fixture
def order(on_school_day, student, staff):
    return services.restriction_record(
        student=student, actor=staff, person_name="Victor Diaz", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=on_school_day,
        court_order_file=upload("scan.jpg", JPEG_BYTES, "image/jpeg"),
    )  # fmt: skip


def _photo_url(adult):
    s = adult.student
    return reverse("people:adult_photo", args=[s.school_id, s.id, adult.id])


def _order_url(restriction):
    s = restriction.student
    return reverse("people:court_order", args=[s.school_id, s.id, restriction.id])


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_office_staff_get_the_photo_inline_and_uncached(client, staff, rosa):
    client.force_login(staff)

    r = client.get(_photo_url(rosa))

    assert r.status_code == 200
    assert _body(r) == PNG_BYTES
    assert r["Content-Type"] == "image/png"  # the checked type, not what the browser said
    assert r["Content-Disposition"].startswith("inline")
    assert "no-store" in r["Cache-Control"] and "private" in r["Cache-Control"]
    assert r["X-Content-Type-Options"] == "nosniff"


def test_office_staff_download_the_court_order(client, district_admin, order):
    client.force_login(district_admin)

    r = client.get(_order_url(order))

    assert r.status_code == 200
    assert _body(r) == JPEG_BYTES
    assert r["Content-Type"] == "image/jpeg"
    assert r["Content-Disposition"] == f'attachment; filename="court-order-{order.id}.jpg"'
    assert "no-store" in r["Cache-Control"]


def test_a_pdf_court_order_is_sent_as_a_pdf(client, on_school_day, staff, student):
    restriction = services.restriction_record(
        student=student, actor=staff, person_name="Ed Stone", kind="no_contact",
        court_order_reference="FL-9", starts_on=on_school_day,
        court_order_file=upload("order", PDF_BYTES, "application/octet-stream"),
    )  # fmt: skip
    client.force_login(staff)

    r = client.get(_order_url(restriction))

    assert r["Content-Type"] == "application/pdf" and _body(r) == PDF_BYTES


@pytest.mark.parametrize("url", [_photo_url, _order_url], ids=["photo", "court-order"])
def test_an_anonymous_visitor_is_sent_to_sign_in(client, rosa, order, url):
    r = client.get(url(rosa if url is _photo_url else order))

    assert r.status_code == 302
    assert r.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize("url", [_photo_url, _order_url], ids=["photo", "court-order"])
@pytest.mark.parametrize("persona", ["other_staff", "guardian", "outsider_guardian"])
def test_a_foreign_user_gets_nothing(client, request, rosa, order, url, persona):
    user = request.getfixturevalue(persona)
    client.force_login(getattr(user, "user", None) or user)

    r = client.get(url(rosa if url is _photo_url else order))

    assert r.status_code == 404
    assert PNG_BYTES not in r.content and JPEG_BYTES not in r.content


@pytest.fixture
def outsider_guardian(other_school):
    return testing.make_guardian(testing.make_student(other_school), first="Olga", last="Out")


@pytest.mark.parametrize("url", [_photo_url, _order_url], ids=["photo", "court-order"])
def test_a_teacher_of_the_student_is_refused_the_files(client, teacher, rosa, order, url):
    client.force_login(teacher)

    r = client.get(url(rosa if url is _photo_url else order))

    assert r.status_code == 403
    assert b"office staff only" in r.content


def test_a_removed_adult_s_photo_stays_on_record_for_staff(client, staff, rosa):
    services.adult_remove(adult=rosa, actor=staff, source=PickupSource.STAFF)
    client.force_login(staff)

    assert _body(client.get(_photo_url(rosa))) == PNG_BYTES


def test_nothing_under_media_is_served_directly(client, staff, rosa, order):
    client.force_login(staff)

    for name in (rosa.photo.name, order.court_order_file.name):
        for prefix in ("/media/", "/static/", "/"):
            assert client.get(prefix + name).status_code == 404


def test_an_adult_without_a_photo_has_none_to_send(client, on_school_day, staff, student):
    adult = services.adult_add(
        student=student, actor=staff, source=PickupSource.STAFF, first_name="Pablo",
        last_name="Cruz", relationship="Uncle", phone="555-010-0144",
    )  # fmt: skip
    client.force_login(staff)

    assert client.get(_photo_url(adult)).status_code == 404


def test_a_file_missing_from_disk_is_a_404_not_an_error(client, staff, rosa, private_media):
    (private_media / rosa.photo.name).unlink()
    client.force_login(staff)

    assert client.get(_photo_url(rosa)).status_code == 404
