"""Redis down: pages and writes keep working (a write's live event is sent after commit, and
one that cannot be sent neither fails the request nor undoes it), and live streams end
cleanly, or are refused, so that the page falls back to refreshing every 30 s (app.js).

Redis is never stopped here (others share it): the layer points at a port where nothing
listens, or at a TCP proxy to the real Redis that the test kills."""

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer
from django.db import transaction
from django.urls import reverse

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.dismissal.models import Arrival, CarTag, CustodyEvent, TagStudent
from lastbell.live import consumers
from lastbell.live.tests.support import cookie_of, started, stream
from lastbell.plans.models import PlanChange

pytestmark = pytest.mark.django_db(transaction=True)  # events go out on a real commit

PACIFIC = dt.timezone(dt.timedelta(hours=-8))
NOT_SENT = "Live update not sent (open pages refresh on their own)"
QUICK = 5.0  # seconds: a write is not held up waiting for Redis (0.3–0.4 s here)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def use_redis_at(settings, address: str):
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": address}], "prefix": f"test-{uuid.uuid4().hex}"},
    }}  # fmt: skip
    channel_layers.backends.pop("default", None)
    return get_channel_layer()


@pytest.fixture
def redis_down(settings):
    """The configured Redis does not answer: nothing listens on its port."""
    layer = use_redis_at(settings, f"redis://127.0.0.1:{free_port()}/0")
    yield layer
    channel_layers.backends.pop("default", None)


@pytest.fixture
def at_pickup(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 18, 14, 50, tzinfo=PACIFIC), tick=False)


def timed(request):
    started_at = time.monotonic()
    response = request()
    return response, time.monotonic() - started_at


def test_check_in_release_and_plan_change_go_through_without_redis(
    redis_down, at_pickup, client, school, student, guardian, staff, caplog
):
    school.parent_access = True
    school.save()
    tag = CarTag.objects.create(school=school, number=14)
    TagStudent.objects.create(tag=tag, student=student)
    family = testing.make_guardian(student, first="Rosa", last="Lopez")
    caplog.set_level(logging.WARNING, logger="lastbell.live")

    # A guardian's "I'm here" (after a first page: the first request of a process is slow).
    client.force_login(family.user)
    assert client.get(reverse("family:home"), follow=True).status_code == 200
    response, took = timed(lambda: client.post(reverse("family:check_in", args=[school.pk])))
    assert response.status_code == 302 and took < QUICK
    assert CustodyEvent.objects.filter(student=student, kind="checked_in").exists()
    assert Arrival.objects.filter(guardian=family).exists()

    # The release at the door.
    client.force_login(staff)
    release = reverse("dismissal:release", args=[school.pk, student.pk])
    response, took = timed(lambda: client.post(
        release, {"person": f"guardian:{family.pk}", "verification": "photo_id"}))  # fmt: skip
    assert response.status_code == 302 and took < QUICK
    assert CustodyEvent.objects.filter(student=student, kind="released").exists()

    # A plan change for tomorrow.
    change = reverse("plans:change_new", args=[school.pk, student.pk])
    response, took = timed(
        lambda: client.post(
            change, {"starts_on": "2026-11-19", "plan_type": "walk", "note": "with her brother"}
        )
    )
    assert response.status_code == 302 and took < QUICK
    assert PlanChange.objects.filter(student=student).exists()

    # Pages still show it all.
    page = client.get(reverse("dismissal:release", args=[school.pk, student.pk]))
    assert page.status_code == 200
    assert client.get(reverse("plans:dashboard", args=[school.pk])).status_code == 200
    # Each write tried to announce itself, after its commit, and said why it could not.
    assert caplog.text.count(NOT_SENT) >= 3


def test_a_write_in_an_async_server_is_not_held_up_either(redis_down, school, student, caplog):
    """Under the ASGI server a write's event goes to the serving loop; it fails there."""

    async def scenario():
        from lastbell.live import signals

        signals.set_serving_loop(asyncio.get_running_loop())
        try:
            from asgiref.sync import sync_to_async

            def write():
                with transaction.atomic():
                    Absence.objects.create(student=student, date=school.today())

            await sync_to_async(write)()
            await asyncio.sleep(0.5)  # the send fails on this loop, after the commit
        finally:
            signals.set_serving_loop(None)

    with caplog.at_level(logging.WARNING, logger="lastbell.live"):
        async_to_sync(scenario)()
    assert Absence.objects.filter(student=student).count() == 1
    assert NOT_SENT in caplog.text


def test_a_stream_is_refused_in_words_so_the_page_refreshes_instead(redis_down, school, staff):
    cookie = cookie_of(staff)

    async def scenario():
        communicator = stream(cookie, school.id)
        return await communicator.get_response(timeout=5)

    response = async_to_sync(scenario)()
    # Not 200: EventSource gives up (readyState CLOSED) and app.js polls every 30 s.
    assert response["status"] == 503
    assert response["body"] == b"Live updates are unavailable.\n"


class Proxy:
    """A TCP proxy to Redis that can be killed: every connection through it is cut, and new
    ones are refused, as when the Redis server goes away."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)

    def kill(self):
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


@pytest.mark.redis
def test_a_stream_ends_cleanly_when_redis_goes_away_and_writes_go_on(
    settings, monkeypatch, school, student, staff, caplog
):
    real = urlsplit(os.environ["REDIS_URL"])
    proxy = Proxy((real.hostname or "127.0.0.1", real.port or 6379))
    use_redis_at(settings, f"redis://127.0.0.1:{proxy.port}{real.path or '/0'}")
    monkeypatch.setattr(consumers, "RECEIVE_PAUSE_SECONDS", 0.05)
    cookie = cookie_of(staff)

    def write():
        with transaction.atomic():
            Absence.objects.create(student=student, date=school.today())

    async def scenario():
        from asgiref.sync import sync_to_async

        communicator = await started(cookie, school.id)
        await sync_to_async(write)()  # heard through Redis
        heard = await communicator.receive_output(5)
        proxy.kill()
        chunks = []
        async with asyncio.timeout(10):
            while not chunks or chunks[-1].get("more_body", False):
                chunks.append(await communicator.receive_output(10))
        await communicator.wait(2)
        await sync_to_async(Absence.objects.all().delete)()
        await sync_to_async(write)()  # Redis is gone: the write still goes through
        again = stream(cookie, school.id)
        refused = await again.get_response(timeout=5)
        return heard, chunks, refused

    try:
        with caplog.at_level(logging.WARNING, logger="lastbell.live"):
            heard, chunks, refused = async_to_sync(scenario)()
    finally:
        proxy.kill()
        channel_layers.backends.pop("default", None)
    assert heard["body"].startswith(b"event: board")
    # The stream ended: the browser opens it again, is refused, and polls (app.js).
    assert chunks[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert "Live stream did not receive" in caplog.text
    assert Absence.objects.filter(student=student).count() == 1
    assert NOT_SENT in caplog.text
    assert refused["status"] == 503
