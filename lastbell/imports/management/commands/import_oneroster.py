import sys
import time

from django.core.management.base import BaseCommand, CommandError

from lastbell.imports.oneroster import import_oneroster
from lastbell.schools.models import District


class Command(BaseCommand):
    help = (
        "Import a OneRoster 1.1 or 1.2 CSV bulk set (a folder or a zip) into a district: "
        "schools, students, guardians, their links and homerooms. A dry run unless --apply."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the folder or zip file of the OneRoster set")
        parser.add_argument("--district", required=True, help="the district's slug")
        parser.add_argument("--apply", action="store_true", help="save the changes")
        parser.add_argument("--all-rows", action="store_true", help="list every row")

    def handle(self, *args, path, district, apply, all_rows, **options):
        found = District.objects.filter(slug=district).first()
        if found is None:
            raise CommandError(f"No district with the slug {district!r}.")
        progress = _ProgressBar(sys.stderr) if sys.stderr.isatty() else None
        started = time.monotonic()
        report = import_oneroster(path, district=found, apply=apply, progress=progress)
        if progress:
            progress.done()
        self.stdout.write(report.as_text(all_rows=all_rows))
        self.stdout.write(f"({time.monotonic() - started:.1f} s)")
        if not report.ok:
            sys.exit(1)


class _ProgressBar:
    def __init__(self, stream):
        self.stream = stream
        self.file = None

    def __call__(self, file, rows, fraction):
        if self.file not in (None, file):
            self.stream.write("\n")  # keep each finished file's line
        self.file = file
        bar = ""
        if fraction is not None:
            filled = round(fraction * 30)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%} "
        self.stream.write(f"\r{file:<16} {bar}{rows:,} rows")
        self.stream.flush()

    def done(self):
        if self.file is not None:
            self.stream.write("\n")
