"""The dismissal screens get their live region pushed down the stream (live/push.py): the
server renders it for the stream's viewer, as the page's own refresh would, and sends it as a
`region` event; other pages keep the `board` event and fetch."""

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.middleware.csrf import _get_new_csrf_string, _unmask_cipher_token
from django.urls import reverse

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.dismissal import services
from lastbell.dismissal.models import Arrival, CarTag, TagStudent
from lastbell.dismissal.tests import test_views
from lastbell.live.tests.support import board_event, cookie_of, hang_up, next_event, started

pytestmark = pytest.mark.django_db(transaction=True)  # the stream reads in its own connection
clock, day, sibling, tag = test_views.clock, test_views.day, test_views.sibling, test_views.tag
SECRET = _get_new_csrf_string()


def _cookie(user, csrf=True):
    (name, value), *_ = cookie_of(user)
    if csrf:
        value += f"; csrftoken={SECRET}".encode()
    return [(name, value)]


def _stream_of(page: str, school, homerooms=None) -> str:
    path = f"/schools/{school.id}/live/?since=&page={page}"
    return path + (f"&homerooms={homerooms}" if homerooms else "")


def _events_after_check_in(user, school, day, tag, staff, page, *, homerooms=None, csrf=True):
    """What the stream of `user`'s page says after a family checks in, or None if nothing."""
    cookie = _cookie(user, csrf)

    async def scenario():
        communicator = await started(cookie, school.id, path=_stream_of(page, school, homerooms))
        await sync_to_async(services.check_in)(day, actor=staff, method=Arrival.Method.TAG,
                                                tag=tag)  # fmt: skip
        try:
            event = await next_event(communicator, timeout=2)
        except TimeoutError:
            event = None
        await hang_up(communicator)
        return event and event["body"].decode()

    return async_to_sync(scenario)()


def _region(body: str) -> str:
    head, _, data = body.partition("\ndata: ")
    assert head == "event: region", body
    payload = json.loads(data)
    assert payload["target"] == "live"
    return payload["html"]


def test_a_classroom_screen_gets_the_called_students_with_its_viewers_token(
    school, teacher, staff, day, tag, student, sibling, homeroom
):
    page = reverse("dismissal:classroom", args=[school.id])
    html = _region(_events_after_check_in(teacher, school, day, tag, staff, page,
                                          homerooms=str(homeroom.pk)))  # fmt: skip
    assert html.startswith('<div id="live"')
    assert "Rivera, Ana" in html or "Ana Rivera" in html
    # The "Sent" form carries a token for this viewer's own CSRF cookie.
    token = html.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert _unmask_cipher_token(token) == SECRET


def test_a_screen_of_other_homerooms_hears_nothing_of_them(school, staff, day, tag, student):
    room_14 = testing.make_homeroom(school, "Room 14")
    other_teacher = testing.make_staff(school, Role.TEACHER, homerooms=[room_14])
    page = reverse("dismissal:classroom", args=[school.id])
    assert _events_after_check_in(other_teacher, school, day, tag, staff, page,
                                  homerooms=str(room_14.pk)) is None  # fmt: skip


def test_a_teacher_sees_only_their_homerooms_even_when_the_page_names_others(
    school, staff, day, tag, student, homeroom
):
    """The homerooms in the stream's address only spare work; what shows is the view's scope."""
    room_14 = testing.make_homeroom(school, "Room 14")
    other_teacher = testing.make_staff(school, Role.TEACHER, homerooms=[room_14])
    page = reverse("dismissal:classroom", args=[school.id])
    html = _region(_events_after_check_in(other_teacher, school, day, tag, staff, page,
                                          homerooms=str(homeroom.pk)))  # fmt: skip
    assert "Rivera" not in html


def test_the_curb_screen_gets_the_queue(school, staff, day, tag, student):
    html = _region(_events_after_check_in(staff, school, day, tag, staff,
                                          reverse("dismissal:curb", args=[school.id])))  # fmt: skip
    assert "Tag 14" in html and "Rivera" in html


def test_a_students_release_page_gets_their_status(school, staff, day, tag, student, homeroom):
    page = reverse("dismissal:release", args=[school.id, student.pk])
    html = _region(_events_after_check_in(staff, school, day, tag, staff, page,
                                          homerooms=str(homeroom.pk)))  # fmt: skip
    assert "Family here" in html and "Nobody has checked in" not in html


@pytest.mark.parametrize("page", ["plans:dashboard", "other school's curb", "http://evil.example/"])
def test_other_pages_hear_board_and_fetch(school, other_school, staff, day, tag, student, page):
    if page == "plans:dashboard":
        page = reverse("plans:dashboard", args=[school.id])
    elif page == "other school's curb":
        page = reverse("dismissal:curb", args=[other_school.id])
    body = _events_after_check_in(staff, school, day, tag, staff, page)
    assert body is not None and body.startswith("event: board\n")


def test_without_a_csrf_cookie_the_page_fetches(school, staff, day, tag, student):
    page = reverse("dismissal:curb", args=[school.id])
    body = _events_after_check_in(staff, school, day, tag, staff, page, csrf=False)
    assert body is not None and body.startswith("event: board\n")


def test_staff_who_lose_the_school_get_board_not_the_region(school, staff, day, tag, student):
    """Access is checked at every render: the page's own fetch then meets the refusal."""
    office = testing.make_staff(school, Role.DISMISSAL_STAFF)
    page = reverse("dismissal:curb", args=[school.id])
    cookie = _cookie(office)

    def revoke_then_check_in():
        office.memberships.all().delete()
        services.check_in(day, actor=staff, method=Arrival.Method.TAG, tag=tag)

    async def scenario():
        communicator = await started(cookie, school.id, path=_stream_of(page, school))
        await sync_to_async(revoke_then_check_in)()
        event = await next_event(communicator, timeout=2)
        await hang_up(communicator)
        return event["body"]

    assert async_to_sync(scenario)() == board_event(school.id)


def test_a_whole_school_screen_is_pushed_at_most_once_a_spell(school, staff, day, tag, student,
                                                              monkeypatch):  # fmt: skip
    """The curb changes at every step of the school; after a push the next waits its spell
    (PUSH_EVERY_SECONDS, here made long), while a classroom's would go at once."""
    from lastbell.live import consumers

    monkeypatch.setitem(consumers.PUSH_EVERY_SECONDS, "school", 5.0)
    ben = testing.make_student(school, first="Ben", last="Okafor")
    other_tag = CarTag.objects.create(school=school, number=15)
    TagStudent.objects.create(tag=other_tag, student=ben)
    cookie = _cookie(staff)
    page = reverse("dismissal:curb", args=[school.id])

    async def scenario():
        communicator = await started(cookie, school.id, path=_stream_of(page, school))
        await sync_to_async(services.check_in)(day, actor=staff, method=Arrival.Method.TAG,
                                                tag=tag)  # fmt: skip
        first = await next_event(communicator, timeout=2)
        await sync_to_async(services.check_in)(day, actor=staff, method=Arrival.Method.TAG,
                                                tag=other_tag)  # fmt: skip
        try:
            second = await next_event(communicator, timeout=1.5)
        except TimeoutError:
            second = None
        await hang_up(communicator)
        return first["body"].decode(), second

    first, second = async_to_sync(scenario)()
    assert "Tag 14" in _region(first) and "Tag 15" not in _region(first)
    assert second is None  # Ben's family shows at the end of the spell, not at once
