"""Email goes through the default mailer to a real SMTP server on loopback."""

import datetime as dt

import pytest

from lastbell.messaging.models import Message, Status
from lastbell.messaging.services import deliver_due
from lastbell.messaging.tests.support import queue, smtp_server

NOON = dt.datetime(2026, 11, 18, 20, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOON, tick=False)
    return time_machine


def test_it_delivers_email_to_the_smtp_server(db, smtp_port, frozen, school, guardian):
    message = queue(
        to="maria@example.org",
        subject="Ana's plan for today",
        body="Ana takes bus 12 home today.",
        html_body="<p>Ana takes <b>bus 12</b> home today.</p>",
        language="es",
        school=school,
        guardian=guardian,
    )

    with smtp_server(smtp_port) as inbox:
        outcome = deliver_due()

    assert outcome == {"sent": 1}
    [received] = inbox.received
    assert received["To"] == "maria@example.org"
    assert received["From"] == "Last Bell <lastbell@localhost>"
    assert received["Subject"] == "Ana's plan for today"
    assert received["Content-Language"] == "es"
    assert received.get_body("plain").get_content().strip() == "Ana takes bus 12 home today."
    assert "<b>bus 12</b>" in received.get_body("html").get_content()
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.sent_at == NOON
    assert message.attempts == 1
    assert message.provider_id == received["Message-ID"]


def test_it_keeps_the_message_when_the_mail_server_is_down(db, smtp_port, frozen):
    message = queue()

    outcome = deliver_due()  # nothing listens on smtp_port

    assert outcome == {"retrying": 1}
    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert message.attempts == 1
    assert message.next_attempt_at == NOON + dt.timedelta(minutes=1)
    assert message.error_reason.startswith(
        f"Could not reach the mail server at 127.0.0.1:{smtp_port}."
    )
    assert "will try again in 1 minute." in message.error_reason
    assert "ConnectionRefusedError" in message.error_detail


def test_it_does_not_retry_before_the_time_then_sends_once(db, smtp_port, frozen):
    message = queue()
    deliver_due()  # the server is down

    with smtp_server(smtp_port) as inbox:
        assert deliver_due() == {}  # back up, but the retry is not due yet
        frozen.shift(dt.timedelta(minutes=1))
        assert deliver_due() == {"sent": 1}
        assert deliver_due() == {}
        frozen.shift(dt.timedelta(hours=2))
        assert deliver_due() == {}

    assert len(inbox.received) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 2)
    assert Message.objects.count() == 1


def test_it_fails_at_once_when_the_server_refuses_the_address(db, smtp_port, frozen):
    message = queue(to="nobody@nowhere.test")

    with smtp_server(smtp_port) as inbox:
        assert deliver_due() == {"failed": 1}

    assert inbox.received == []
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.FAILED, 1)
    assert "refused the address nobody@nowhere.test" in message.error_reason
    assert "550" in message.error_detail


def test_it_sends_several_messages_over_one_connection(db, smtp_port, frozen):
    for n in range(3):
        queue(to=f"parent{n}@example.org")

    with smtp_server(smtp_port) as inbox:
        assert deliver_due() == {"sent": 3}

    assert sorted(m["To"] for m in inbox.received) == [
        "parent0@example.org", "parent1@example.org", "parent2@example.org",
    ]  # fmt: skip
    assert inbox.connections == 1


def test_it_fails_at_once_for_an_address_that_would_inject_headers(db, smtp_port, frozen):
    message = queue(to="maria@example.org\nBcc: spy@example.org")

    with smtp_server(smtp_port) as inbox:
        assert deliver_due() == {"failed": 1}

    assert inbox.received == []
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert message.error_reason.endswith("is not an email address. Correct the family's contact.")
