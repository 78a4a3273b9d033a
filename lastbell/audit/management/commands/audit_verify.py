"""`lastbell audit_verify`: check that the audit log is as it was written (lastbell/audit/chain.py).

Exit status 0 with each district's count and last link when every chain holds; 1 with the first
broken link of each district that does not. Note the last links down: a later run showing the
same events under other links means the log was rewritten wholesale."""

import sys

from django.core.management.base import BaseCommand

from lastbell.audit.chain import verify


class Command(BaseCommand):
    help = "Check the audit log's hash chains; exit status 1 if an event was changed or removed."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=2000, help="Events read at once.")

    def handle(self, *args, chunk_size, **options):
        reports = verify(chunk_size=chunk_size)
        broken = [report for report in reports if report.broken]
        for report in broken:
            self.stderr.write(report.broken)
        if broken:
            sys.exit(1)
        total = sum(report.events for report in reports)
        self.stdout.write(
            f"The audit log is intact: {total:,} event{'s' if total != 1 else ''} in "
            f"{len(reports)} district chain{'s' if len(reports) != 1 else ''}."
        )
        for report in reports:
            self.stdout.write(
                f"  {report.district}: {report.events:,} events, last link {report.last}"
            )
