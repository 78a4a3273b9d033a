"""The dismissal benchmark's server with what-if changes: `python -m bench.dismissal_server
<uvicorn args>`, run by bench/dismissal_load.py `--what-if`.

The same uvicorn on lastbell.asgi as bench/serving.py's `Server`, after changes named in
BENCH_WHATIF (comma-separated) to this process only, never to the app — experiments whose
figures say what a change to lastbell/ would bring:

- `close-db`: every request closes its database connection at its end (CONN_MAX_AGE 0), as
  Django advises under ASGI. lastbell/settings.py keeps connections for 60 s with
  DATABASE_URL, but under ASGI each request's sync code runs in a thread of its own
  (asgiref's ThreadSensitiveContext, one per request), so a kept connection stays open in a
  thread that is gone: under load PostgreSQL runs out of connections ("too many clients");
- `reuse-board`: `day_board(..., student_ids=...)` outside a transaction takes the students'
  rows from the school's reused board (plans/board.py) instead of resolving them afresh, as
  the whole-school and homeroom boards already do. One family's or one student's board is
  asked for by every check-in, "Sent", release page and release, and every poll of a
  guardian's card.
- `objects`: on SIGUSR1 the server counts its live Python objects by type (after a full
  collection) and writes the counts to BENCH_OBJECTS_DIR. `--soak-minutes` asks after each
  dismissal and prints which kinds grew from the second dismissal to the last: a leak of
  Python objects shows there, at no cost while the server serves (tracemalloc's tracing
  slowed it too much to finish a dismissal).
- `gc-pauses`: every collection of the cyclic garbage collector is timed (it stops the whole
  process): every 5 s the count, total and longest pause per generation go to BENCH_GC_FILE.
- `sql`: every statement's execute is timed, as wall time and as its thread's CPU time
  (SQLite works without the interpreter's lock, so the difference is mostly waiting for the
  lock back), by its SQL with the numbers taken out; every 5 s the totals go to
  BENCH_SQL_FILE, the costliest first.
"""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lastbell.settings")
WHATIF = {name for name in os.environ.get("BENCH_WHATIF", "").split(",") if name}

if "close-db" in WHATIF:
    from lastbell import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0

import django  # noqa: E402

django.setup()

import uvicorn  # noqa: E402

if "reuse-board" in WHATIF:
    from django.db import transaction

    from lastbell.api import v1
    from lastbell.dismissal import services
    from lastbell.family import views as family_views
    from lastbell.plans import board
    from lastbell.plans import views as plan_views
    from lastbell.schools import views as school_views

    _day_board = board.day_board

    def day_board(school, date, *, homeroom_ids=None, student_ids=None):
        if student_ids is None or transaction.get_connection().in_atomic_block:
            return _day_board(school, date, homeroom_ids=homeroom_ids, student_ids=student_ids)
        whole = _day_board(school, date)  # reused while the school's stamp is unchanged
        wanted = set(student_ids)
        rooms = None if homeroom_ids is None else set(homeroom_ids)
        rows = [row for row in whole.rows if row.student_id in wanted
                and (rooms is None or row.homeroom_id in rooms)]  # fmt: skip
        return board.DayBoard(school, date, whole.is_school_day, whole.no_school_reason, rows)

    for module in (board, services, v1, family_views, plan_views, school_views):
        module.day_board = day_board

if "objects" in WHATIF:
    import collections
    import gc
    import json
    import signal
    import time

    def _count_objects(signum, frame):
        gc.collect()
        counts, sizes = collections.Counter(), collections.Counter()
        for thing in gc.get_objects():
            kind = type(thing)
            name = f"{kind.__module__}.{kind.__qualname__}"
            counts[name] += 1
            sizes[name] += sys.getsizeof(thing)
        folder = os.environ["BENCH_OBJECTS_DIR"]
        with open(f"{folder}/{time.time():.3f}.json", "w") as out:
            json.dump({"counts": counts, "sizes": sizes}, out)

    signal.signal(signal.SIGUSR1, _count_objects)

if "sql" in WHATIF:
    import collections
    import re
    import threading
    import time

    from django.db.backends import utils

    _execute = utils.CursorWrapper._execute
    _lock = threading.Lock()
    _spent = collections.defaultdict(lambda: [0, 0.0, 0.0])  # count, wall, cpu

    def _timed_execute(self, sql, params, *ignored_wrappers):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return _execute(self, sql, params, *ignored_wrappers)
        finally:
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            key = re.sub(r"\b\d+\b", "N", sql or "")[:300]
            with _lock:
                entry = _spent[key]
                entry[0] += 1
                entry[1] += wall
                entry[2] += cpu

    utils.CursorWrapper._execute = _timed_execute

    def _write_sql_times():
        # Every 5 s: uvicorn ends on SIGTERM by raising it again, so atexit never runs.
        while True:
            time.sleep(5)
            with _lock:
                rows = sorted(_spent.items(), key=lambda item: -item[1][1])
            with open(os.environ["BENCH_SQL_FILE"] + ".new", "w") as out:
                for sql, (count, wall, cpu) in rows:
                    out.write(f"{count:7d} {wall:8.2f}s wall {cpu:7.2f}s cpu  {sql}\n")
            os.replace(os.environ["BENCH_SQL_FILE"] + ".new", os.environ["BENCH_SQL_FILE"])

    threading.Thread(target=_write_sql_times, daemon=True).start()

if "gc-pauses" in WHATIF:
    import gc
    import json
    import threading
    import time

    _pauses = {0: [], 1: [], 2: []}
    _started = [0.0]

    def _time_collection(phase, info):
        if phase == "start":
            _started[0] = time.perf_counter()
        else:
            _pauses[info["generation"]].append(time.perf_counter() - _started[0])

    gc.callbacks.append(_time_collection)

    def _write_pauses():
        while True:
            time.sleep(5)
            figures = {generation: {"count": len(times), "total": sum(times),
                                    "max": max(times, default=0.0),
                                    "over_20ms": sum(1 for t in times if t > 0.02)}
                       for generation, times in list(_pauses.items())}  # fmt: skip
            with open(os.environ["BENCH_GC_FILE"], "w") as out:
                json.dump(figures, out)

    threading.Thread(target=_write_pauses, daemon=True).start()

if __name__ == "__main__":
    sys.argv[0] = "uvicorn"
    sys.exit(uvicorn.main())
