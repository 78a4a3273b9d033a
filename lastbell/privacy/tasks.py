"""The daily retention purge (services.retention_purge) in the task queue.

Each run purges every district and books the next for PURGE_AT tomorrow (server time);
`lastbell retention_purge` (which `lastbell serve` runs at start, and cron runs daily where
there is no worker) purges at once and books the next run if the queue lacks one.
"""

import datetime as dt

from django.tasks import task
from django.utils import timezone

PURGE_AT = dt.time(3, 15)  # a quiet hour, after the nightly bus feeds (2:00)


@task
def retention_daily() -> int:
    """Purge every district, then book tomorrow's run. Returns the events deleted."""
    deleted = purge_all()
    book_next()
    return deleted


def purge_all(now: dt.datetime | None = None) -> int:
    from lastbell.privacy.services import retention_purge
    from lastbell.schools.models import District

    return sum(
        retention_purge(district=district, now=now)["events"]
        for district in District.objects.order_by("pk")
    )


def next_run_at(now: dt.datetime | None = None) -> dt.datetime:
    now = timezone.localtime(now or timezone.now())
    at = now.replace(hour=PURGE_AT.hour, minute=PURGE_AT.minute, second=0, microsecond=0)
    return at if at > now else at + dt.timedelta(days=1)


def book_next(now: dt.datetime | None = None) -> dt.datetime | None:
    """Book the next run unless one is waiting already; None where the backend can't wait."""
    if not retention_daily.get_backend().supports_defer:
        return None
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(
        task_path=retention_daily.module_path, status=TaskResultStatus.READY
    ).exists()
    if waiting:
        return None
    wanted = next_run_at(now)
    retention_daily.using(run_after=wanted).enqueue()
    return wanted
