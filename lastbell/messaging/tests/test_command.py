"""`lastbell deliver_messages`: what an operator's cron runs."""

import io

from django.core.management import call_command

from lastbell.messaging.models import Status
from lastbell.messaging.tests.support import queue, smtp_server


def test_it_sends_what_is_due_and_says_so(db, smtp_port):
    message = queue(subject="Ana's plan changed")
    out = io.StringIO()

    with smtp_server(smtp_port) as inbox:
        call_command("deliver_messages", stdout=out)

    assert out.getvalue() == "1 sent\n"
    assert [m["Subject"] for m in inbox.received] == ["Ana's plan changed"]
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_it_reports_a_retry_when_the_server_is_down(db, smtp_port):
    queue()
    out = io.StringIO()

    call_command("deliver_messages", stdout=out)

    assert out.getvalue() == "1 retrying\n"
