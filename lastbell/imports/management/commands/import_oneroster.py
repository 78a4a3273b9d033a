from django.core.management.base import BaseCommand

from lastbell.imports import cli
from lastbell.imports.oneroster import import_oneroster


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
        found, _ = cli.target(district, None)
        name = path.rstrip("/").rsplit("/", 1)[-1]
        cli.run(self, lambda **kw: import_oneroster(path, district=found, apply=apply, **kw),
                source=name, all_rows=all_rows)  # fmt: skip
