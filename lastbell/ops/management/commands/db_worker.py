"""`lastbell db_worker`: django-tasks-db's worker, which also notes it is alive and gives
back the tasks of workers that died running them (lastbell/ops/workers.py).

It takes the place of django-tasks-db's command of the same name: lastbell.ops comes before
django_tasks_db in INSTALLED_APPS."""

from django_tasks_db.management.commands import db_worker

from lastbell.ops import workers


class Command(db_worker.Command):
    def handle(self, *args, worker_id: str, **options):
        with workers.alive(worker_id):
            return super().handle(*args, worker_id=worker_id, **options)
