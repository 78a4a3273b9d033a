"""A channel layer in trouble (Redis busy, slow or restarting) costs a page at most a late
refresh: streams keep running, leave their groups, and dead ones do not linger."""

import asyncio
import contextlib
import logging

import pytest
from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
from redis.exceptions import MaxConnectionsError

from lastbell.live import consumers
from lastbell.live.consumers import BoardStream
from lastbell.live.signals import EVENT, group_name
from lastbell.live.tests.support import board_event, cookie_of, hang_up, next_event, started

pytestmark = pytest.mark.django_db(transaction=True)  # the stream reads in its own connection


class LayerThatLosesMessages(InMemoryChannelLayer):
    """Its first `losses` receives fail after taking the message, as a read from Redis that
    times out does."""

    def __init__(self, losses=0, **kwargs):
        super().__init__(**kwargs)
        self.losses = losses

    async def receive(self, channel):
        message = await super().receive(channel)
        if self.losses > 0:
            self.losses -= 1
            raise TimeoutError("Timeout reading from 127.0.0.1:6379")
        return message


class LayerWithFewConnections(InMemoryChannelLayer):
    """Each group change holds one of `connections` for a round trip, and fails when none is
    free, as channels-redis's do on redis-py's pool."""

    def __init__(self, connections=10, **kwargs):
        super().__init__(**kwargs)
        self.connections = connections
        self.in_use = 0

    @contextlib.asynccontextmanager
    async def _connection(self):
        if self.in_use >= self.connections:
            raise MaxConnectionsError("Too many connections")
        self.in_use += 1
        try:
            await asyncio.sleep(0.02)
            yield
        finally:
            self.in_use -= 1

    async def group_add(self, group, channel):
        async with self._connection():
            await super().group_add(group, channel)

    async def group_discard(self, group, channel):
        async with self._connection():
            await super().group_discard(group, channel)


@pytest.fixture
def use_layer(settings):
    def use(backend, **config):
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": backend, "CONFIG": config}}
        channel_layers.backends.pop("default", None)
        return get_channel_layer()

    yield use
    channel_layers.backends.pop("default", None)


def _announce(layer, school):
    return layer.group_send(group_name(school.id), {"type": EVENT, "school": school.id})


def test_a_failed_receive_is_logged_and_the_stream_goes_on(
    use_layer, school, staff, caplog, monkeypatch
):
    layer = use_layer(f"{__name__}.LayerThatLosesMessages", losses=1)
    monkeypatch.setattr(consumers, "RECEIVE_PAUSE_SECONDS", 0.05)
    cookie = cookie_of(staff)

    async def scenario():
        communicator = await started(cookie, school.id)
        await _announce(layer, school)  # lost by the failing read
        first = await communicator.receive_output(2)
        await _announce(layer, school)
        second = await communicator.receive_output(2)
        await hang_up(communicator)
        return first, second

    with caplog.at_level(logging.WARNING, logger="lastbell.live"):
        first, second = async_to_sync(scenario)()
    # The page fetches its board anyway: the failed read may have taken an announcement.
    assert first["body"] == second["body"] == board_event(school.id)
    assert "Live stream did not receive (1): TimeoutError" in caplog.text
    assert not layer.groups


def test_a_stream_whose_layer_keeps_failing_ends_cleanly(
    use_layer, school, staff, caplog, monkeypatch
):
    layer = use_layer(f"{__name__}.LayerThatLosesMessages", losses=consumers.RECEIVE_ATTEMPTS)
    monkeypatch.setattr(consumers, "RECEIVE_PAUSE_SECONDS", 0.05)
    cookie = cookie_of(staff)

    async def scenario():
        communicator = await started(cookie, school.id)
        for _ in range(consumers.RECEIVE_ATTEMPTS):
            await _announce(layer, school)
        chunks = []
        while not chunks or chunks[-1]["more_body"]:
            chunks.append(await communicator.receive_output(2))
        await communicator.wait(1)
        return chunks

    with caplog.at_level(logging.WARNING, logger="lastbell.live"):
        chunks = async_to_sync(scenario)()
    # The browser opens the stream again, and fetches its board when it does (app.js).
    assert chunks[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert not layer.groups


def test_streams_that_close_together_all_leave_their_group(use_layer, school, staff, caplog):
    connections = consumers.GROUP_CHANGES_AT_ONCE + 5
    layer = use_layer(f"{__name__}.LayerWithFewConnections", connections=connections)
    cookie = cookie_of(staff)

    async def scenario():
        streams = [await started(cookie, school.id) for _ in range(2 * connections)]
        assert len(layer.groups[group_name(school.id)]) == len(streams)
        await asyncio.gather(*(hang_up(communicator) for communicator in streams))

    with caplog.at_level(logging.WARNING, logger="lastbell.live"):
        async_to_sync(scenario)()
    assert "uncleanly" not in caplog.text
    assert not layer.groups


def test_the_heartbeat_keeps_a_stream_in_its_group(use_layer, school, staff, monkeypatch):
    # A layer that drops a member a second after it joined, unless it joins again.
    layer = use_layer("channels.layers.InMemoryChannelLayer", group_expiry=1)
    monkeypatch.setattr(BoardStream, "heartbeat_seconds", 0.2)
    cookie = cookie_of(staff)

    async def scenario():
        communicator = await started(cookie, school.id)
        await asyncio.sleep(3)
        await _announce(layer, school)
        event = await next_event(communicator, 2)
        await hang_up(communicator)
        return event

    assert async_to_sync(scenario)()["body"] == board_event(school.id)
