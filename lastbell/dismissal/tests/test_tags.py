"""Families and car tags (issue 5 §2): the list, new families' tags, the hang tags' PDF, and
who may see them."""

import io
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from pypdf import PdfReader

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.dismissal import hang_tags, services
from lastbell.dismissal.models import CarTag
from lastbell.people.models import GuardianLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(school, student, guardian, on_school_day):
    """Ana and her brother Leo share Maria Lopez: one family, one tag."""
    leo = testing.make_student(school, first="Leo", last="Rivera")
    GuardianLink.objects.create(guardian=guardian, student=leo, relationship="Parent")
    return student, leo


@pytest.fixture
def tagged(school, family):
    other = testing.make_student(school, first="Bea", last="Nguyen")
    testing.make_guardian(other, first="Hoa", last="Nguyen")
    services.tags_assign(school)
    return CarTag.objects.get(members__student=family[0]), CarTag.objects.get(
        members__student=other
    )


@pytest.fixture
def signed_in(client, staff):
    client.force_login(staff)
    return client


def url(name, school):
    return reverse(f"dismissal:{name}", args=[school.pk])


def printed_qr(page) -> list[list[bool]]:
    """The modules of the one QR code drawn on a PDF page, dark as True. (WeasyPrint lists
    every image of the file in each page's resources: the page's own are those it draws.)"""
    (name,) = [args[0] for args, operator in page.get_contents().operations if operator == b"Do"]
    picture = page.images[name].image.convert("L")
    return [[picture.getpixel((x, y)) < 128 for x in range(picture.width)]
            for y in range(picture.height)]  # fmt: skip


def made_qr(tag) -> list[list[bool]]:
    return [
        [bool(m) for m in row] for row in hang_tags.tag_qr(hang_tags.tag_checkin_url(tag)).matrix
    ]


def pdf_text(response) -> tuple[PdfReader, str]:
    body = b"".join(response.streaming_content)
    assert body.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(body))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


# --- the families ----------------------------------------------------------------------------


def test_it_lists_each_family_with_its_students_and_guardians(signed_in, school, tagged):
    ana_tag, bea_tag = tagged
    page = signed_in.get(url("tags", school)).content.decode()
    assert "Families and car tags" in page
    for text in ("Ana Rivera", "Leo Rivera", "Maria Lopez", "Bea Nguyen", "Hoa Nguyen"):
        assert text in page
    assert page.count('name="tag"') == 2
    assert "no car tag yet" not in page


def test_it_finds_a_family_by_number_or_by_name(signed_in, school, tagged):
    ana_tag, bea_tag = tagged
    by_number = signed_in.get(url("tags", school), {"q": str(bea_tag.number)}).content.decode()
    assert "Bea Nguyen" in by_number and "Ana Rivera" not in by_number
    by_guardian = signed_in.get(url("tags", school), {"q": "maria lop"}).content.decode()
    assert "Ana Rivera" in by_guardian and "Bea Nguyen" not in by_guardian
    nobody = signed_in.get(url("tags", school), {"q": "Zed"}).content.decode()
    assert "No family matches" in nobody


def test_a_search_from_htmx_answers_with_the_results_only(signed_in, school, tagged):
    response = signed_in.get(url("tags", school), {"q": "Nguyen"}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="results"')
    assert "Bea Nguyen" in page and "<html" not in page


def test_it_pages_fifty_families_at_a_time(signed_in, school, on_school_day):
    for n in range(51):
        testing.make_student(school, first=f"Kid{n}", last=f"Family{n}")
    services.tags_assign(school)
    first = signed_in.get(url("tags", school)).content.decode()
    assert first.count('name="tag"') == 50 and "Page 1 of 2" in first
    second = signed_in.get(url("tags", school), {"page": 2}).content.decode()
    assert second.count('name="tag"') == 1


def test_new_families_get_car_tags_and_brothers_and_sisters_share_one(signed_in, school, family):
    page = signed_in.get(url("tags", school)).content.decode()
    assert "2 students have no car tag yet" in page
    response = signed_in.post(url("tags_assign", school))
    assert response.status_code == 302
    ana, leo = family
    assert CarTag.objects.get(members__student=ana) == CarTag.objects.get(members__student=leo)
    after = signed_in.get(response["Location"]).content.decode()
    assert "Gave car tags to 2 students" in after
    again = signed_in.get(signed_in.post(url("tags_assign", school))["Location"]).content
    assert b"Every student already has a car tag" in again
    assert CarTag.objects.count() == 1


def test_giving_car_tags_takes_a_post(signed_in, school, family):
    assert signed_in.get(url("tags_assign", school)).status_code == 405
    assert not CarTag.objects.exists()


# --- who ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SCHOOL_ADMIN, Role.DISMISSAL_STAFF])
def test_the_schools_admins_and_dismissal_staff_may(client, school, tagged, role):
    client.force_login(testing.make_staff(school, role))
    assert client.get(url("tags", school)).status_code == 200
    assert client.get(url("tags_pdf", school)).status_code == 200
    assert client.post(url("tags_assign", school)).status_code == 302


def test_a_district_admin_may(client, school, tagged, district_admin):
    client.force_login(district_admin)
    assert client.get(url("tags", school)).status_code == 200


def test_a_teacher_is_refused(client, school, tagged, teacher):
    client.force_login(teacher)
    assert client.get(url("tags", school)).status_code == 403
    assert client.get(url("tags_pdf", school)).status_code == 403
    assert client.post(url("tags_assign", school)).status_code == 403


def test_other_schools_staff_and_guardians_find_no_such_school(
    client, school, tagged, other_staff, guardian
):
    for user in (other_staff, guardian.user):
        client.force_login(user)
        assert client.get(url("tags", school)).status_code == 404
        assert client.get(url("tags_pdf", school)).status_code == 404
        assert client.post(url("tags_assign", school)).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, school):
    response = client.get(url("tags_pdf", school))
    assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]


