"""On the embedded default, writes made by another process reach open pages too.

The in-memory channel layer lives in the web process: the task worker's imports and bus-feed
pulls, or any other writer, cannot reach it. But every write to what a board reads changes the
school's board stamp in the database (plans/stamps.py), whoever makes it. So while streams are
open, the web process reads the watched schools' stamps every `INTERVAL` seconds and announces
a school whose stamp moved. (With Redis, every process reaches every stream and this is off.)

A change made in this process is announced by its own commit already (signals.send), and a
second event would make every open page fetch its board twice. So `send` reads the school's
token just before it announces, and notes it here once the event is out: the pages that hear
that event fetch the board as of that token or later. The watcher stays quiet about a token
this process noted, and announces any other: a token that differs from the noted one means
another process wrote since. When in doubt (the token was not read, or the watcher read it an
instant before `send` noted it) a page hears of a change twice rather than never.
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
# school -> the latest token this process announced itself (set from the writers' threads).
_announced: dict[int, object] = {}
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
        _announced.pop(school_id, None)


def token_before_announcing(layer, school_id: int) -> object | None:
    """The school's token as this process is about to announce it, or None when the watcher
    has no use for it. Called after commit, in the writer's thread, before sending: the pages'
    fetch that the event starts then sees at least this state."""
    if not needed(layer) or school_id not in _watched:
        return None
    try:
        return _read_tokens([school_id]).get(school_id)
    except Exception as exc:  # noqa: BLE001 — the watcher announces it again, no harm
        log.warning("Board stamp not read before announcing: %r", exc)
        return None


def announced(school_id: int, token: object | None) -> None:
    """This process has sent the event for the school's state as of `token`."""
    if token is not None and school_id in _watched:
        _announced[school_id] = token


def _read_tokens(school_ids: list[int]) -> dict[int, object]:
    marks = ", ".join(["%s"] * len(school_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT scope, token FROM {STAMP_TABLE} WHERE scope IN ({marks})",  # noqa: S608
            school_ids,
        )
        return dict(cursor.fetchall())


# On the process's sync thread: one small query a poll. (In a thread of the pool it raced the
# tests' writes on SQLite's shared in-memory database: "table is locked".)
_tokens = database_sync_to_async(_read_tokens)


async def _run(layer) -> None:
    while _watched:
        try:
            schools = list(_watched)
            tokens = await _tokens(schools)
            for school_id in schools:
                token = tokens.get(school_id)
                moved = school_id in _known and _known[school_id] != token
                # Tokens are compared for equality only: on PostgreSQL two writers' commits
                # may land out of their sequence order.
                own = token is not None and _announced.get(school_id) == token
                if moved and not own:
                    await layer.group_send(group_name(school_id),
                                           {"type": EVENT, "school": school_id})  # fmt: skip
                if school_id in _watched:
                    _known[school_id] = token
        except Exception as exc:  # noqa: BLE001 — the pages still poll on their own
            log.warning("Board stamps not read: %r", exc)
        await asyncio.sleep(INTERVAL)
