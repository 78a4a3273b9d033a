"""The benchmark server with instruments: `python -m bench.instrumented_server <uvicorn args>`,
serving `bench.instrumented_server:application`.

The same uvicorn on lastbell.asgi as bench/serving.py's `Server`, after two changes to this
process only (never to the app):

- every resolution of a day board (`lastbell.plans.board.plan_days`) writes a line
  `bench: board resolved in … ms` to the log, so a benchmark can count them;
- with BENCH_LIMIT=N, an experiment: at most N requests at a time reach Django (the others
  wait in the event loop, where waiting costs nothing); live streams are not counted;
- with BENCH_SINGLE_FLIGHT=1, an experiment: `_reused_board` lets one request per school,
  date and stamp resolve a missing board while the others wait for it and reuse it (a
  "single flight"), instead of every request that misses resolving the same board at once.
"""

import os
import sys
import threading
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lastbell.settings")

import django  # noqa: E402

django.setup()

import uvicorn  # noqa: E402

from lastbell.plans import board  # noqa: E402

_plan_days = board.plan_days


def plan_days(*args, **kwargs):
    started = time.perf_counter()
    try:
        return _plan_days(*args, **kwargs)
    finally:
        ms = (time.perf_counter() - started) * 1000
        print(f"bench: board resolved in {ms:.1f} ms", file=sys.stderr, flush=True)


board.plan_days = plan_days

if os.environ.get("BENCH_SINGLE_FLIGHT"):
    _reused_board = board._reused_board
    _guard = threading.Lock()
    _locks: dict[tuple, threading.Lock] = {}

    def single_flight(school, date, stamp):
        key = (school.id, date, *stamp)
        with _guard:
            lock = _locks.setdefault(key, threading.Lock())
            if len(_locks) > 1000:  # old stamps: nobody waits on them any more
                for old in list(_locks)[:500]:
                    _locks.pop(old, None)
        with lock:  # the first resolves and caches; the others then find it cached
            return _reused_board(school, date, stamp)

    board._reused_board = single_flight

from lastbell.asgi import application as lastbell_application  # noqa: E402

application = lastbell_application
if limit := int(os.environ.get("BENCH_LIMIT") or 0):
    import asyncio

    _gate: asyncio.Semaphore | None = None

    async def application(scope, receive, send):
        global _gate
        if scope["type"] != "http" or scope["path"].endswith("/live/"):
            return await lastbell_application(scope, receive, send)
        if _gate is None:
            _gate = asyncio.Semaphore(limit)
        async with _gate:
            return await lastbell_application(scope, receive, send)


if __name__ == "__main__":
    sys.argv[0] = "uvicorn"
    sys.exit(uvicorn.main())
