"""The mail server is down when a message is queued: the task worker retries it on its own.

Runs the real django-tasks-db worker over committed transactions, as in production.
"""

import datetime as dt

import pytest
from django_tasks_db.models import DBTaskResult, get_date_max

from lastbell.messaging.models import Message, Status
from lastbell.messaging.tests.support import queue, run_worker, smtp_server

NOON = dt.datetime(2026, 11, 18, 20, 0, tzinfo=dt.UTC)


def _waiting_tasks() -> list:
    """When each delivery task not yet run may run: None for "as soon as possible"."""
    tasks = DBTaskResult.objects.filter(
        task_path="lastbell.messaging.tasks.deliver_messages", status="READY"
    )
    return sorted(
        (None if at == get_date_max() else at for at in tasks.values_list("run_after", flat=True)),
        key=lambda at: at or dt.datetime.min.replace(tzinfo=dt.UTC),
    )


@pytest.mark.django_db(transaction=True)
def test_it_retries_by_itself_once_the_mail_server_is_back(smtp_port, time_machine):
    time_machine.move_to(NOON, tick=False)
    message = queue(subject="No plan yet for Ana", body="Please tell us how Ana gets home.")
    assert _waiting_tasks() == [None]  # enqueued on commit, to run at once

    run_worker()  # nothing listens on smtp_port

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.QUEUED, 1)
    assert "Could not reach the mail server" in message.last_error
    assert message.next_attempt_at == NOON + dt.timedelta(minutes=1)
    # The retry is already booked with the worker: no new message is needed to trigger it.
    assert message.next_attempt_at in _waiting_tasks()

    with smtp_server(smtp_port) as inbox:
        run_worker()  # the server is back, but the retry is not due yet
        assert inbox.received == []

        time_machine.move_to(NOON + dt.timedelta(minutes=1, seconds=1), tick=False)
        run_worker()
        assert len(inbox.received) == 1

        time_machine.move_to(NOON + dt.timedelta(hours=3), tick=False)
        run_worker()  # every task left (the sender's lease check too) finds nothing to send

    [received] = inbox.received
    assert received["To"] == "maria@example.org"
    assert received["Subject"] == "No plan yet for Ana"
    assert received.get_body("plain").get_content().strip() == "Please tell us how Ana gets home."
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 2)
    assert message.sent_at == NOON + dt.timedelta(minutes=1, seconds=1)
    assert Message.objects.count() == 1
    assert _waiting_tasks() == []
