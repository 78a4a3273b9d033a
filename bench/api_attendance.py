"""Benchmark of the attendance API: `python -m bench.api_attendance [--events 500]`.

Builds a throwaway database (a temporary SQLite file, or with DATABASE_URL a temporary
PostgreSQL database on that server, dropped at the end) with one school of `--students`
students (the demo generator), starts the real server (uvicorn on lastbell.asgi, as
`lastbell serve --no-demo --no-worker` does) in a subprocess, and posts `--events` absences
(each a new student and date: every one creates an absence, its audit event and its board
announcement) to POST /api/v1/attendance/events:

- first, as a baseline, the same requests with a wrong token, answered 401 after one query:
  what the server, Django's middleware and the API framework cost without the write;
- from 1 client, one request after another, on one keep-alive connection;
- from `--clients` clients at once (threads, a keep-alive connection each);
- the same in the Ed-Fi shape (POST /api/v1/attendance/edfi/studentSchoolAttendanceEvents).

For each it prints events per second, the request latency (p50, p90, p99, max) seen by the
clients, and the server's CPU time per event (its process, from /proc). `--profile` then
posts 100 more in this process through Django's test client and prints the SQL of one event
and a cProfile. See bench/README.md.
"""

import argparse
import datetime as dt
import http.client
import itertools
import json
import os
import sys
import threading
import time

from bench.serving import (
    BenchDatabase,
    Server,
    channel_layer_label,
    group_members,
    machine_line,
    percentile,
    prepare,
)

BOARD_DATE = dt.date(2026, 11, 18)  # the date the school is built for (a Wednesday)
FIRST_EVENT_DATE = dt.date(2026, 11, 30)  # events from here on: days with no demo absences
EDFI_SCHOOL_ID = 9001  # the school's code, for the Ed-Fi shape (schoolReference.schoolId)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.api_attendance",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--students", type=int, default=2000, help="default 2000")
    parser.add_argument(
        "--events", type=int, default=500, help="events posted in each run (default 500)"
    )
    parser.add_argument(
        "--clients", type=int, default=8, help="concurrent clients of the second run (default 8)"
    )
    parser.add_argument(
        "--workers", type=int, default=1,
        help="uvicorn worker processes (default 1, as `lastbell serve`)",
    )  # fmt: skip
    parser.add_argument("--warmup", type=int, default=30, help="events before measuring")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--profile", action="store_true",
        help="afterwards, post 100 more in this process (Django's test client, no server): "
        "the SQL queries of one event, and a cProfile of where the time goes",
    )  # fmt: skip
    return parser.parse_args(argv)


def school_days(start: dt.date):
    day = start
    while True:
        if day.weekday() < 5:
            yield day
        day += dt.timedelta(days=1)


def event_stream(students: list[str]):
    """(n, student, date): every student on one day, then every student on the next."""
    n = 0
    for date in school_days(FIRST_EVENT_DATE):
        for sis_id in students:
            n += 1
            yield n, sis_id, date


def refused_body(n: int, sis_id: str, date: dt.date) -> tuple[str, dict]:
    """The same request, sent with a wrong token: answered 401 before any work is done."""
    return native_body(n, sis_id, date)


def native_body(n: int, sis_id: str, date: dt.date) -> tuple[str, dict]:
    body = {"event_id": f"bench-{n}", "student_id": sis_id, "date": date.isoformat(),
            "kind": "absent", "excused": n % 3 != 0, "reason": "Benchmark"}  # fmt: skip
    if n % 10 == 0:
        body.update(kind="early_departure", departs_at="12:30")
    return "/api/v1/attendance/events", body


def edfi_body(n: int, sis_id: str, date: dt.date) -> tuple[str, dict]:
    category = "Excused Absence" if n % 3 else "Unexcused Absence"
    body = {
        "id": f"bench-edfi-{n}",
        "studentReference": {"studentUniqueId": sis_id},
        "schoolReference": {"schoolId": EDFI_SCHOOL_ID},
        "eventDate": date.isoformat(),
        "attendanceEventCategoryDescriptor": f"uri://ed-fi.org/AttendanceEventCategoryDescriptor#{category}",
        "attendanceEventReason": "Benchmark",
    }  # fmt: skip
    return "/api/v1/attendance/edfi/studentSchoolAttendanceEvents", body


