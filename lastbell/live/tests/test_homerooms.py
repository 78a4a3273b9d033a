"""A dismissal step names the homerooms it touched, so classroom screens of other homerooms
need not refresh (signals.board_changed `homerooms`, app.js)."""

import pytest
from django.db import transaction

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.dismissal import services
from lastbell.dismissal.models import Arrival
from lastbell.dismissal.tests import test_views

pytestmark = pytest.mark.django_db(transaction=True)
clock, day, sibling, tag = test_views.clock, test_views.day, test_views.sibling, test_views.tag


def test_a_check_in_names_the_homerooms_of_the_students_called(
    listen, school, staff, day, tag, student, homeroom
):
    ear = listen(school)

    services.check_in(day, actor=staff, method=Arrival.Method.TAG, tag=tag)

    (message,) = ear.heard()
    assert message["homerooms"] == [homeroom.pk]


def test_steps_for_two_homerooms_in_one_transaction_name_both(
    listen, school, staff, day, student, homeroom
):
    room_14 = testing.make_homeroom(school, "Room 14")
    other = testing.make_student(school, first="Ben", last="Okafor", homeroom=room_14)
    loner = testing.make_student(school, first="Cleo", last="Nakamura")  # no homeroom
    ear = listen(school)

    with transaction.atomic():
        services.release_group(day, [student.pk, other.pk, loner.pk], to="walk",
                               label="Walkers", actor=staff)  # fmt: skip

    (message,) = ear.heard()
    assert message["homerooms"] == [homeroom.pk, room_14.pk, None]


def test_a_change_to_the_board_in_the_same_transaction_refreshes_every_screen(
    listen, school, staff, day, tag, student
):
    ear = listen(school)

    with transaction.atomic():
        services.check_in(day, actor=staff, method=Arrival.Method.TAG, tag=tag)
        Absence.objects.create(student=testing.make_student(school), date=day.date)

    (message,) = ear.heard()
    assert "homerooms" not in message  # anything may have changed


def test_the_stream_passes_the_homerooms_on(listen, school, staff, day, tag, student, homeroom):
    from asgiref.sync import async_to_sync, sync_to_async

    from lastbell.live.tests.support import cookie_of, hang_up, next_event, started

    cookie = cookie_of(staff)

    async def scenario():
        communicator = await started(cookie, school.id)
        await sync_to_async(services.check_in)(day, actor=staff, method=Arrival.Method.TAG,
                                                tag=tag)  # fmt: skip
        event = await next_event(communicator)
        await hang_up(communicator)
        return event["body"].decode()

    body = async_to_sync(scenario)()
    assert body == (f'event: board\ndata: {{"school": {school.id}, "homerooms": '
                    f"[{homeroom.pk}]}}\n\n")  # fmt: skip
