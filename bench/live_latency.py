"""Benchmark of live updates: `python -m bench.live_latency [--clients 200] [--events 50]`.

Builds a throwaway database (a temporary SQLite file, or with DATABASE_URL a temporary
PostgreSQL database on that server, dropped at the end) with one school of `--students`
students, starts the real server (uvicorn on lastbell.asgi, as `lastbell serve --no-demo
--no-worker` does) in a subprocess, and opens `--clients` live streams
(GET /schools/<id>/live/, server-sent events) as the school's dismissal staff, signed in by a
session cookie as a browser is. Once every stream is open, it posts `--events` absences to
POST /api/v1/attendance/events, one at a time, `--spacing` ms apart, and for every stream and
every absence takes the time from just before the POST to the arrival of the stream's
`event: board`. It prints the median, p90 and p99 of those client × event samples, how many
streams stayed connected and how many events were lost.

The channel layer is the server's: in-memory without REDIS_URL, channels-redis with it.

`--refresh` also does what the page does next (static/lastbell/app.js): 200–600 ms after a board
event each client fetches the dashboard again (on a second keep-alive connection, as a
browser would), and the time to the refreshed page is measured too. See bench/README.md.
"""

import argparse
import asyncio
import datetime as dt
import http.client
import importlib.util
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field

from bench.serving import (
    BenchDatabase,
    Server,
    channel_layer_label,
    group_members,
    machine_line,
    percentile,
    prepare,
)

BOARD_DATE = dt.date(2026, 11, 18)  # the school's day (a Wednesday), and the absences' date
TARGET_P99_S = 1.0
LIVE_THROTTLE_S = 0.2  # app.js: a board event makes one refresh, 200 ms after it
LIVE_SPREAD_S = 0.4  # … plus a random 0–400 ms, so the pages do not all ask at once


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.live_latency",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--students", type=int, default=2000, help="default 2000")
    parser.add_argument("--clients", type=int, default=200, help="live streams (default 200)")
    parser.add_argument("--events", type=int, default=50, help="absences posted (default 50)")
    parser.add_argument(
        "--spacing", type=int, default=None,
        help="ms from one POST to the next (default 200; 1500 on the in-memory layer, whose "
        "stamp watcher announces each change a second time up to 1 s later)",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=float, default=10.0,
        help="seconds to wait for late events after the last POST (default 10)",
    )  # fmt: skip
    parser.add_argument(
        "--refresh", action="store_true",
        help="clients also fetch the dashboard again 200–600 ms after each event, as pages do",
    )  # fmt: skip
    parser.add_argument(
        "--single-flight", action="store_true",
        help="an experiment with --refresh: the server lets one request resolve a missing "
        "board while the others wait for it (bench/instrumented_server.py)",
    )  # fmt: skip
    parser.add_argument(
        "--limit", type=int, default=0, metavar="N",
        help="an experiment: at most N requests at a time reach Django, the others wait in "
        "the event loop (bench/instrumented_server.py)",
    )  # fmt: skip
    parser.add_argument(
        "--open-at-once", type=int, default=50, metavar="N",
        help="streams opening at the same time (default 50; --clients: all at once, as after "
        "a restart, when every page reconnects)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 when p99 misses the target"
    )
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------
# HTTP/1.1 on asyncio streams: enough for a stream of server-sent events and a page.


async def read_head(reader) -> tuple[int, dict]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    status = int(status_line.split()[1])
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


