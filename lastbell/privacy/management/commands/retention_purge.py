"""`lastbell retention_purge`: apply every district's retention now (dismissal events and
message texts older than it keeps), and book the daily run in the task queue if it lacks one.
Safe to run any number of times; run it daily from cron where there is no task worker."""

from django.core.management.base import BaseCommand

from lastbell.privacy.services import retention_purge
from lastbell.privacy.tasks import book_next
from lastbell.schools.models import District


class Command(BaseCommand):
    help = "Delete dismissal events and message texts older than each district keeps them."

    def handle(self, *args, verbosity, **options):
        for district in District.objects.order_by("pk"):
            done = retention_purge(district=district)
            if verbosity > 1 or any(done.values()):
                self.stdout.write(
                    f"{district.name}: {done['events']} dismissal events of {done['days']} "
                    f"days deleted (their counts kept), {done['messages']} message texts removed."
                )
        book_next()
