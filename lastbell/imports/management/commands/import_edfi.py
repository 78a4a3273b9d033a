import sys
import time

from django.core.management.base import BaseCommand, CommandError

from lastbell.imports.edfi import import_edfi
from lastbell.schools.models import District, School


class Command(BaseCommand):
    help = (
        "Import one Ed-Fi Data Standard 5.x interchange XML file into a district: Student, "
        "Contact (with StudentContactAssociation), StudentSchoolAttendance or "
        "StudentTransportation (each school's whole bus feed). A dry run unless --apply."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the interchange XML file")
        parser.add_argument("--district", required=True, help="the district's slug")
        parser.add_argument(
            "--school",
            help="the school's code: places new students the file does not place, and limits "
            "attendance and buses to that school",
        )
        parser.add_argument("--apply", action="store_true", help="save the changes")
        parser.add_argument("--all-rows", action="store_true", help="list every record")

    def handle(self, *args, path, district, school, apply, all_rows, **options):
        found = District.objects.filter(slug=district).first()
        if found is None:
            raise CommandError(f"No district with the slug {district!r}.")
        at = None
        if school:
            at = School.objects.filter(district=found, code=school).first()
            if at is None:
                raise CommandError(f"No school with the code {school!r} in {found.name}.")
        started = time.monotonic()
        report = import_edfi(path, district=found, school=at, apply=apply)
        self.stdout.write(report.as_text(all_rows=all_rows))
        self.stdout.write(f"({time.monotonic() - started:.1f} s)")
        if not report.ok:
            sys.exit(1)