async def read_chunk(reader, headers) -> bytes:
    """The next piece of a body: a chunk when chunked, else what is there."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        head = await reader.readline()
        if not head:
            return b""  # the server closed the connection: the stream ended
        size = int(head.split(b";")[0], 16)
        data = await reader.readexactly(size + 2)
        return data[:-2] if size else b""
    return await reader.read(65536)


async def read_body(reader, headers) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    parts = []
    while chunk := await read_chunk(reader, headers):
        parts.append(chunk)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):  # trailers
            pass
    return b"".join(parts)


def request(method: str, path: str, port: int, cookie: str, extra: str = "") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n{extra}\r\n"
    ).encode()


# ---------------------------------------------------------------------------------------------
# A client: one live stream, and with --refresh the page's refreshes.


@dataclass
class Client:
    n: int
    arrivals: list[float] = field(default_factory=list)  # monotonic time of each board event
    refreshes: list[tuple[float, float]] = field(default_factory=list)  # (started, done)
    connected: bool = False
    was_open: bool = False  # its stream opened (the `retry:` line came)
    error: str | None = None
    pending: asyncio.Task | None = None
    idle: list = field(default_factory=list)  # open page connections, (reader, writer)


async def stream(client: Client, port: int, path: str, cookie: str, opened: asyncio.Event,
                 on_event) -> None:  # fmt: skip
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        client.error = f"connect: {exc!r}"
        opened.set()
        return
    try:
        writer.write(request("GET", path, port, cookie, "Accept: text/event-stream\r\n"))
        status, headers = await read_head(reader)
        if status != 200:
            client.error = f"HTTP {status}: {(await read_body(reader, headers))[:200]!r}"
            return
        buffer = b""
        while chunk := await read_chunk(reader, headers):
            now = time.monotonic()
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.startswith(b"retry:"):
                    client.connected = client.was_open = True
                    opened.set()
                elif line == b"event: board":
                    client.arrivals.append(now)
                    on_event(client)
        client.error = "the stream ended"
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        client.error = repr(exc)
    except asyncio.CancelledError:
        pass
    finally:
        client.connected = False
        opened.set()
        writer.close()


async def refresh(client: Client, port: int, path: str, cookie: str) -> None:
    """What app.js does on a board event: wait 200–600 ms, then fetch the page's live parts."""
    await asyncio.sleep(LIVE_THROTTLE_S + random.random() * LIVE_SPREAD_S)
    client.pending = None
    started = time.monotonic()
    # Like a browser: a keep-alive connection that is free, else one more; a kept one the
    # server has closed meanwhile is replaced (once) by a new one.
    for attempt in (1, 2):
        connection = client.idle.pop() if client.idle and attempt == 1 else None
        reused = connection is not None
        try:
            if connection is None:
                connection = await asyncio.open_connection("127.0.0.1", port)
            reader, writer = connection
            writer.write(request("GET", path, port, cookie, "HX-Request: true\r\n"))
            status, headers = await read_head(reader)
            await read_body(reader, headers)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            if connection is not None:
                connection[1].close()
            if reused:
                continue
            client.error = f"refresh: {exc!r}"
            return
        client.idle.append(connection)
        if status == 200:
            client.refreshes.append((started, time.monotonic()))
        else:
            client.error = f"refresh: HTTP {status}"
        return


# ---------------------------------------------------------------------------------------------
# The sender: POSTs one at a time, in a thread, so the streams' loop keeps reading.


def watcher_doubles() -> bool:
    """On the in-memory layer the web process also announces, up to a second after it, every
    change it made itself (lastbell/live/watcher.py, when present)."""
    found = importlib.util.find_spec("lastbell.live.watcher") is not None
    return found and not os.environ.get("REDIS_URL")


