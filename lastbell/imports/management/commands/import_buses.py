import pathlib

from django.core.management.base import BaseCommand, CommandError

from lastbell.imports import cli
from lastbell.imports.csvfeeds import import_buses


class Command(BaseCommand):
    help = (
        "Import a school's whole bus feed from a CSV file (the columns of the template on its "
        "Imports tab): it updates only defaults the feed set before, never one staff or a "
        "guardian set, and ends those of students no longer in it. A dry run unless --apply."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the CSV file")
        cli.add_target_arguments(parser, school_help="the school's code (required)")

    def handle(self, *args, path, district, school, apply, all_rows, **options):
        if not school:
            raise CommandError("A bus feed is one school's: give its code with --school.")
        _, at = cli.target(district, school)
        name = pathlib.Path(path).name
        cli.run(
            self, lambda **kw: import_buses(path, school=at, name=name, apply=apply, **kw),
            source=name, all_rows=all_rows,
        )  # fmt: skip
