"""The scale-out configuration really talks to PostgreSQL and Redis when they are set."""

import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction

from lastbell.plans.board import day_board
from lastbell.schools.models import School
from lastbell.testing import make_district, make_school, make_student


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_runs_the_board_on_postgresql(on_school_day):
    assert connection.vendor == "postgresql"
    school = make_school(make_district())
    make_student(school, last="Nguyen")
    board = day_board(school, on_school_day)
    assert [row.last_name for row in board.rows] == ["Nguyen"]
    assert board.missing_count == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_claims_rows_with_skip_locked():
    # The task queue and concurrent writers rely on SKIP LOCKED, which SQLite lacks.
    assert connection.features.has_select_for_update_skip_locked
    school = make_school(make_district())
    with transaction.atomic():
        locked = list(School.objects.select_for_update(skip_locked=True).filter(pk=school.pk))
    assert locked == [school]


@pytest.mark.redis
def test_it_fans_out_through_redis():
    layer = get_channel_layer()
    assert type(layer).__name__ == "RedisChannelLayer"
    group = f"test-{uuid.uuid4().hex}"

    async def round_trip():
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        await layer.group_send(group, {"type": "board.changed", "school": 1})
        message = await layer.receive(channel)
        await layer.group_discard(group, channel)
        return message

    assert async_to_sync(round_trip)() == {"type": "board.changed", "school": 1}


def test_it_fans_out_in_memory_without_redis(settings):
    # The embedded default needs no service: the same round trip in process.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from channels.layers import channel_layers

    channel_layers.backends.pop("default", None)
    layer = get_channel_layer()

    async def round_trip():
        channel = await layer.new_channel()
        await layer.group_add("g", channel)
        await layer.group_send("g", {"type": "board.changed"})
        return await layer.receive(channel)

    try:
        assert async_to_sync(round_trip)() == {"type": "board.changed"}
    finally:
        channel_layers.backends.pop("default", None)
