"""A stream passes a board event on without waiting for the process's thread-sensitive
thread: at dismissal that one thread was busy, and events queued behind it for seconds."""

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from lastbell.live.signals import EVENT, group_name
from lastbell.live.tests.support import board_event, cookie_of, hang_up, started

pytestmark = pytest.mark.django_db(transaction=True)  # the stream reads in its own connection


def test_a_board_event_does_not_wait_for_the_busy_sync_thread(in_memory_layer, school, staff):
    cookie = cookie_of(staff)

    async def scenario():
        communicator = await started(cookie, school.id)
        # Something slow holds the thread every thread-sensitive call of the process uses.
        busy = asyncio.ensure_future(sync_to_async(time.sleep)(2))
        await asyncio.sleep(0.1)
        sent = time.monotonic()
        await in_memory_layer.group_send(group_name(school.id),
                                         {"type": EVENT, "school": school.id})  # fmt: skip
        event = await communicator.receive_output(1.5)
        took = time.monotonic() - sent
        await busy
        await hang_up(communicator)
        return event, took

    event, took = async_to_sync(scenario)()

    assert event["body"] == board_event(school.id)
    assert took < 1.0
