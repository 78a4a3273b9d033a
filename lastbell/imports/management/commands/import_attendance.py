import pathlib

from django.core.management.base import BaseCommand

from lastbell.imports import cli
from lastbell.imports.csvfeeds import import_attendance


class Command(BaseCommand):
    help = (
        "Import absences and early departures from a CSV file (the columns of the template on "
        "a school's Imports tab) for one school or, without --school, the whole district. "
        "A dry run unless --apply."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the CSV file")
        cli.add_target_arguments(parser, school_help="the school's code (default: the district)")

    def handle(self, *args, path, district, school, apply, all_rows, **options):
        found, at = cli.target(district, school)
        name = pathlib.Path(path).name
        cli.run(
            self, lambda **kw: import_attendance(path, school=at, district=found, name=name,
                                                 apply=apply, **kw),
            source=name, all_rows=all_rows,
        )  # fmt: skip
