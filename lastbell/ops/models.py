from django.db import models


class Worker(models.Model):
    """A running task worker (`lastbell db_worker`) and when it last said it was alive
    (ops/workers.py): a task whose worker is gone is found by its absence here."""

    worker_id = models.CharField(max_length=64, unique=True)
    # The machine and process namespace, then the process: on the same one a dead process is
    # seen at once; elsewhere by its silence.
    host = models.CharField(max_length=300)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    def __str__(self):
        return f"Worker {self.worker_id} ({self.host}, pid {self.pid})"
