"""On the in-memory layer the web process reads the board stamps of the schools it streams
(live/watcher.py): a write by another process reaches the pages, and a write by this one is
announced by its commit alone."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.live import watcher
from lastbell.live.tests.support import board_event, cookie_of, hang_up, started

pytestmark = pytest.mark.django_db(transaction=True)  # the stream reads in its own connection

# Long enough for the watcher to have read the stamps once more.
A_TICK = watcher.INTERVAL * 1.2


def _write_here(student):
    """A write in this process: its commit announces it."""
    with transaction.atomic():
        Absence.objects.create(student=student, date=student.school.today())


def _write_elsewhere(student):
    """A write as the task worker makes it: only the board stamp moves here (bulk_create sends
    no signal, and the worker's announcement could not reach this process's layer anyway)."""
    with transaction.atomic():
        Absence.objects.bulk_create([Absence(student=student, date=student.school.today())])


def test_a_write_that_announces_nothing_still_reaches_the_stream(
    in_memory_layer, school, other_school, staff, student
):
    cookie = cookie_of(staff)
    elsewhere = testing.make_student(other_school)

    async def scenario():
        communicator = await started(cookie, school.id)
        await asyncio.sleep(A_TICK)
        await sync_to_async(_write_elsewhere)(elsewhere)
        assert await communicator.receive_nothing(2.5)  # another school's write: nothing
        await sync_to_async(_write_elsewhere)(student)
        event = await communicator.receive_output(3)
        await hang_up(communicator)
        return event

    assert async_to_sync(scenario)()["body"] == board_event(school.id)


def test_a_write_made_here_is_announced_once(in_memory_layer, school, staff, student):
    cookie = cookie_of(staff)

    async def scenario():
        communicator = await started(cookie, school.id)
        await asyncio.sleep(A_TICK)
        await sync_to_async(_write_here)(student)
        event = await communicator.receive_output(2)
        # The watcher sees the stamp move, and knows this process announced it.
        again = not await communicator.receive_nothing(3 * watcher.INTERVAL)
        await hang_up(communicator)
        return event, again

    event, again = async_to_sync(scenario)()
    assert event["body"] == board_event(school.id)
    assert not again


def test_a_write_elsewhere_just_after_one_made_here_is_announced_too(
    in_memory_layer, school, staff, student
):
    cookie = cookie_of(staff)
    classmate = testing.make_student(school)

    async def scenario():
        communicator = await started(cookie, school.id)
        await asyncio.sleep(A_TICK)
        await sync_to_async(_write_here)(student)
        first = await communicator.receive_output(2)
        # Before the watcher's next read: it must not take this for the write made here.
        await sync_to_async(_write_elsewhere)(classmate)
        second = await communicator.receive_output(3 * watcher.INTERVAL)
        await hang_up(communicator)
        return first, second

    first, second = async_to_sync(scenario)()
    assert first["body"] == second["body"] == board_event(school.id)
