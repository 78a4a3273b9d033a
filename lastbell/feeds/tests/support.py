"""What the feed tests share: bus files, a drop folder's file, a feed, and "Pull now"."""

import os
import time

from lastbell.feeds.models import BusFeed
from lastbell.feeds.services import bus_feed_pull, bus_feed_pull_request
from lastbell.plans.models import LongTermDefault


def bus_csv(*rows: tuple[str, str, str]) -> str:
    return "student_id,bus,weekdays\n" + "".join(f"{sis},{bus},{days}\n" for sis, bus, days in rows)


def drop(folder, text: str, name: str = "buses.csv", *, encoding="utf-8", age: float = 0):
    """Leave a file in the drop folder, `age` seconds older than now."""
    path = folder / name
    path.write_bytes(text.encode(encoding))
    if age:
        then = time.time() - age
        os.utime(path, (then, then))
    return path


def folder_feed(school, **fields) -> BusFeed:
    values = {"kind": BusFeed.Kind.FOLDER, "folder": "lincoln", "enabled": False, **fields}
    return BusFeed.objects.create(school=school, **values)


def pull_now(feed, person=None, **kwargs):
    """A "Pull now" and the pull it leads to, run in this thread (as the worker would)."""
    bus_feed_pull_request(feed=feed, actor=person)
    return bus_feed_pull(feed_id=feed.pk, **kwargs)


def bus_defaults() -> list[tuple]:
    """Every long-term default of every student, as it stands: a pull that applies nothing
    leaves this exactly as it was."""
    versions = (
        LongTermDefault.objects.select_related("student")
        .prefetch_related("days__bus_route")
        .order_by("pk")
    )
    return [
        (
            v.student.sis_id, v.starts_on, v.ends_on, v.cancelled_at, v.source,
            sorted((d.weekday, d.bus_route.number if d.bus_route else "") for d in v.days.all()),
        )
        for v in versions
    ]  # fmt: skip
