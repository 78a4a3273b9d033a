"""`lastbell dismissal_tick`: flag late pickups at every school past its late moment now, and
book the next tick in the task queue if it lacks one (see lastbell/dismissal/tasks.py).

`lastbell serve` runs it at start; each tick then books the next. Safe to run any number of
times. Without a task worker that can wait (the immediate backend), run it from cron every
5 minutes: it flags what is due each time.
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from lastbell.dismissal.tasks import book_next_tick, tick


class Command(BaseCommand):
    help = "Flag students still on campus after dismissal as late, and book the next check."

    def handle(self, *args, verbosity, **options):
        flagged = tick()
        booked = book_next_tick()
        if flagged or verbosity > 1:
            self.stdout.write(f"Flagged {flagged} late pickup{'s' if flagged != 1 else ''}.")
        if verbosity > 1:
            when = f"at {timezone.localtime(booked):%Y-%m-%d %H:%M}" if booked else "by cron"
            self.stdout.write(f"Next check {when}.")