class Run:
    """`events` POSTs shared among `clients` threads, each with its keep-alive connection."""

    def __init__(self, server: Server, secret: str, events: list, shape, clients: int):
        self.server, self.secret, self.shape, self.clients = server, secret, shape, clients
        self.events = iter(events)
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.outcomes: dict[str, int] = {}
        self.errors: list[str] = []
        self.start = threading.Barrier(clients + 1)

    def next_event(self):
        with self.lock:
            return next(self.events, None)

    def client(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        secret = self.secret if self.shape is not refused_body else "lb_0000_wrong"
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        latencies, outcomes = [], {}
        self.start.wait()
        try:
            while (event := self.next_event()) is not None:
                path, body = self.shape(*event)
                data = json.dumps(body)
                sent = time.perf_counter()
                try:
                    conn.request("POST", path, body=data, headers=headers)
                    response = conn.getresponse()
                    answer = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    self.errors.append(repr(exc))
                    conn.close()  # http.client reconnects on the next request
                    continue
                latencies.append(time.perf_counter() - sent)
                if self.shape is refused_body:
                    key = f"refused ({response.status})"
                    outcomes[key] = outcomes.get(key, 0) + 1
                elif response.status in (200, 201):
                    outcome = json.loads(answer)["outcome"]
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
                else:
                    self.errors.append(f"HTTP {response.status}: {answer[:200]!r}")
        finally:
            conn.close()
            with self.lock:
                self.latencies += latencies
                for key, value in outcomes.items():
                    self.outcomes[key] = self.outcomes.get(key, 0) + value

    def go(self) -> dict:
        threads = [threading.Thread(target=self.client) for _ in range(self.clients)]
        for thread in threads:
            thread.start()
        cpu = self.server.cpu()
        self.start.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        cpu = self.server.cpu() - cpu
        done = len(self.latencies)
        return {
            "events": done, "wall": wall, "rate": done / wall if wall else 0.0,
            "p50": percentile(self.latencies, 50), "p90": percentile(self.latencies, 90),
            "p99": percentile(self.latencies, 99), "max": max(self.latencies, default=0.0),
            "cpu_per_event": cpu / done if done else 0.0, "outcomes": self.outcomes,
            "errors": self.errors,
        }  # fmt: skip


def run(args, database) -> int:
    out = sys.stdout.write
    setup = prepare(students=args.students, date=BOARD_DATE, seed=args.seed,
                    database_label=database.label, code=str(EDFI_SCHOOL_ID))  # fmt: skip
    events = event_stream(setup.students)
    stale = group_members(setup.school_id, clear=True)
    server = Server(workers=args.workers).start()
    failed = False
    try:
        out(f"Last Bell attendance API benchmark — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n")
        out(f"Machine   {machine_line()}\n")
        out(f"Database  {setup.database}\n")
        out(f"Server    uvicorn lastbell.asgi:application, {args.workers} process(es); "
            f"channel layer {channel_layer_label()}\n")  # fmt: skip
        out(f"Data      migrate {setup.migrate_s:.1f} s; built {len(setup.students):,} "
            f"students in {setup.build_s:.1f} s\n")  # fmt: skip
        if stale:
            out(f"Redis     removed {stale} dead streams of an earlier run from the school's "
                "group\n")  # fmt: skip
        out("\n")

        Run(server, setup.secret, list(itertools.islice(events, args.warmup)), native_body,
            1).go()  # fmt: skip
        plan = [
            ("1 client, wrong token (401)", 1, refused_body),
            ("1 client", 1, native_body),
            (f"{args.clients} clients", args.clients, native_body),
            (f"{args.clients} clients, Ed-Fi shape", args.clients, edfi_body),
        ]
        out(f"POST {args.events} absences per run (each a new student and day)\n")
        out(f"{'':<28}{'events/s':>9}{'p50':>11}{'p90':>11}{'p99':>11}{'max':>11}"
            f"{'server CPU/event':>18}\n")  # fmt: skip
        for title, clients, shape in plan:
            batch = list(itertools.islice(events, args.events))
            r = Run(server, setup.secret, batch, shape, clients).go()
            out(f"{title:<28}{r['rate']:>9.1f}"
                + "".join(f"{r[k] * 1000:>8.1f} ms" for k in ("p50", "p90", "p99", "max"))
                + f"{r['cpu_per_event'] * 1000:>15.1f} ms\n")  # fmt: skip
            outcomes = ", ".join(f"{n} {k}" for k, n in sorted(r["outcomes"].items()))
            out(f"{'':<28}{r['events']} answered in {r['wall']:.1f} s: {outcomes}\n")
            if r["errors"]:
                failed = True
                out(f"{'':<28}{len(r['errors'])} errors, first: {r['errors'][0]}\n")
        out(f"\nLoad average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
        if messages := server.messages():
            out("\nThe server's log (distinct lines, most frequent first):\n")
            for count, text in messages:
                out(f"  {count:>5} × {text[:150]}\n")
    finally:
        server.stop()
    if args.profile:
        profile(setup, list(itertools.islice(events, 100)), out)
    return 1 if failed else 0


def profile(setup, events: list, out) -> None:
    """The same POSTs in this process, through Django's test client: no server, no network."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers={"Authorization": f"Bearer {setup.secret}"})

    def post(event):
        path, body = native_body(*event)
        response = client.post(path, body, content_type="application/json")
        assert response.status_code in (200, 201), response.content[:300]

    post(events[0])
    with CaptureQueriesContext(connection) as queries:
        post(events[1])
    out(f"\nOne event in this process: {len(queries)} SQL queries\n")
    for query in queries.captured_queries:
        out(f"  {query['sql'][:110]}\n")
    started = time.perf_counter()
    cpu = time.process_time()
    for event in events[2:50]:
        post(event)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    out(f"48 events in this process: {wall / 48 * 1000:.1f} ms each ({cpu / 48 * 1000:.1f} ms CPU)"
        "\n")  # fmt: skip
    profiler = cProfile.Profile()
    profiler.enable()
    for event in events[50:]:
        post(event)
    profiler.disable()
    out("\ncProfile of 50 events, by cumulative time:\n")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(30)


def main(argv=None) -> int:
    args = parse_args(argv)
    database = BenchDatabase("api")
    try:
        return run(args, database)
    finally:
        database.drop()


if __name__ == "__main__":
    sys.exit(main())
