"""Live regions are rendered once per board state and scope, and shared (plans/regions.py).

These run outside a test transaction: boards and regions are shared only between committed
states (a stamp inside a transaction is None)."""

import pytest
from django.test import Client
from django.urls import reverse

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.attendance.services import AbsenceSpec, absence_record
from lastbell.plans.board import board_cache
from lastbell.plans.regions import region_cache

pytestmark = pytest.mark.django_db(transaction=True)
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def empty_caches():
    region_cache.clear()
    board_cache.clear()
    region_cache.resolutions = 0


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("name", ["plans:dashboard", "plans:roster", "plans:students"])
def test_two_office_screens_share_one_render_until_the_board_changes(
    on_school_day, school, staff, student, name
):
    other_desk = testing.make_staff(school, Role.DISMISSAL_STAFF, first="Kim", last="Desk")
    url = reverse(name, args=[school.id])
    before = region_cache.resolutions

    first = signed_in(staff).get(url, **HX)
    second = signed_in(other_desk).get(url, **HX)

    assert first.status_code == second.status_code == 200
    assert region_cache.resolutions == before + 1
    assert first.content == second.content
    html = first.content.decode()
    assert "Rivera" in html
    # Only the region: no page around it, so nobody's name or CSRF token is shared.
    assert "csrfmiddlewaretoken" not in html and "Dana" not in html and "<html" not in html

    absence_record(student=student, spec=AbsenceSpec(date=on_school_day))
    after = signed_in(other_desk).get(url, **HX).content.decode()

    assert region_cache.resolutions == before + 2
    assert after != html
    assert "bsent" in after  # the absence shows at once: a shared region is never stale


def test_a_teacher_never_gets_the_office_region(on_school_day, school, staff, teacher, student):
    room_14 = testing.make_homeroom(school, "Room 14")
    testing.make_student(school, first="Ben", last="Okafor", homeroom=room_14)
    url = reverse("plans:roster", args=[school.id])

    office = signed_in(staff).get(url, **HX).content.decode()
    theirs = signed_in(teacher).get(url, **HX).content.decode()

    assert "Okafor" in office
    assert "Rivera" in theirs and "Okafor" not in theirs


def test_a_page_load_is_the_whole_page_and_not_shared(on_school_day, school, staff, student):
    r = signed_in(staff).get(reverse("plans:dashboard", args=[school.id]))

    assert "<html" in r.content.decode()
    assert region_cache.resolutions == 0


def test_the_query_is_part_of_the_region(on_school_day, school, staff, student):
    testing.make_student(school, first="Ben", last="Okafor")
    url = reverse("plans:students", args=[school.id])
    client = signed_in(staff)

    one = client.get(url, {"q": "rivera"}, **HX).content.decode()
    other = client.get(url, {"q": "okafor"}, **HX).content.decode()

    assert "Rivera" in one and "Okafor" not in one
    assert "Okafor" in other and "Rivera" not in other
