import pathlib

from django.core.management.base import BaseCommand

from lastbell.imports import cli
from lastbell.imports.edfi import import_edfi


class Command(BaseCommand):
    help = (
        "Import one Ed-Fi Data Standard 5.x interchange XML file into a district: Student, "
        "Contact (with StudentContactAssociation), StudentSchoolAttendance or "
        "StudentTransportation (each school's whole bus feed). A dry run unless --apply."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the interchange XML file")
        cli.add_target_arguments(
            parser,
            school_help="the school's code: places new students the file does not place, and "
            "limits attendance and buses to that school",
        )

    def handle(self, *args, path, district, school, apply, all_rows, **options):
        found, at = cli.target(district, school)
        cli.run(
            self, lambda **kw: import_edfi(path, district=found, school=at, apply=apply, **kw),
            source=pathlib.Path(path).name, all_rows=all_rows,
        )  # fmt: skip
