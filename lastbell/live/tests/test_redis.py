"""With REDIS_URL, the announcement goes through channels-redis: every web process hears it."""

import asyncio
import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers, get_channel_layer
from django.db import transaction

from lastbell.attendance.models import Absence
from lastbell.live.signals import group_name


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_it_fans_out_through_redis(settings, school, student):
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    # The configured layer, with a prefix of its own: another run on the same Redis is not heard.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {**settings.CHANNEL_LAYERS["default"]["CONFIG"],
                       "prefix": f"test-{uuid.uuid4().hex}"},
        }
    }  # fmt: skip
    channel_layers.backends.pop("default", None)
    layer = get_channel_layer()
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

    try:
        assert async_to_sync(scenario)() == {"type": "board.changed", "school": school.id}
    finally:
        channel_layers.backends.pop("default", None)