def post_absences(port: int, secret: str, students: list[str], spacing: float, sent: list,
                  answered: list, statuses: list) -> None:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    try:
        next_at = time.monotonic()
        for n, sis_id in enumerate(students):
            body = json.dumps({"event_id": f"live-{n}", "student_id": sis_id,
                               "date": BOARD_DATE.isoformat(), "kind": "absent",
                               "reason": "Live benchmark"})  # fmt: skip
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent.append(time.monotonic())
            conn.request("POST", "/api/v1/attendance/events", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            answered.append(time.monotonic())
            statuses.append(response.status)
            next_at = sent[-1] + spacing
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------


async def measure(args, setup, server: Server) -> dict:
    port, cookie = server.port, setup.cookie
    live_path = f"/schools/{setup.school_id}/live/"
    page_path = f"/schools/{setup.school_id}/?date={BOARD_DATE.isoformat()}"
    clients = [Client(n) for n in range(args.clients)]
    refreshing: set[asyncio.Task] = set()

    def on_event(client: Client):
        if args.refresh and client.pending is None:
            client.pending = asyncio.create_task(refresh(client, port, page_path, cookie))
            refreshing.add(client.pending)

    started = time.monotonic()
    tasks, gate = [], asyncio.Semaphore(args.open_at_once)

    async def open_one(client):
        async with gate:
            opened = asyncio.Event()
            tasks.append(asyncio.create_task(stream(client, port, live_path, cookie, opened,
                                                    on_event)))  # fmt: skip
            await opened.wait()

    await asyncio.gather(*(open_one(c) for c in clients))
    connect_s = time.monotonic() - started
    open_clients = sum(c.connected for c in clients)
    await asyncio.sleep(1.0)  # let the server settle

    students = setup.students[-args.events :]  # the last students, posted once each
    sent, answered, statuses = [], [], []
    cpu, cpu_self = server.cpu(), time.process_time()
    await asyncio.to_thread(post_absences, port, setup.secret, students, args.spacing / 1000,
                            sent, answered, statuses)  # fmt: skip
    deadline = time.monotonic() + args.timeout
    expected = len(sent)
    while time.monotonic() < deadline:
        heard = all(not c.connected or (c.arrivals and c.arrivals[-1] >= sent[-1])
                    for c in clients)  # fmt: skip
        if heard and all(task.done() for task in refreshing):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5 if watcher_doubles() else 0)  # its second announcement, if any
    if pending := [task for task in refreshing if not task.done()]:
        await asyncio.wait(pending, timeout=args.timeout)
    cpu, cpu_self = server.cpu() - cpu, time.process_time() - cpu_self
    still = sum(c.connected for c in clients)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for c in clients:
        for _, writer in c.idle:
            writer.close()

    # A POST's board event, at a stream, is the first event there after the POST was sent
    # that no earlier POST took. Each POST is one transaction, so one announcement — and on
    # the in-memory layer a second one up to a second later from the stamp watcher
    # (lastbell/live/watcher.py): that is why POSTs are then spaced further apart. Events
    # nobody took are counted as extra.
    latencies, after_answer, fresh, lost, extra = [], [], [], 0, 0
    firsts: list[list[float]] = [[] for _ in range(expected)]
    for c in (c for c in clients if c.was_open):
        j = 0
        for k in range(expected):
            while j < len(c.arrivals) and c.arrivals[j] < sent[k]:
                j += 1
            if j == len(c.arrivals):
                lost += 1
                continue
            at = c.arrivals[j]
            j += 1
            firsts[k].append(at)
            latencies.append(at - sent[k])
            after_answer.append(at - answered[k])
            done = next((end for start, end in c.refreshes if start >= at), None)
            if done is not None:
                fresh.append(done - sent[k])
    extra = sum(len(c.arrivals) for c in clients if c.was_open) - len(latencies)
    spread = [max(got) - min(got) for got in firsts if got]
    post = [a - s for s, a in zip(sent, answered, strict=True)]
    errors = [c.error for c in clients if c.error and c.error != "the stream ended"]
    return {
        "connect_s": connect_s, "open": open_clients, "still": still, "expected": expected,
        "latencies": latencies, "after_answer": after_answer, "fresh": fresh, "spread": spread,
        "post": post, "lost": lost, "extra": extra, "statuses": statuses,
        "cpu": cpu, "cpu_self": cpu_self, "errors": errors,
        "refreshes": [c.refreshes for c in clients],
    }  # fmt: skip


def line(title: str, values: list[float]) -> str:
    if not values:
        return f"  {title:<44} (none)\n"
    figures = "".join(
        f"{name} {percentile(values, q) * 1000:7.1f} ms  "
        for name, q in (("median", 50), ("p90", 90), ("p99", 99))
    )
    return f"  {title:<44} {figures}max {max(values) * 1000:7.1f} ms  (n={len(values):,})\n"