# --- the hang tags -----------------------------------------------------------------------------


def test_the_pdf_has_every_tag_with_its_number_school_and_first_names(signed_in, school, tagged):
    ana_tag, bea_tag = tagged
    response = signed_in.get(url("tags_pdf", school))
    assert response["Content-Type"] == "application/pdf"
    assert "car-tags-lincoln-elementary.pdf" in response["Content-Disposition"]
    reader, text = pdf_text(response)
    assert len(reader.pages) == 1  # two tags a page
    assert str(ana_tag.number) in text and str(bea_tag.number) in text
    assert "Lincoln Elementary" in text
    assert "Ana R., Leo R." in text and "Bea N." in text
    assert "Rivera" not in text  # first names and last initials only


def test_the_pdf_of_the_ticked_tags_has_only_those(signed_in, school, tagged, other_school):
    ana_tag, bea_tag = tagged
    elsewhere = CarTag.objects.create(school=other_school, number=77)
    response = signed_in.get(url("tags_pdf", school), {"tag": [bea_tag.pk, elsewhere.pk]})
    _reader, text = pdf_text(response)
    assert "Bea N." in text and "Ana R." not in text and "77" not in text


def test_printing_the_ticked_tags_with_none_ticked_prints_nothing(signed_in, school, tagged):
    page = signed_in.get(url("tags", school)).content.decode()
    assert '<input type="hidden" name="ticked" value="1">' in page
    response = signed_in.get(url("tags_pdf", school), {"ticked": "1"})
    assert response.status_code == 302
    assert b"Tick the families whose hang tags you want" in signed_in.get(
        response["Location"]).content  # fmt: skip


def test_ticking_only_another_schools_tag_prints_nothing(signed_in, school, tagged, other_school):
    elsewhere = CarTag.objects.create(school=other_school, number=77)
    response = signed_in.get(url("tags_pdf", school), {"tag": [elsewhere.pk, "x"]})
    assert response.status_code == 302
    assert b"No car tags to print" in signed_in.get(response["Location"]).content


def test_the_qr_code_opens_the_curb_check_in_with_the_tags_code(school, tagged):
    ana_tag, _ = tagged
    payload = hang_tags.tag_checkin_url(ana_tag)
    parts = urlsplit(payload)
    assert parts.path == reverse("dismissal:curb", args=[school.pk])
    assert parse_qs(parts.query) == {"code": [ana_tag.code]}


def test_the_pdfs_qr_code_is_the_one_made_for_the_tag(signed_in, school, tagged):
    """segno cannot read a QR code back: the image in the PDF must be, module for module,
    the code made from the tag's check-in address."""
    ana_tag, bea_tag = tagged
    response = signed_in.get(url("tags_pdf", school), {"tag": [ana_tag.pk]})
    reader, _text = pdf_text(response)
    assert printed_qr(reader.pages[0]) == made_qr(ana_tag)
    assert printed_qr(reader.pages[0]) != made_qr(bea_tag)


def test_a_long_pdf_is_laid_out_in_parts_and_keeps_every_tag(
    signed_in, school, on_school_day, monkeypatch
):
    monkeypatch.setattr(hang_tags, "TAGS_PER_PART", 2)
    for n in range(5):
        testing.make_student(school, first=f"Kid{n}", last=f"Family{n}")
    services.tags_assign(school)
    reader, text = pdf_text(signed_in.get(url("tags_pdf", school)))
    assert len(reader.pages) == 3  # parts of two tags, a page each, and the last one alone
    assert all(f"Kid{n} F." in text for n in range(5))
    assert printed_qr(reader.pages[2]) == made_qr(CarTag.objects.get(number=5))
