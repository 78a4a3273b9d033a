"""`lastbell deliver_messages`: send what is due, for cron or as a service with --loop.

The task worker already does this after every new message and retry; this is the safety
net for installations without a worker, and for operators who want to see it happen.
"""

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from lastbell.messaging.services import deliver_due


class Command(BaseCommand):
    help = "Send the messages to families that are due; retry the ones that failed."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep going until stopped.")
        parser.add_argument(
            "--interval", type=float, default=30, help="Seconds between runs with --loop."
        )

    def handle(self, *args, loop, interval, verbosity, **options):
        while True:
            outcome = deliver_due()
            if outcome or verbosity > 1:
                summary = ", ".join(f"{n} {what}" for what, n in sorted(outcome.items()))
                self.stdout.write(summary or "Nothing due.")
            if not loop:
                return
            close_old_connections()  # a long-lived process: drop broken connections
            time.sleep(interval)