def run(args, database) -> int:
    out = sys.stdout.write
    if args.spacing is None:
        args.spacing = 1500 if watcher_doubles() else 200
    setup = prepare(students=args.students, date=BOARD_DATE, seed=args.seed,
                    database_label=database.label)  # fmt: skip
    stale = group_members(setup.school_id, clear=True)
    experiments = {"BENCH_SINGLE_FLIGHT": "1" if args.single_flight else "",
                   "BENCH_LIMIT": str(args.limit or "")}  # fmt: skip
    keep = True  # the server's log, unless all went well
    server = Server(
        instrumented=args.refresh or args.single_flight or bool(args.limit), env=experiments
    ).start()
    try:
        try:
            import uvloop

            factory = uvloop.new_event_loop
        except ImportError:  # pragma: no cover — uvicorn[standard] brings it
            factory = None
        r = asyncio.run(measure(args, setup, server), loop_factory=factory)
        # The streams are closed: the server should have left the group (Redis only).
        deadline = time.monotonic() + 10
        while (left := group_members(setup.school_id)) and time.monotonic() < deadline:
            time.sleep(0.2)
        messages = server.messages()
        resolved = server.resolutions()
        keep = r["lost"] > 0 or any("Error" in text for _, text in messages)
    finally:
        server.stop(keep_log=keep)
        group_members(setup.school_id, clear=True)

    out(f"Last Bell live-update benchmark — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n")
    out(f"Machine   {machine_line()}\n")
    out(f"Database  {setup.database}\n")
    out(f"Server    uvicorn lastbell.asgi:application, 1 process; channel layer "
        f"{channel_layer_label()}"
        + ("; instrumented" if server.module != "uvicorn" else "")
        + (", single-flight boards (experiment)" if args.single_flight else "")
        + (f", at most {args.limit} requests in Django (experiment)" if args.limit else "")
        + "\n")  # fmt: skip
    out(f"Data      built {len(setup.students):,} students in {setup.build_s:.1f} s\n")
    if stale:
        out(f"Redis     removed {stale} dead streams of an earlier run from the school's group\n")
    if left:
        out(f"Redis     {left} streams still in the group 10 s after the clients closed them\n")
    out(f"Streams   {r['open']}/{args.clients} open in {r['connect_s']:.1f} s; "
        f"{r['still']} still open at the end\n")  # fmt: skip
    codes = {code: r["statuses"].count(code) for code in sorted(set(r["statuses"]))}
    out(f"Events    {r['expected']} absences posted {args.spacing} ms apart "
        f"(HTTP {', '.join(f'{c}×{n}' for c, n in codes.items())}); "
        f"{r['lost']} of {r['expected'] * r['open']:,} board events lost; {r['extra']:,} "
        "more events than POSTs"
        + (" (the stamp watcher's second announcements)" if watcher_doubles() else "")
        + "\n\n")  # fmt: skip
    out(line("POST → board event on the stream", r["latencies"]))
    out(line("POST → its response", r["post"]))
    out(line("response → board event (may be < 0)", r["after_answer"]))
    out(line("first → last stream to get an event", r["spread"]))
    if args.refresh:
        out(line("POST → page refreshed (200–600 ms wait incl.)", r["fresh"]))
        pages = sum(len(c) for c in r["refreshes"])
        out(f"  {pages:,} page refreshes; the server resolved the day board {len(resolved):,} "
            f"times ({len(resolved) / max(1, r['expected']):.1f} per absence), median "
            f"{percentile(resolved, 50):.0f} ms each\n")  # fmt: skip
    n = max(1, r["expected"])
    out(f"\n  server CPU {r['cpu']:.2f} s ({r['cpu'] / n * 1000:.1f} ms per event); "
        f"this client's CPU {r['cpu_self']:.2f} s\n")  # fmt: skip
    if r["errors"]:
        out(f"  {len(r['errors'])} client errors, first: {r['errors'][0]}\n")
    if messages:
        out("  the server's log (distinct lines, most frequent first):\n")
        for count, text in messages:
            out(f"    {count:>5} × {text[:150]}\n")
    if keep:
        out(f"  the server's whole log is kept in {server.log}\n")
    p99 = percentile(r["latencies"], 99) if r["latencies"] else float("inf")
    ok = p99 < TARGET_P99_S and r["lost"] == 0 and r["open"] == args.clients
    out(f"\nTarget\n  [{'PASS' if ok else 'MISS'}] live latency p99 < {TARGET_P99_S:g} s "
        f"with {args.clients} clients, none lost: {p99 * 1000:.1f} ms\n")  # fmt: skip
    out(f"Load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    return 1 if args.check and not ok else 0


def main(argv=None) -> int:
    args = parse_args(argv)
    database = BenchDatabase("live")
    try:
        return run(args, database)
    finally:
        database.drop()


if __name__ == "__main__":
    sys.exit(main())
