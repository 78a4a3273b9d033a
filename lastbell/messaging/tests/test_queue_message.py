"""Messages are queued in the caller's transaction and only go out if it commits."""

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from lastbell.audit.services import NotInTransaction
from lastbell.messaging.models import Message, Status
from lastbell.messaging.services import deliver_due, queue_message
from lastbell.messaging.tests.support import queue, run_worker, smtp_server


class Oops(Exception):
    pass


IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.mark.parametrize("immediate_tasks", [False, True])
@pytest.mark.django_db(transaction=True)
def test_it_sends_nothing_when_the_transaction_rolls_back(smtp_port, settings, immediate_tasks):
    if immediate_tasks:  # a task run in-process would see the uncommitted row
        settings.TASKS = IMMEDIATE

    with smtp_server(smtp_port) as inbox:
        with pytest.raises(Oops), transaction.atomic():
            queue(subject="Ana's plan changed")
            raise Oops  # e.g. the plan change failed after the message was queued
        if not immediate_tasks:
            run_worker()
        assert deliver_due() == {}

    assert inbox.received == []
    assert not Message.objects.exists()
    assert not DBTaskResult.objects.exists()  # no delivery task was even enqueued


@pytest.mark.django_db(transaction=True)
def test_it_sends_after_commit_through_the_task_worker(smtp_port):
    message = queue(subject="Ana's plan changed")
    assert DBTaskResult.objects.ready().count() == 1

    with smtp_server(smtp_port) as inbox:
        run_worker()

    assert [m["Subject"] for m in inbox.received] == ["Ana's plan changed"]
    message.refresh_from_db()
    assert message.status == Status.SENT


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_queue_outside_a_transaction():
    with pytest.raises(NotInTransaction):
        queue_message(channel="email", to="maria@example.org", subject="Hi", body="Hello")
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_sends_at_once_with_the_immediate_task_backend(settings, mailoutbox):
    # Development can run tasks in-process; then the commit itself sends.
    settings.TASKS = IMMEDIATE

    message = queue(to="maria@example.org", subject="Ana's plan changed")

    assert [m.to for m in mailoutbox] == [["maria@example.org"]]
    message.refresh_from_db()
    assert message.status == Status.SENT


@pytest.mark.parametrize(("channel", "kind"), [("pigeon", "other"), ("email", "gossip")])
def test_it_rejects_an_unknown_channel_or_kind(db, channel, kind):
    with pytest.raises(ValueError, match="Unknown channel"), transaction.atomic():
        queue_message(channel=channel, kind=kind, to="maria@example.org", body="Hello")
    assert not Message.objects.exists()


def test_one_transaction_books_one_delivery_task(
    db, school, student, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from lastbell.messaging.services import queue_message

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for n in range(3):
            queue_message(channel="email", to=f"p{n}@example.org", body="Hello", school=school)
    assert len(callbacks) == 1
