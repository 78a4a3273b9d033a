"""With REDIS_URL, the announcement goes through channels-redis: every web process hears it."""

import asyncio
import logging
import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers, get_channel_layer
from django.db import transaction

from lastbell.attendance.models import Absence
from lastbell.live import consumers
from lastbell.live.consumers import BoardStream
from lastbell.live.signals import group_name
from lastbell.live.tests.support import cookie_of, hang_up, started

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_layer(settings):
    """The configured layer, with a prefix of its own: another run on the same Redis is not
    heard. `redis_layer(max_connections=N)` gives it a smaller pool."""
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]

    def configure(**host):
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {**config, "prefix": f"test-{uuid.uuid4().hex}",
                           "hosts": [{**config["hosts"][0], **host}]},
            }
        }  # fmt: skip
        channel_layers.backends.pop("default", None)
        return get_channel_layer()

    yield configure
    channel_layers.backends.pop("default", None)


def test_it_fans_out_through_redis(redis_layer, school, student):
    layer = redis_layer()
    group = group_name(school.id)

    def record_absence():
        with transaction.atomic():
            Absence.objects.create(student=student, date=school.today())

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        try:
            await sync_to_async(record_absence)()
            return await asyncio.wait_for(layer.receive(channel), 5)
        finally:
            await layer.group_discard(group, channel)
            await layer.flush()

    assert async_to_sync(scenario)() == {"type": "board.changed", "school": school.id}


def test_streams_that_close_together_all_leave_their_group(redis_layer, school, staff, caplog):
    # redis-py fails a command when its pool is used up: streams take turns instead.
    connections = consumers.GROUP_CHANGES_AT_ONCE + 5
    layer = redis_layer(max_connections=connections)
    cookie = cookie_of(staff)
    members = layer._group_key(group_name(school.id))

    async def scenario():
        streams = [await started(cookie, school.id) for _ in range(2 * connections)]
        redis = layer.connection(0)
        opened = await redis.zcard(members)
        await asyncio.gather(*(hang_up(communicator) for communicator in streams))
        left = await redis.zcard(members)
        await layer.flush()
        return len(streams), opened, left

    with caplog.at_level(logging.WARNING, logger="lastbell.live"):
        streams, opened, left = async_to_sync(scenario)()
    assert opened == streams
    assert left == 0
    assert "uncleanly" not in caplog.text


def test_a_stream_that_died_without_leaving_is_forgotten_within_minutes(settings):
    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    assert config["group_expiry"] <= 300
    # Live streams join again with every heartbeat, several times within it.
    assert BoardStream.heartbeat_seconds * 3 <= config["group_expiry"]
