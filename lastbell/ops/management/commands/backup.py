"""`lastbell backup PATH`: the database, the uploaded files and a manifest in one file."""

from django.core.management.base import BaseCommand, CommandError

from lastbell.ops.backup import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Back up the database and the uploaded files (photos, court orders, imports) into one "
        "file. Safe while Last Bell is running. PATH is a file name, or a folder to put a "
        "dated file in."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="where to write the backup (.tar.gz), or a folder")

    def handle(self, *args, path, **options):
        try:
            written = backup_create(path=path, say=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Done. Keep {written.name} somewhere safe: it holds every family's data."
            )
        )
