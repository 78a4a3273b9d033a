"""`lastbell restore PATH`: put back the database and uploaded files of a backup."""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from lastbell.ops.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `lastbell backup`: replaces the database and the uploaded "
        "files. Stop Last Bell's web and worker processes first."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the backup file (.tar.gz)")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace a database that already holds schools, students or accounts.",
        )

    def handle(self, *args, path, force, **options):
        self.stdout.write(
            "Stop Last Bell's web and worker processes before restoring: a process left "
            "running would keep writing to the database being replaced."
        )
        try:
            manifest = backup_restore(path=path, force=force, say=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        pending = MigrationExecutor(connection).migration_plan(
            MigrationExecutor(connection).loader.graph.leaf_nodes()
        )
        if pending:
            self.stdout.write(
                f"The backup is from an older version: applying {len(pending)} migrations…"
            )
            call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored the backup of {manifest['created_at']}. Start Last Bell again."
            )
        )
