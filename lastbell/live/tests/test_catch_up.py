"""A page notes the version of what it shows before it reads it (live.version, in its
data-live address), and its stream, once listening, announces a change made in between: it
was announced before the stream heard anything."""

import html
import re

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.urls import reverse

from lastbell import live
from lastbell.attendance.models import Absence
from lastbell.live.tests.support import board_event, cookie_of, hang_up, started

pytestmark = pytest.mark.django_db(transaction=True)  # the stream reads in its own connection


def stream_path(user, school) -> str:
    client = Client()
    client.force_login(user)
    page = client.get(reverse("plans:dashboard", args=[school.id])).content.decode()
    return html.unescape(re.search(r'data-live="([^"]+)"', page).group(1))


def first_event(user, school, path, change=None) -> bytes | None:
    cookie = cookie_of(user)

    async def scenario():
        communicator = await started(cookie, school.id, path)
        got = None
        if not await communicator.receive_nothing(0.5):
            got = (await communicator.receive_output(1))["body"]
        await hang_up(communicator)
        return got

    if change is not None:
        change()
    return async_to_sync(scenario)()


def test_a_change_between_the_page_and_its_stream_is_announced(
    in_memory_layer, school, staff, student
):
    path = stream_path(staff, school)
    assert "?since=" in path

    def absent():  # committed after the page read the board, before its stream listened
        Absence.objects.create(student=student, date=school.today())

    assert first_event(staff, school, path, change=absent) == board_event(school.id)


def test_nothing_is_announced_when_nothing_changed(in_memory_layer, school, staff, student):
    path = stream_path(staff, school)

    assert first_event(staff, school, path) is None


def test_a_stream_without_a_version_announces_nothing(in_memory_layer, school, staff, student):
    Absence.objects.create(student=student, date=school.today())

    assert first_event(staff, school, f"/schools/{school.id}/live/") is None


def test_a_dismissal_step_changes_the_version(school, staff, student, on_school_day):
    from lastbell.dismissal import services
    from lastbell.dismissal.models import CustodyEvent

    day = services.day_of(school)
    before = live.version(school)
    CustodyEvent.objects.bulk_create([CustodyEvent(
        day=day, student=student, kind=CustodyEvent.Kind.SENT,
        at=services.dismissal_moment(day))])  # fmt: skip

    assert live.version(school) != before
