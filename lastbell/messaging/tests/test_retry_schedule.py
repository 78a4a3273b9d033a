"""Failed sends wait 1, 2, 4 … minutes (at most an hour), and stop after the last attempt."""

import datetime as dt

import pytest

from lastbell.messaging.models import Status
from lastbell.messaging.services import deliver_due
from lastbell.messaging.tests.support import queue, smtp_server

NOON = dt.datetime(2026, 11, 18, 20, 0, tzinfo=dt.UTC)


def _attempt_until_done(message, time_machine) -> list[int]:
    """Deliver each time the message is due; the minutes it waits before each retry."""
    waits = []
    while message.status == Status.QUEUED and len(waits) < 20:
        attempted_at = message.next_attempt_at
        time_machine.move_to(attempted_at, tick=False)
        deliver_due()
        message.refresh_from_db()
        if message.status == Status.QUEUED:
            waits.append((message.next_attempt_at - attempted_at) / dt.timedelta(minutes=1))
    return waits


@pytest.mark.parametrize(("max_attempts", "waits"), [
    (8, [1, 2, 4, 8, 16, 32, 60]),  # the default
    (3, [1, 2]),
])  # fmt: skip
def test_it_backs_off_then_gives_up(db, smtp_port, time_machine, settings, max_attempts, waits):
    settings.LASTBELL_MESSAGE_MAX_ATTEMPTS = max_attempts
    time_machine.move_to(NOON, tick=False)
    message = queue()  # nothing ever listens on smtp_port

    assert _attempt_until_done(message, time_machine) == waits

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.FAILED, max_attempts)
    assert message.error_reason.startswith(f"Not delivered after {max_attempts} attempts. ")
    assert "Use “Retry now” once the problem is fixed." in message.error_reason
    assert "will try again" not in message.error_reason
    # Given up means given up: the server coming back later sends nothing by itself.
    time_machine.shift(dt.timedelta(days=1))
    with smtp_server(smtp_port) as inbox:
        assert deliver_due() == {}
    assert inbox.received == []
