"""`lastbell schedule_feeds`: book every bus feed's next pull that the task queue lacks.

Each pull books the next one, and saving a feed books its first; this is the safety net that
`lastbell serve` runs at start. Safe to run any number of times. Without a task worker that
can wait (the immediate backend), run it from cron: it pulls the feeds that are due.
"""

from django.core.management.base import BaseCommand

from lastbell.feeds.services import bus_feeds_schedule


class Command(BaseCommand):
    help = "Book the scheduled bus feed pulls that are missing from the task queue."

    def handle(self, *args, verbosity, **options):
        booked = bus_feeds_schedule()
        if booked or verbosity > 1:
            self.stdout.write(f"Booked {booked} bus feed pull{'s' if booked != 1 else ''}.")
