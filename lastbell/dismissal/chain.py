"""The day's chain of custody as this process has read it so far.

At dismissal every change makes every open screen of the school fold the day's whole chain
again, and by the end of the afternoon the chain holds a few thousand events: reading them all
as model instances on every render was most of the server's time (bench/README.md, "Dismissal
under load"). The chain is append-only (models.CustodyEvent refuses edits and deletes), so an
event once read never changes: this process keeps what it has read of each day and reads only
what is new.

The chain's length is read first: holding as many events as it has means nothing is new (the
chain only grows, and everything held was committed). Otherwise what is new is the events after
the highest id held. That alone could miss one: ids are taken before commit, so on PostgreSQL a
lower id can commit after a higher one. So the length is read again after the new events;
holding as many as that proves that nothing is missing. When fewer are held, every id of the
day is read and the missing events fetched.

Inside a transaction the chain is read from the database as it is, never kept: a write reads
its students' states under its lock and must see its own, uncommitted events.
"""

import threading

from django.conf import settings
from django.db import connection

from lastbell.dismissal.models import CustodyEvent
from lastbell.recent import Recent

# A few schools' days per process (settings.LASTBELL_CACHED_DAYS), none long unused
# (LASTBELL_CACHE_IDLE_MINUTES): today's are the ones asked for, at dismissal.
DAYS_KEPT = settings.LASTBELL_CACHED_DAYS


def _query(day_id):
    return CustodyEvent.objects.filter(day_id=day_id).select_related("arrival__tag", "by")


def _order(event: CustodyEvent):
    return (event.at, event.pk)  # the model's ordering


class _Chain:
    def __init__(self):
        self.lock = threading.Lock()
        self.empty()

    def empty(self):
        self.events: list[CustodyEvent] = []
        self.ids: set[int] = set()
        self.last_id = 0

    def catch_up(self, day_id: int) -> int:
        """Read what was committed since; returns the chain's length."""
        length = CustodyEvent.objects.filter(day_id=day_id).count()
        if length == len(self.ids):
            return length  # what is held is all there was when counted: nothing is new
        if length < len(self.ids):  # the database was emptied under this process (tests)
            self.empty()
        new = list(_query(day_id).filter(pk__gt=self.last_id))
        length = CustodyEvent.objects.filter(day_id=day_id).count()
        if len(self.ids) + len(new) < length:  # an id below last_id committed late
            held = self.ids | {e.pk for e in new}
            ids = CustodyEvent.objects.filter(day_id=day_id).values_list("pk", flat=True)
            missing = [pk for pk in ids if pk not in held]
            new += list(_query(day_id).filter(pk__in=missing))
        if new:
            self.ids.update(e.pk for e in new)
            self.last_id = max(self.last_id, *(e.pk for e in new))
            # Events arrive in id order nearly always; a full sort keeps the rare late one
            # in its place and costs little next to reading.
            self.events = sorted([*self.events, *new], key=_order)
        return len(self.events)


_chains = Recent(DAYS_KEPT, settings.LASTBELL_CACHE_IDLE_MINUTES * 60)


def _chain(day_id: int) -> _Chain:
    return _chains.setdefault((connection.alias, connection.settings_dict["NAME"], day_id), _Chain)


def day_events(day_id: int) -> tuple[list[CustodyEvent], int | None]:
    """Every event of the day, oldest first, and the chain's length it shows (None inside a
    transaction, whose reads are not kept). The list and its events are shared: read only."""
    if connection.in_atomic_block:
        return list(_query(day_id)), None
    chain = _chain(day_id)
    with chain.lock:
        length = chain.catch_up(day_id)
        return chain.events, length


def forget():
    """Drop what this process holds (tests that rebuild their database)."""
    _chains.clear()


def length_today(school) -> int:
    """How many events today's chain of the school holds (its live pages' version)."""
    return CustodyEvent.objects.filter(day__school_id=school.id, day__date=school.today()).count()
