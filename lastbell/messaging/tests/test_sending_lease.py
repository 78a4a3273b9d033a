"""A message whose sender died mid-send is not stuck: it is due again after the lease."""

import datetime as dt

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from lastbell.messaging import services
from lastbell.messaging.models import Status
from lastbell.messaging.services import deliver_due
from lastbell.messaging.tests.support import queue, smtp_server

NOON = dt.datetime(2026, 11, 18, 20, 0, tzinfo=dt.UTC)


def test_it_sends_again_after_a_dead_workers_lease(db, smtp_port, time_machine):
    time_machine.move_to(NOON, tick=False)
    message = queue()
    # A worker takes the message, then is killed before it can record anything.
    assert services._claim(timezone.now(), first=False) == message

    with smtp_server(smtp_port) as inbox:
        assert deliver_due() == {}  # maybe still being sent by that worker: hands off
        time_machine.move_to(NOON + dt.timedelta(minutes=4, seconds=59), tick=False)
        assert deliver_due() == {}
        message.refresh_from_db()
        assert message.status == Status.SENDING

        time_machine.move_to(NOON + services.SENDING_LEASE, tick=False)
        assert deliver_due() == {"sent": 1}

    assert len(inbox.received) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 2)


def test_it_books_a_run_for_when_the_lease_ends(db, time_machine):
    time_machine.move_to(NOON, tick=False)
    queue()
    services._claim(timezone.now(), first=False)

    deliver_due()  # finds only the other worker's message

    run_after = DBTaskResult.objects.filter(
        task_path="lastbell.messaging.tasks.deliver_messages"
    ).values_list("run_after", flat=True)
    assert list(run_after) == [NOON + services.SENDING_LEASE]
