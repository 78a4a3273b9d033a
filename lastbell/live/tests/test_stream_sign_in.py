"""The live stream asks what a page would: a session that still owes its two-step code, or
that has been idle too long, gets no stream (accounts/signin.py)."""

import datetime as dt

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from lastbell import testing
from lastbell.live.tests.support import stream


def _password_cookie(user):
    """A session signed in through the sign-in page, as a browser's cookie."""
    client = Client()
    r = client.post(reverse("accounts:login"), {"username": user.email,
                                               "password": testing.PASSWORD})  # fmt: skip
    assert r.status_code == 302
    client.get(reverse("schools:home"))
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={value}".encode())]


def _status(cookie, school_id) -> int:
    """The status the stream starts with; then the browser hangs up."""

    async def ask():
        communicator = stream(cookie, school_id)
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(3)
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(1)
        return start["status"]

    return async_to_sync(ask)()


@pytest.mark.django_db(transaction=True)  # the stream reads in its own connection
def test_a_session_that_owes_its_code_gets_no_stream(in_memory_layer, school, staff):
    TOTPDevice.objects.create(user=staff, name="App", confirmed=True)
    assert _status(_password_cookie(staff), school.id) == 404


@pytest.mark.django_db(transaction=True)
def test_a_session_signed_in_with_its_password_alone_gets_one(in_memory_layer, school, staff):
    assert _status(_password_cookie(staff), school.id) == 200


@pytest.mark.django_db(transaction=True)
def test_an_idle_session_gets_no_stream(in_memory_layer, school, staff, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 18, 17, 0, tzinfo=dt.UTC), tick=False)
    cookie = _password_cookie(staff)
    time_machine.shift(dt.timedelta(minutes=61))

    assert _status(cookie, school.id) == 404


@pytest.mark.django_db(transaction=True)
def test_a_stream_ends_when_its_session_does(in_memory_layer, school, staff, monkeypatch):
    from django.contrib.sessions.models import Session

    from lastbell.accounts import signin
    from lastbell.live.consumers import BoardStream

    monkeypatch.setattr(BoardStream, "heartbeat_seconds", 0.05)
    monkeypatch.setattr(signin, "TOUCH_SECONDS", 0)  # look at the session at every beat
    cookie = _password_cookie(staff)

    async def scenario():
        communicator = stream(cookie, school.id)
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(3)
        await communicator.receive_output(3)  # retry:
        await communicator.receive_output(3)  # a keepalive: the session is good
        await sync_to_async(Session.objects.all().delete)()  # signed out elsewhere
        chunks = []
        while len(chunks) < 5 and (not chunks or chunks[-1].get("more_body")):
            chunks.append(await communicator.receive_output(3))
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(1)
        return start["status"], chunks

    status, chunks = async_to_sync(scenario)()
    assert status == 200
    last = [c for c in chunks if not c.get("more_body")]
    assert last and last[0]["body"] == b""
    assert not in_memory_layer.groups
