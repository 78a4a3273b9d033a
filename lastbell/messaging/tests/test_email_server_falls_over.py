"""The mail server falls over in the middle of a run: what it took stays sent, the rest is
kept and retried with the usual wait, and once it is back each message arrives once.
(test_email_smtp.py: a server down from the start; test_email_down_worker.py: the same with
the real task worker booking the retry.)"""

import datetime as dt

from aiosmtpd.controller import Controller

from lastbell.messaging.models import Message, Status
from lastbell.messaging.services import deliver_due
from lastbell.messaging.tests.support import Inbox, queue

NOON = dt.datetime(2026, 11, 18, 20, 0, tzinfo=dt.UTC)


class FallingOver(Inbox):
    """Takes `good` messages, then answers a 421 to the next one and hangs up; while `down`,
    greets every new connection with a 421 too (as a server shutting down does)."""

    def __init__(self, good: int):
        super().__init__()
        self.good = good
        self.down = False

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if self.down:
            return ["421 4.3.2 Service shutting down"]
        return await super().handle_EHLO(server, session, envelope, hostname, responses)

    async def handle_DATA(self, server, session, envelope):
        if len(self.received) >= self.good:
            self.down = True
            server.transport.close()
            return "421 4.3.2 Service shutting down"
        return await super().handle_DATA(server, session, envelope)


def test_a_server_that_falls_over_mid_run_loses_nothing_and_sends_each_once(
    db, smtp_port, time_machine
):
    time_machine.move_to(NOON, tick=False)
    messages = [queue(to=f"parent{n}@example.org") for n in range(4)]
    inbox = FallingOver(good=1)
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        assert deliver_due() == {"sent": 1, "retrying": 3}
        by_to = {m.to: m for m in Message.objects.all()}
        assert by_to["parent0@example.org"].status == Status.SENT
        for n in (1, 2, 3):
            waiting = by_to[f"parent{n}@example.org"]
            assert (waiting.status, waiting.attempts) == (Status.QUEUED, 1)
            assert waiting.next_attempt_at == NOON + dt.timedelta(minutes=1)
            assert "will try again in 1 minute" in waiting.error_reason

        inbox.down = False  # back
        inbox.good = len(messages)
        assert deliver_due() == {}  # not due yet
        time_machine.move_to(NOON + dt.timedelta(minutes=1), tick=False)
        assert deliver_due() == {"sent": 3}
        time_machine.move_to(NOON + dt.timedelta(hours=2), tick=False)
        assert deliver_due() == {}
    finally:
        controller.stop()

    assert sorted(m["To"] for m in inbox.received) == [m.to for m in messages]
    assert set(Message.objects.values_list("status", flat=True)) == {Status.SENT}
