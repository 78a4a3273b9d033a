"""On the embedded default, writes made by another process reach open pages too.

The in-memory channel layer lives in the web process: the task worker's imports and bus-feed
pulls, or any other writer, cannot reach it. But every write to what a board reads changes the
school's board stamp in the database (plans/stamps.py), whoever makes it. So while streams are
open, the web process reads the watched schools' stamps every `INTERVAL` seconds and announces
a school whose stamp moved. (With Redis, every process reaches every stream and this is off.)
A change made in this process is announced twice, once by its own commit: the page refreshes
twice, which is harmless.
"""

import asyncio
import logging
from collections import Counter

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer
from django.db import connection

from lastbell.live.signals import EVENT, group_name
from lastbell.plans.stamps import STAMP_TABLE

log = logging.getLogger(__name__)

INTERVAL = 1.0
_watched: Counter[int] = Counter()
_known: dict[int, object] = {}
_task: asyncio.Task | None = None


def needed(layer) -> bool:
    return isinstance(layer, InMemoryChannelLayer)


def watch(layer, school_id: int) -> None:
    global _task
    _watched[school_id] += 1
    if _task is None or _task.done():
        _task = asyncio.get_running_loop().create_task(_run(layer))


def unwatch(school_id: int) -> None:
    _watched[school_id] -= 1
    if _watched[school_id] <= 0:
        del _watched[school_id]
        _known.pop(school_id, None)


@database_sync_to_async
def _tokens(school_ids: list[int]) -> dict[int, object]:
    marks = ", ".join(["%s"] * len(school_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT scope, token FROM {STAMP_TABLE} WHERE scope IN ({marks})",  # noqa: S608
            school_ids,
        )
        return dict(cursor.fetchall())


async def _run(layer) -> None:
    while _watched:
        try:
            schools = list(_watched)
            tokens = await _tokens(schools)
            for school_id in schools:
                token = tokens.get(school_id)
                if school_id in _known and _known[school_id] != token:
                    await layer.group_send(group_name(school_id),
                                           {"type": EVENT, "school": school_id})  # fmt: skip
                if school_id in _watched:
                    _known[school_id] = token
        except Exception as exc:  # noqa: BLE001 — the pages still poll on their own
            log.warning("Board stamps not read: %r", exc)
        await asyncio.sleep(INTERVAL)
