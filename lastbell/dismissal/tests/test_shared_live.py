"""A live refresh of a dismissal screen is rendered once per state of the day and scope and
shared by the screens that ask (dismissal/views.py `shared_live`). Outside a test transaction:
only committed states are shared."""

import re

import pytest
from django.test import Client

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.dismissal.models import Arrival, CustodyEvent
from lastbell.dismissal.tests import test_views
from lastbell.dismissal.tests.test_views import check_in, url
from lastbell.plans.board import board_cache
from lastbell.plans.regions import region_cache

pytestmark = pytest.mark.django_db(transaction=True)
LIVE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "live"}
# The screens' fixtures: a school day at 2:50 pm, a family of two with car tag 14.
clock, day, sibling, tag = test_views.clock, test_views.day, test_views.sibling, test_views.tag


@pytest.fixture(autouse=True)
def empty_caches():
    region_cache.clear()
    board_cache.clear()
    region_cache.resolutions = 0


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def token_in(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_curb_screens_share_one_render_until_a_family_checks_in(school, staff, day, tag, student):
    desk = testing.make_staff(school, Role.DISMISSAL_STAFF, first="Kim", last="Desk")
    one, two = signed_in(staff), signed_in(desk)

    first = one.get(url("curb", school), **LIVE).content.decode()
    second = two.get(url("curb", school), **LIVE).content.decode()

    assert region_cache.resolutions == 1
    assert "Rivera" not in first  # nobody called yet
    assert "<html" not in first  # only the live part
    check_in(day, tag, staff)
    after = two.get(url("curb", school), **LIVE).content.decode()
    assert region_cache.resolutions == 2
    assert "Rivera" in after and after != second


def test_each_screen_gets_its_own_csrf_token_and_can_post_with_it(
    school, staff, teacher, day, tag, student, homeroom
):
    colleague = testing.make_staff(school, Role.TEACHER, homerooms=[homeroom], first="Ray",
                                   last="Colleague")  # fmt: skip
    check_in(day, tag, staff)
    mine, theirs = signed_in(teacher), signed_in(colleague)
    path = url("classroom", school, homeroom=homeroom.pk)

    a = mine.get(path, **LIVE).content.decode()
    b = theirs.get(path, **LIVE).content.decode()

    assert region_cache.resolutions == 1  # same scope: one render
    assert "Rivera" in a
    # Each got a token its own session accepts: the shared HTML is not the first viewer's.
    theirs_client = Client(enforce_csrf_checks=True)
    theirs_client.force_login(colleague)
    theirs_client.cookies = theirs.cookies
    page = theirs_client.get(path, **LIVE).content.decode()
    response = theirs_client.post(url("sent", school), {
        "csrfmiddlewaretoken": token_in(page), "student": [student.pk],
        "homeroom": homeroom.pk,
    })  # fmt: skip
    assert response.status_code == 302
    assert CustodyEvent.objects.filter(student=student, kind=CustodyEvent.Kind.SENT).exists()
    assert token_in(a) != token_in(b)


def test_a_teacher_is_refused_the_curb_even_as_a_live_refresh(school, staff, teacher, day):
    signed_in(staff).get(url("curb", school), **LIVE)  # the office's render is cached

    response = signed_in(teacher).get(url("curb", school), **LIVE)

    assert response.status_code == 403


def test_another_schools_staff_get_nothing(school, staff, other_staff, day):
    signed_in(staff).get(url("overview", school), **LIVE)

    response = signed_in(other_staff).get(url("overview", school), **LIVE)

    assert response.status_code == 404


def test_a_page_load_is_never_shared(school, staff, day):
    response = signed_in(staff).get(url("curb", school))

    assert "<html" in response.content.decode()
    assert region_cache.resolutions == 0
    assert Arrival.objects.count() == 0


def test_a_step_that_commits_after_a_later_one_is_not_missed(school, staff, day, student, clock):
    """On PostgreSQL ids are taken before commit: a step with a lower id can commit after one
    with a higher id. A screen asking between the two must not keep the first state."""
    walker = testing.make_student(school, first="Wes", last="Walker")
    client = signed_in(staff)

    def released_count():
        html = client.get(url("overview", school), **LIVE).content.decode()
        return int(re.search(r'data-testid="released">(\d+)<', html).group(1))

    def released(pupil, pk):
        CustodyEvent.objects.bulk_create([CustodyEvent(
            pk=pk, day=day, student=pupil, kind=CustodyEvent.Kind.RELEASED, at=clock(14, 55),
            to="walk", to_label="Walkers")])  # fmt: skip

    assert released_count() == 0
    released(walker, 900_000)  # commits first, with the higher id
    assert released_count() == 1
    released(student, 800_000)  # took its id earlier, commits now
    assert released_count() == 2
