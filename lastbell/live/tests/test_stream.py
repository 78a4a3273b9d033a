"""/schools/<id>/live/: a server-sent event stream for those who may see the school."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.db import transaction
from django.test import Client

from lastbell import testing
from lastbell.asgi import application
from lastbell.live.consumers import BoardStream


class HttpCommunicator(ApplicationCommunicator):
    """channels.testing.HttpCommunicator, which cannot be imported without daphne."""

    def __init__(self, app, method, path, headers=()):
        scope = {"type": "http", "http_version": "1.1", "method": method, "path": path,
                 "query_string": b"", "headers": list(headers)}  # fmt: skip
        super().__init__(app, scope)

    async def get_response(self, timeout=1):
        await self.send_input({"type": "http.request", "body": b""})
        start = await self.receive_output(timeout)
        body = b""
        while True:
            chunk = await self.receive_output(timeout)
            body += chunk["body"]
            if not chunk.get("more_body"):
                return {"status": start["status"], "headers": start["headers"], "body": body}


def _cookie(user) -> list[tuple[bytes, bytes]]:
    if user is None:
        return []
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode())]


def _open(cookie, school_id, method="GET"):
    return HttpCommunicator(application, method, f"/schools/{school_id}/live/", headers=cookie)


def _status(user, school_id, method="GET") -> tuple[int, bytes]:
    cookie = _cookie(user)

    async def ask():
        communicator = _open(cookie, school_id, method)
        response = await communicator.get_response(timeout=3)
        await communicator.wait(1)
        return response["status"], response["body"]

    return async_to_sync(ask)()


def _opening(user, school_id) -> tuple[int, dict, bytes]:
    """Open the stream, read its first chunk, and hang up."""

    cookie = _cookie(user)

    async def ask():
        communicator = _open(cookie, school_id)
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(3)
        first = await communicator.receive_output(3)
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(1)
        return start["status"], dict(start["headers"]), first["body"]

    return async_to_sync(ask)()


@pytest.mark.django_db(transaction=True)
def test_it_streams_a_board_event_after_an_absence_commits(in_memory_layer, school, staff, student):
    from lastbell.attendance.models import Absence

    def record_absence():
        with transaction.atomic():
            Absence.objects.create(student=student, date=school.today())

    cookie = _cookie(staff)

    async def scenario():
        communicator = _open(cookie, school.id)
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(3)
        retry = await communicator.receive_output(3)
        await sync_to_async(record_absence)()
        event = await communicator.receive_output(2)
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(1)
        return start, retry, event

    start, retry, event = async_to_sync(scenario)()
    assert start["status"] == 200
    assert dict(start["headers"])[b"Content-Type"].startswith(b"text/event-stream")
    assert retry["body"] == b"retry: 3000\n\n" and retry["more_body"]
    assert event["body"] == f'event: board\ndata: {{"school": {school.id}}}\n\n'.encode()
    assert event["more_body"]
    # The stream left its group when the browser went away.
    assert not in_memory_layer.groups


@pytest.mark.django_db(transaction=True)  # the stream reads in its own connection
def test_it_sends_a_heartbeat(in_memory_layer, school, staff, monkeypatch):
    monkeypatch.setattr(BoardStream, "heartbeat_seconds", 0.05)

    cookie = _cookie(staff)

    async def scenario():
        communicator = _open(cookie, school.id)
        await communicator.send_input({"type": "http.request", "body": b""})
        await communicator.receive_output(3)
        await communicator.receive_output(3)
        beat = await communicator.receive_output(1)
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(1)
        return beat

    assert async_to_sync(scenario)()["body"] == b": keepalive\n\n"


@pytest.mark.django_db(transaction=True)  # the stream reads in its own connection
@pytest.mark.parametrize("who", ["staff", "teacher", "district_admin"])
def test_it_streams_to_those_who_see_the_school(request, in_memory_layer, school, who):
    status, headers, first = _opening(request.getfixturevalue(who), school.id)
    assert status == 200
    assert first == b"retry: 3000\n\n"


@pytest.mark.django_db(transaction=True)  # the stream reads in its own connection
def test_it_refuses_staff_of_another_school(in_memory_layer, school, other_staff):
    assert _status(other_staff, school.id) == (404, b"No such school.\n")
    assert not in_memory_layer.groups


@pytest.mark.django_db(transaction=True)  # the stream reads in its own connection
def test_it_refuses_anonymous_visitors(in_memory_layer, school):
    assert _status(None, school.id) == (404, b"No such school.\n")


@pytest.mark.django_db(transaction=True)  # the stream reads in its own connection
def test_it_refuses_guardians(in_memory_layer, school, guardian):
    assert _status(guardian.user, school.id)[0] == 404


@pytest.mark.django_db(transaction=True)  # the stream reads in its own connection
def test_it_refuses_other_methods(in_memory_layer, school, staff):
    assert _status(staff, school.id, "POST")[0] == 405


@pytest.mark.django_db(transaction=True)  # the stream reads in its own connection
def test_other_paths_still_reach_django(school, staff):
    async def ask():
        communicator = HttpCommunicator(
            application, "GET", "/accounts/sign-in/", headers=[(b"host", b"localhost")]
        )
        return await communicator.get_response(timeout=5)

    response = async_to_sync(ask)()
    assert response["status"] == 200
    assert b"Sign in" in response["body"]


def test_a_new_school_id_gets_no_stream_either(transactional_db, in_memory_layer, staff):
    assert _status(staff, 999_999)[0] == 404


def test_a_teacher_of_another_school_is_refused(
    transactional_db, in_memory_layer, school, other_school
):
    teacher = testing.make_staff(other_school, "teacher")
    assert _status(teacher, school.id)[0] == 404


@pytest.mark.django_db(transaction=True)
def test_a_write_that_announces_nothing_still_reaches_the_stream(
    in_memory_layer, school, other_school, staff, student
):
    """The task worker's writes cannot reach the web process's in-memory layer; the stamps
    they change in the database do (live/watcher.py)."""
    from lastbell.attendance.models import Absence

    def quiet_write(who):
        with transaction.atomic():  # bulk_create sends no signal: only the stamp moves
            Absence.objects.bulk_create([Absence(student=who, date=school.today())])

    cookie = _cookie(staff)
    elsewhere = testing.make_student(other_school)

    async def scenario():
        communicator = _open(cookie, school.id)
        await communicator.send_input({"type": "http.request", "body": b""})
        await communicator.receive_output(3)  # headers
        await communicator.receive_output(3)  # retry
        await asyncio.sleep(1.2)  # the watcher has read the stamps once
        await sync_to_async(quiet_write)(elsewhere)
        assert await communicator.receive_nothing(2.5)  # another school's write: nothing
        await sync_to_async(quiet_write)(student)
        event = await communicator.receive_output(3)
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(1)
        return event

    event = async_to_sync(scenario)()
    assert event["body"] == f'event: board\ndata: {{"school": {school.id}}}\n\n'.encode()
