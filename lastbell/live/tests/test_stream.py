"""/schools/<id>/live/: a server-sent event stream for those who may see the school."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction

from lastbell import testing
from lastbell.asgi import application
from lastbell.live.consumers import BoardStream
from lastbell.live.tests.support import HttpCommunicator, cookie_of, stream


def _status(user, school_id, method="GET") -> tuple[int, bytes]:
    cookie = cookie_of(user)

    async def ask():
        communicator = stream(cookie, school_id, method)
        response = await communicator.get_response(timeout=3)
        await communicator.wait(1)
        return response["status"], response["body"]

    return async_to_sync(ask)()


def _opening(user, school_id) -> tuple[int, dict, bytes]:
    """Open the stream, read its first chunk, and hang up."""

    cookie = cookie_of(user)

    async def ask():
        communicator = stream(cookie, school_id)
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

    cookie = cookie_of(staff)

    async def scenario():
        communicator = stream(cookie, school.id)
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

    cookie = cookie_of(staff)

    async def scenario():
        communicator = stream(cookie, school.id)
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
