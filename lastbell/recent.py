"""What a process keeps of the moment: a few entries, and none that nobody has used lately.

At dismissal every screen of a school asks for the same board, folded states, regions and chain
of custody many times a minute, so a process keeps them (plans/board.py, dismissal/chain.py).
Once the school's dismissal is over nobody asks again, and a server that stays up for months
sees a new school day every day at every school: kept by count alone, its memory grew by each
day's share until the count was reached (docs/reliability.md, the soak). So an entry goes when
more than `size` are kept (the least recently used first), and when nobody has used it for
`idle_seconds` (settings.LASTBELL_CACHE_IDLE_MINUTES).
"""

import threading
import time
from collections import OrderedDict


class Recent:
    """A thread-safe mapping bounded by count and by time unused. `clock` is the monotonic
    clock it reads (tests give their own)."""

    def __init__(self, size: int, idle_seconds: float, clock=time.monotonic):
        self.size = size
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._entries: OrderedDict = OrderedDict()  # key: (value, last used), oldest first
        self._lock = threading.Lock()

    def get(self, key):
        """The value under `key` (now used), or None."""
        with self._lock:
            now = self.clock()
            self._drop_idle(now)
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries[key] = (entry[0], now)
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key, value) -> None:
        with self._lock:
            now = self.clock()
            self._drop_idle(now)
            self._keep(key, value, now)

    def setdefault(self, key, make):
        """The value under `key`, made by `make()` (under the lock: keep it cheap) if none."""
        with self._lock:
            now = self.clock()
            self._drop_idle(now)
            entry = self._entries.get(key)
            value = make() if entry is None else entry[0]
            self._keep(key, value, now)
            return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            self._drop_idle(self.clock())
            return len(self._entries)

    def _keep(self, key, value, now: float) -> None:
        self._entries[key] = (value, now)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)  # the least recently used

    def _drop_idle(self, now: float) -> None:
        # Kept in order of last use: the idle ones are at the front.
        entries = self._entries
        while entries:
            key, (_, used) = next(iter(entries.items()))
            if now - used <= self.idle_seconds:
                return
            del entries[key]
