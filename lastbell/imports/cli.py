"""What the import commands share: finding the district or school, a progress bar on a
terminal, and printing the report (every row only with --all-rows, streamed as it goes)."""

import sys
import time

from django.core.management.base import CommandError

from lastbell.imports.report import Report
from lastbell.schools.models import District, School


def add_target_arguments(parser, *, school_help: str):
    parser.add_argument("--district", required=True, help="the district's slug")
    parser.add_argument("--school", help=school_help)
    parser.add_argument("--apply", action="store_true", help="save the changes")
    parser.add_argument(
        "--all-rows", action="store_true", help="list every row as it is read, not only rejected"
    )


def target(district: str, school: str | None) -> tuple[District, School | None]:
    found = District.objects.filter(slug=district).first()
    if found is None:
        raise CommandError(f"No district with the slug {district!r}.")
    if not school:
        return found, None
    at = School.objects.filter(district=found, code=school).first()
    if at is None:
        raise CommandError(f"No school with the code {school!r} in {found.name}.")
    return found, at


def run(command, importer, *, source: str, all_rows: bool) -> None:
    """Run `importer(report=..., progress=...)` and print its report; exit 1 on a file error."""
    report = Report(source, sink=(lambda row: command.stdout.write(str(row))) if all_rows else None)
    progress = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    started = time.monotonic()
    report = importer(report=report, progress=progress)
    if progress:
        progress.done()
    if all_rows:
        report.rows = []  # already printed, as they came
    command.stdout.write(report.as_text(all_rows=False))
    command.stdout.write(f"({time.monotonic() - started:.1f} s)")
    if not report.ok:
        sys.exit(1)


class ProgressBar:
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
