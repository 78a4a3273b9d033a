"""Several workers on PostgreSQL: a message one of them holds is skipped, not waited for."""

import threading

import pytest
from django.db import connection, transaction

from lastbell.messaging.models import Message, Status
from lastbell.messaging.services import deliver_due
from lastbell.messaging.tests.support import queue, smtp_server


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_skips_a_message_another_worker_has_locked(smtp_port):
    message = queue()
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                Message.objects.select_for_update().get(pk=message.pk)
                locked.set()
                release.wait(timeout=5)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(timeout=5)
        with smtp_server(smtp_port) as inbox:
            assert deliver_due() == {}  # at once, without waiting for the lock
            release.set()
            thread.join()
            assert deliver_due() == {"sent": 1}
    finally:
        release.set()
        thread.join()
    assert len(inbox.received) == 1
    message.refresh_from_db()
    assert message.status == Status.SENT
