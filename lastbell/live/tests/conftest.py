import asyncio
import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer

from lastbell.live.signals import group_name


@pytest.fixture
def in_memory_layer(settings):
    """A fresh in-process channel layer for the test, whatever REDIS_URL says."""
    channel_layers.backends.pop("default", None)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.pop("default", None)
    yield get_channel_layer()
    channel_layers.backends.pop("default", None)


class Listener:
    """A channel in the board groups of some schools, as an open page's stream is."""

    def __init__(self, layer, *schools):
        self.layer = layer
        self.channel = async_to_sync(layer.new_channel)()
        for school in schools:
            async_to_sync(layer.group_add)(group_name(school.id), self.channel)

    def heard(self, wait=0.1) -> list[dict]:
        async def drain():
            got = []
            while True:
                try:
                    got.append(await asyncio.wait_for(self.layer.receive(self.channel), wait))
                except TimeoutError:
                    return got

        return async_to_sync(drain)()


@pytest.fixture
def listen(in_memory_layer):
    return lambda *schools: Listener(in_memory_layer, *schools)


@pytest.fixture
def today(school):
    return school.today()


@pytest.fixture
def absent(today):
    """Record an absence for a student today, as the attendance system does."""
    from lastbell.attendance.models import Absence

    def record(student, day: dt.date | None = None):
        return Absence.objects.create(student=student, date=day or today)

    return record
