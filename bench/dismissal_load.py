"""A simulated dismissal under load: `python -m bench.dismissal_load [--students 1000]`.

Builds a throwaway database (a temporary SQLite file; with DATABASE_URL a temporary PostgreSQL
database of its own on that server, dropped at the end; with REDIS_URL the channel layer in
Redis) with one elementary school of `--students` students (the demo generator), car tags for
every family (dismissal.services.tags_assign), and today a school day whose dismissal is
`--lead` minutes from now at the school, so that check-in is open. It starts the real server
(uvicorn on lastbell.asgi, as `lastbell serve` does; `--workers`) and plays a dismissal against
it from concurrent clients, each a browser or phone with its own signed-in session
(bench/dismissal_browser.py):

- families arrive over `--duration` seconds (a Poisson process); each family that picks up
  is checked in by its car tag at the curb (`--curb` staff devices, POST curb/check-in/) or,
  for a share (`--phone-share`) of the families whose guardian has a parent-page account,
  by "I'm here" on the guardian's phone (POST /family/check-in/<id>/, htmx), which then polls
  the card every 5 s as the page does;
- every homeroom's classroom screen is open, signed in as its teacher, with its live stream:
  on each board event it fetches its live part again (app.js), and the benchmark notes when
  each checked-in student first shows there; after `--teacher-delay` seconds the teacher
  presses "Sent" for the students called (POST classroom/sent/ by htmx: the region comes back);
- `--doors` door staff release each sent student after `--walk` seconds to a guardian on file,
  with a verification (GET release/<id>/, then POST it);
- a groups screen releases every bus, the walkers, the bikers and the programs by "All
  aboard" (POST groups/release/), spread over the run;
- the curb devices, the door devices, the groups screen and an overview screen follow the
  live stream too. Every form posted is followed by its redirect, as a browser does, and the
  new page opens a new stream.

`--what-if` runs experiments, to size changes to lastbell/ before making them: see
WHAT_IF below and bench/dismissal_server.py.

`--soak-minutes N` keeps the same server running and plays the dismissal again and again, at
a new school of the same size each time (a school's day happens once: its chain of custody
only grows), until N minutes have passed; it notes the server processes' memory (RSS, from
/proc) after the first dismissal (the warm-up) and after each one, and prints them with
their trend after the last dismissal's figures. Without it the run is a single dismissal.

It prints, per action, count, errors, p50, p95, p99 and throughput, the time from a check-in
(its POST sent) to the student on the classroom screen, and the targets of issue 5 §9:
p99 of check-in and of release ≤ 200 ms, p99 check-in → classroom screen ≤ 1 s, no errors.
`--check` exits 1 when one is missed. See bench/README.md, "Dismissal under load".
"""

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.dismissal_browser import Browser
from bench.dismissal_school import DOOR, Prepared, prepare, tally
from bench.serving import (
    BenchDatabase,
    Server,
    channel_layer_label,
    group_members,
    machine_line,
    percentile,
)

TARGET_ACTION_P99_S = 0.200
TARGET_SHOWN_P99_S = 1.0
PHONE_POLL_S = 5  # family/check_in.py POLL_ACTIVE
ACTIONS = ("check-in (tag)", "check-in (phone)", "sent", "release", "All aboard")
# Experiments (--what-if), played by the server (bench/dismissal_server.py, in the server's
# process only).
WHAT_IF = {
    "reuse-board": "one family's or student's board is taken from the school's reused board",
    "close-db": "every request closes its database connection (CONN_MAX_AGE 0; PostgreSQL)",
    "objects": "with --soak-minutes, the server's Python objects counted after each dismissal",
    "gc-pauses": "the garbage collector's pauses timed, per generation, printed at the end",
    "sql": "every statement's execute timed (wall and CPU), the costliest printed at the end",
}
SERVER_WHAT_IF = {"reuse-board", "close-db", "objects", "sql", "gc-pauses"}
CALLED = re.compile(rb'id="sent-(\d+)"')
CARD_POLL = re.compile(rb'status/\?v=([0-9a-f]+)"')


def pair(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    return float(low), float(high or low)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.dismissal_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--students", type=int, default=1000, help="default 1000")
    parser.add_argument(
        "--duration", type=float, default=180,
        help="seconds over which families arrive (default 180)",
    )  # fmt: skip
    parser.add_argument("--curb", type=int, default=3, help="curb staff devices (default 3)")
    parser.add_argument("--doors", type=int, default=4, help="door staff devices (default 4)")
    parser.add_argument(
        "--classrooms", type=int, default=None,
        help="classroom screens, one per homeroom (default: every homeroom)",
    )  # fmt: skip
    parser.add_argument(
        "--phone-share", type=float, default=0.2,
        help="share of arriving families that check in on a guardian's phone (default 0.2; "
        "at most the families with a parent-page account)",
    )  # fmt: skip
    parser.add_argument(
        "--teacher-delay", type=pair, default=(1.0, 4.0), metavar="MIN,MAX",
        help="seconds from a student shown to the teacher's 'Sent' (default 1,4)",
    )  # fmt: skip
    parser.add_argument(
        "--walk", type=pair, default=(2.0, 8.0), metavar="MIN,MAX",
        help="seconds from 'Sent' to the release at the door (default 2,8)",
    )  # fmt: skip
    parser.add_argument(
        "--drain", type=float, default=120,
        help="seconds after the last arrival for the last releases (default 120)",
    )  # fmt: skip
    parser.add_argument(
        "--lead", type=int, default=10, help="minutes from now to dismissal (default 10)"
    )
    parser.add_argument(
        "--workers", type=int, default=1,
        help="server processes (default 1; more need REDIS_URL, and PostgreSQL)",
    )  # fmt: skip
    parser.add_argument(
        "--what-if", default="", metavar="NAME[,NAME]",
        help="experiments: " + ", ".join(WHAT_IF) + " (see WHAT_IF in this file)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", metavar="FILE",
        help="sample the server with py-spy (on PATH, or $PY_SPY) while the dismissal runs, "
        "keep the stacks in FILE (collapsed) and print where the server's time went",
    )  # fmt: skip
    parser.add_argument(
        "--soak-minutes", type=float, default=0, metavar="N",
        help="play dismissals one after another, each at a new school, for N minutes, and "
        "report the server's memory after the first and at the end (default: one dismissal)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 when a target is missed"
    )
    parser.add_argument(
        "--trace", type=int, default=0, metavar="N",
        help="show the N students slowest to reach their classroom screen, with what that "
        "screen heard and fetched meanwhile",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.what_if = [name for name in args.what_if.split(",") if name]
    if unknown := set(args.what_if) - set(WHAT_IF):
        parser.error(f"no such experiment: {', '.join(sorted(unknown))}")
    if args.workers > 1 and not (os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL")):
        parser.error("--workers > 1 needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    return args


# ---------------------------------------------------------------------------------------------
# The run: what every client records


class Run:
    def __init__(self, args, school: Prepared, port: int):
        self.args = args
        self.school = school
        self.school_id = school.school_id
        self.port = port
        self.rng = random.Random(args.seed)
        self.times: dict[str, list[float]] = defaultdict(list)  # label → seconds, answered ok
        self.started = float("inf")  # when the first family may come
        self.timeline: list[tuple[float, float]] = []  # (answered at, seconds), every request
        self.connections: dict[bool, list[float]] = {True: [], False: []}  # kept one or new
        self.failures: dict[str, list[str]] = defaultdict(list)  # label → what went wrong
        self.board_events = 0
        self.regions_pushed = 0  # live regions the server rendered down a stream (live/push.py)
        self.silences: list[float] = []  # seconds between two events on one open stream
        self.checked_in: dict[int, float] = {}  # student → when its check-in was sent
        # Every check-in posted: (sent, answered) in wall-clock seconds, when sent in this
        # clock, and the family's students (the server may call only some of them: a
        # custody order naming the guardian, a half-sibling of another guardian).
        self.check_in_posts: list[tuple[float, float, float, list[int]]] = []
        self.shown: dict[int, float] = {}  # student → first seen on its classroom screen
        self.shown_early: set[int] = set()  # seen before any check-in was sent for them
        self.released: set[int] = set()
        self.sent: set[int] = set()
        self.curb_wait: list[float] = []  # an arrived car waiting for a free curb device
        self.family_of = {pk: f for f in school.families for pk in f.students}
        self.screens = {c.homeroom_id for c in school.classrooms}
        # homeroom → its writes sent, each [when its answer came, or None while in flight]
        self.writes: dict[int, list[list]] = defaultdict(list)
        self.curb_queue: asyncio.Queue = asyncio.Queue()
        self.door_queue: asyncio.PriorityQueue = asyncio.PriorityQueue()
        self.active = True

    def record(self, label, started, ended, ok, detail):
        if ended >= self.started and label != "live stream opened":
            self.timeline.append((ended - self.started, ended - started))
        if ok:
            self.times[label].append(ended - started)
        else:
            self.failures[label].append(detail)

    def failure(self, label, detail):
        self.failures[label].append(detail)

    def appeared(self, student_id: int, at: float) -> None:
        if student_id in self.shown or student_id in self.shown_early:
            return
        if student_id not in self.checked_in:
            self.shown_early.add(student_id)
            return
        self.shown[student_id] = at

    def touched(self, student_ids) -> list[list]:
        """A write for these students is about to be sent (--what-if homeroom-events): a
        note for each of their homerooms, to pass to `answered` when its answer comes."""
        notes = []
        for homeroom in {self.school.homeroom_of.get(pk) for pk in student_ids}:
            notes.append([None])
            self.writes[homeroom].append(notes[-1])
        return notes

    @staticmethod
    def answered(notes: list[list], response) -> None:
        at = response.ended if response is not None else time.monotonic()
        for note in notes:
            note[0] = at

    def to_door(self, student_ids) -> None:
        low, high = self.args.walk
        for pk in student_ids:
            self.sent.add(pk)
            self.door_queue.put_nowait((time.monotonic() + self.rng.uniform(low, high), pk))

    def expected_shown(self) -> list[int]:
        return [pk for pk in self.checked_in if self.school.homeroom_of.get(pk) in self.screens]


class Classroom(Browser):
    """A homeroom's screen: notes each student called the first time it shows them."""

    def __init__(self, run, name, cookie, homeroom_id):
        super().__init__(run, name, cookie)
        self.homeroom_id = homeroom_id
        self.covered = float("-inf")  # writes answered before this are on the page shown
        self.called: set[int] = set()
        self.done: set[int] = set()
        self.wake = asyncio.Event()
        self.trace: list = []

    def on_page(self, path, response):
        self.trace.append(
            (
                "page",
                response.started,
                response.ended,
                set(int(pk) for pk in CALLED.findall(response.body)),
            )
        )
        self.covered = max(self.covered, response.started)
        called = {int(pk) for pk in CALLED.findall(response.body)}
        for pk in called:
            self.run.appeared(pk, response.ended)
        self.called = called
        if called - self.done:
            self.wake.set()

    def on_stream_open(self, at):
        self.trace.append(("stream", at, None))

    def on_board(self, homerooms=None):
        """Noted for --trace; the page skips other homerooms as app.js does (Browser)."""
        self.trace.append(("event", time.monotonic(), homerooms))
        super().on_board(homerooms)


# ---------------------------------------------------------------------------------------------
# The people


def paths(school_id: int) -> dict[str, str]:
    base = f"/schools/{school_id}/dismissal/"
    return {
        "curb": f"{base}curb/?door={DOOR.replace(' ', '+')}", "check_in": f"{base}curb/check-in/",
        "classroom": f"{base}classroom/", "sent": f"{base}classroom/sent/",
        "release": f"{base}release/", "groups": f"{base}groups/",
        "group_release": f"{base}groups/release/", "overview": base,
        "phone": f"/family/check-in/{school_id}/",
        "status": f"/family/check-in/{school_id}/status/",
    }  # fmt: skip


async def curb_device(run: Run, browser: Browser, p: dict) -> None:
    await browser.navigate(p["curb"], "curb page")
    while True:
        family, arrived = await run.curb_queue.get()
        if family is None:
            return
        run.curb_wait.append(time.monotonic() - arrived)
        sent = time.monotonic()
        for pk in family.students:
            run.checked_in.setdefault(pk, sent)
        fields = {"method": "tag", "number": family.tag, "door": DOOR, "adult_name": ""}
        notes = run.touched(family.students)
        wall = time.time()
        response = await browser.submit(p["check_in"], fields, label="check-in (tag)",
                                        page_label="curb page")  # fmt: skip
        run.check_in_posts.append((wall, time.time(), sent, list(family.students)))
        run.answered(notes, response)
        if response is None or response.status != 302:
            for pk in family.students:
                run.checked_in.pop(pk, None)


async def phone(run: Run, family, p: dict) -> None:
    """A guardian's phone: the family page, "I'm here" (htmx), then the card's polls until
    the children are released."""
    device = Browser(run, f"phone {family.guardian_id}", family.phone)
    hx = {"HX-Request": "true", "HX-Target": f"checkin-{run.school_id}",
          "HX-Current-URL": f"http://127.0.0.1:{run.port}/family/"}  # fmt: skip
    try:
        page = "/family/"  # the family page; with one child there, that child's page
        response = await device.fetch("GET", page, label="family page", expect=(200, 302))
        if response is not None and response.status == 302:
            page = response.location
            await device.fetch("GET", page, label="family page")
        hx["HX-Current-URL"] = f"http://127.0.0.1:{run.port}{page}"
        sent = time.monotonic()
        for pk in family.students:
            run.checked_in.setdefault(pk, sent)
        notes = run.touched(family.students)
        fields = {"next": page, "csrfmiddlewaretoken": device.jar.get("csrftoken", "")}
        wall = time.time()
        response = await device.fetch("POST", p["phone"], label="check-in (phone)",
                                      fields=fields, headers=hx)  # fmt: skip
        run.check_in_posts.append((wall, time.time(), sent, list(family.students)))
        run.answered(notes, response)
        if response is None or response.status != 200 or b'class="alert"' in response.body:
            if response is not None and response.status == 200:
                alert = re.search(rb'class="alert"[^>]*>([^<]*)', response.body)
                run.failure("check-in (phone)", f"refused: {alert.group(1)[:160]!r}")
            for pk in family.students:
                run.checked_in.pop(pk, None)
            return
        body = response.body
        while run.active and (found := CARD_POLL.search(body)):
            await asyncio.sleep(PHONE_POLL_S)
            response = await device.fetch(
                "GET", f"{p['status']}?v={found.group(1).decode()}", label="phone: card poll",
                headers=hx, expect=(200, 204),
            )  # fmt: skip
            if response is not None and response.status == 200:
                body = response.body
    finally:
        await device.close()


async def teacher(run: Run, screen: Classroom, p: dict) -> None:
    await screen.navigate(p["classroom"], "classroom page")
    low, high = run.args.teacher_delay
    while run.active:
        await screen.wake.wait()
        screen.wake.clear()
        await asyncio.sleep(run.rng.uniform(low, high))
        todo = sorted(screen.called - screen.done)
        if not todo:
            continue
        fields = {"homeroom": "", "grade": "", "student": todo}
        notes = run.touched(todo)
        response = await screen.post_live(p["sent"], fields, label="sent")
        run.answered(notes, response)
        screen.done.update(todo)
        if response is not None and response.status == 200:
            run.to_door(todo)


async def door_device(run: Run, browser: Browser, p: dict) -> None:
    await browser.navigate(p["release"], "release page")
    while True:
        ready, pk = await run.door_queue.get()
        if pk is None:
            return
        if (wait := ready - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        family = run.family_of[pk]
        page = f"{p['release']}{pk}/"
        await browser.navigate(page, "release page")
        fields = {"person": f"guardian:{family.release_to[pk]}", "note": "",
                  "verification": "photo_id" if family.phone else "car_tag"}  # fmt: skip
        notes = run.touched([pk])
        response = await browser.submit(page, fields, label="release", page_label="release page")
        run.answered(notes, response)
        if response is not None and response.status == 302:
            run.released.add(pk)


async def groups_screen(run: Run, browser: Browser, p: dict, started: float) -> None:
    """'All aboard' for each group, spread from 30 % to 90 % of the arrivals' duration."""
    groups = run.school.groups
    for n, group in enumerate(groups):
        at = started + run.args.duration * (0.3 + 0.6 * n / max(1, len(groups) - 1))
        if (wait := at - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        await browser.navigate(p["groups"], "groups page")
        notes = run.touched(group.students)
        response = await browser.submit(
            p["group_release"], {"group": group.key, "student": group.students},
            label="All aboard", page_label="groups page",
        )  # fmt: skip
        run.answered(notes, response)
        run.released.update(group.students)


async def arrivals(run: Run, p: dict, started: float, phones: set) -> None:
    """Families arrive as a Poisson process: `--duration` seconds on average for all."""
    families = list(run.school.families)
    run.rng.shuffle(families)
    rate = len(families) / run.args.duration
    at = started
    for family in families:
        at += run.rng.expovariate(rate)
        if (wait := at - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        if family.phone:
            task = asyncio.get_running_loop().create_task(phone(run, family, p))
            phones.add(task)
        else:
            run.curb_queue.put_nowait((family, time.monotonic()))


async def play(args, school: Prepared, server: Server) -> tuple[Run, dict]:
    run = Run(args, school, server.port)
    p = paths(school.school_id)
    rooms = school.classrooms[: args.classrooms] if args.classrooms else school.classrooms
    run.screens = {c.homeroom_id for c in rooms}
    staff = iter(school.staff)
    curb = [Browser(run, f"curb {n}", next(staff)) for n in range(args.curb)]
    doors = [Browser(run, f"door {n}", next(staff)) for n in range(args.doors)]
    groups_browser = Browser(run, "groups", next(staff))
    office = Browser(run, "overview", next(staff))
    screens = [Classroom(run, room.name, room.cookie, room.homeroom_id) for room in rooms]
    run.classrooms = {s.homeroom_id: s for s in screens}
    browsers = [*curb, *doors, groups_browser, office, *screens]

    # The screens open (a page load each, then its stream) before the first car comes.
    opened = time.monotonic()
    await asyncio.gather(office.navigate(p["overview"], "overview page"),
                         groups_browser.navigate(p["groups"], "groups page"))  # fmt: skip
    teachers = [asyncio.create_task(teacher(run, s, p)) for s in screens]
    curb_tasks = [asyncio.create_task(curb_device(run, b, p)) for b in curb]
    door_tasks = [asyncio.create_task(door_device(run, b, p)) for b in doors]
    deadline = time.monotonic() + 60
    while (len(run.times["live stream opened"]) < len(browsers)
           and time.monotonic() < deadline):  # fmt: skip
        await asyncio.sleep(0.1)
    ready_s = time.monotonic() - opened
    await asyncio.sleep(1.0)

    cpu, cpu_self = server.cpu(), time.process_time()
    loads = [os.getloadavg()[0]]
    started = run.started = time.monotonic()
    phones: set[asyncio.Task] = set()
    groups_task = asyncio.create_task(groups_screen(run, groups_browser, p, started))
    arriving = asyncio.create_task(arrivals(run, p, started, phones))

    async def sample_load():
        while True:
            await asyncio.sleep(5)
            loads.append(os.getloadavg()[0])

    sampler = asyncio.create_task(sample_load())
    await arriving
    last_arrival = time.monotonic()
    for _ in curb:
        run.curb_queue.put_nowait((None, 0.0))
    await asyncio.gather(*curb_tasks)
    await groups_task
    # The last releases: every student checked in released, or the drain time is over.
    deadline = time.monotonic() + args.drain
    while time.monotonic() < deadline:
        waiting = [pk for pk in run.checked_in if pk not in run.released]
        if not waiting and all(t.done() for t in phones):
            break
        await asyncio.sleep(0.25)
    ended = time.monotonic()
    cpu, cpu_self = server.cpu() - cpu, time.process_time() - cpu_self
    run.active = False
    sampler.cancel()
    for _ in doors:
        run.door_queue.put_nowait((0.0, None))
    for task in teachers:
        task.cancel()
    await asyncio.gather(*door_tasks, *teachers, return_exceptions=True)
    for task in phones:
        task.cancel()
    await asyncio.gather(*phones, return_exceptions=True)
    for browser in browsers:
        await browser.close()
    return run, {
        "ready_s": ready_s, "seconds": ended - started, "arrivals_s": last_arrival - started,
        "cpu": cpu, "cpu_self": cpu_self, "loads": loads, "streams": len(browsers),
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Where the server's time goes: py-spy, from outside the server (every thread, no changes)


class Profiler:
    def __init__(self, path: str, pid: int):
        tool = os.environ.get("PY_SPY") or shutil.which("py-spy")
        if not tool:
            raise SystemExit("--profile needs py-spy: pip install py-spy (or set PY_SPY)")
        self.path = path
        argv = [tool, "record", "--pid", str(pid), "--subprocesses", "--rate", "50",
                "--nonblocking", "--format", "raw", "--output", path]  # fmt: skip
        self.proc = subprocess.Popen(  # noqa: S603 — the profiler on our own server
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def summary(self, top: int = 30) -> str:
        """The functions the server spent most samples in (inclusive), the app's and
        Django's, with their share of all samples taken while it was busy."""
        inclusive: dict[str, int] = defaultdict(int)
        total = 0
        try:
            lines = open(self.path, errors="replace").read().splitlines()  # noqa: SIM115, PTH123
        except OSError:
            return "  (no profile was written)\n"
        for line in lines:
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            seen = set()
            for frame in stack.split(";"):
                name, _, where = frame.partition(" (")
                where = where.split(":")[0]
                for cut in ("site-packages/", "/work/main/"):
                    if cut in where:
                        where = where.split(cut, 1)[1]
                key = f"{name} ({where})"
                if key not in seen:
                    seen.add(key)
                    inclusive[key] += n
        if not total:
            return "  (no samples)\n"
        rows = sorted(inclusive.items(), key=lambda item: -item[1])
        text = f"  {total:,} samples of busy server threads (50 per second)\n"
        for key, n in rows[:top]:
            text += f"  {n / total * 100:5.1f} %  {key[:120]}\n"
        return text


# ---------------------------------------------------------------------------------------------
# Soak: the server's memory over dismissals one after another


def server_rss_mb(pid: int) -> float:
    """Resident memory (VmRSS, /proc) of the server process and its children, in MB."""
    pids = [pid]
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                        pids.append(int(entry))
    total_kb = 0
    for p in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
    return total_kb / 1024


class Soak:
    """Each dismissal's end: when (minutes since the soak began), the server's RSS, and its
    headline figures (`failed`: requests that failed; the last dismissal's full figures and
    errors are printed above the soak's)."""

    def __init__(self, minutes: float, snapshots: str | None = None):
        self.minutes = minutes
        self.began = time.monotonic()
        self.rounds: list[dict] = []
        self.snapshots = snapshots  # --what-if objects: the server's counts go here

    def snapshot(self, server: "Server") -> None:
        """Ask the server to count its objects (bench/dismissal_server.py, `objects`) and wait
        until the counts are written."""
        before = set(os.listdir(self.snapshots))
        os.kill(server.proc.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if set(os.listdir(self.snapshots)) - before:
                time.sleep(0.5)  # written whole (one small file)
                return
            time.sleep(0.2)
        raise RuntimeError("the server wrote no object counts in 5 minutes")

    def growth(self, top: int = 15) -> None:
        """Which kinds of Python object grew from the second count (after the first dismissal
        after the warm-up) to the last."""
        import json

        names = sorted(n for n in os.listdir(self.snapshots) if n.endswith(".json"))
        if len(names) < 3:
            sys.stdout.write("  objects: too few counts for a comparison\n")
            return
        counts = [json.loads(Path(self.snapshots, n).read_text()) for n in names]
        first, last = counts[1], counts[-1]
        totals = [sum(c["counts"].values()) for c in counts]
        sys.stdout.write(
            "\n  Python objects after each dismissal: "
            + ", ".join(f"{t:,}" for t in totals)
            + f"\n  grew most from dismissal 2 to {len(counts)} (count, shallow size):\n"
        )
        grew = sorted(last["counts"], key=lambda k: last["counts"][k]
                      - first["counts"].get(k, 0), reverse=True)[:top]  # fmt: skip
        for kind in grew:
            count = last["counts"][kind] - first["counts"].get(kind, 0)
            size = (last["sizes"][kind] - first["sizes"].get(kind, 0)) / 2**10
            sys.stdout.write(f"  {count:+9,d} {size:+9.0f} KB  {kind}\n")

    def note(self, server: "Server", run: Run, figures: dict) -> None:
        checkins = run.times["check-in (tag)"] + run.times["check-in (phone)"]
        releases = run.times["release"]
        self.rounds.append({
            "at_min": (time.monotonic() - self.began) / 60,
            "rss_mb": server_rss_mb(server.proc.pid),
            "seconds": figures["seconds"],
            "requests": len(run.timeline),
            "check_in_p99_ms": percentile(checkins, 99) * 1000 if checkins else None,
            "release_p99_ms": percentile(releases, 99) * 1000 if releases else None,
            "errors": sum(len(found) for found in run.failures.values()),
        })  # fmt: skip
        if self.snapshots is not None:
            self.snapshot(server)

    def more(self) -> bool:
        return time.monotonic() - self.began < self.minutes * 60

    def report(self) -> None:
        out = sys.stdout.write
        rounds = self.rounds
        out(f"\nSoak      {len(rounds)} dismissals in {rounds[-1]['at_min']:.1f} min "
            f"(asked: {self.minutes:g} min), one server all along, a new school each "
            "time\n")  # fmt: skip
        out(f"  {'dismissal':>9} {'ended at':>9} {'RSS MB':>8} {'requests':>9} "
            f"{'check-in p99':>13} {'release p99':>12} {'failed':>7}\n")  # fmt: skip
        for n, r in enumerate(rounds, 1):
            checkin = f"{r['check_in_p99_ms']:.0f} ms" if r["check_in_p99_ms"] else "–"
            release = f"{r['release_p99_ms']:.0f} ms" if r["release_p99_ms"] else "–"
            out(f"  {n:>9} {r['at_min']:>7.1f} m {r['rss_mb']:>8.1f} {r['requests']:>9} "
                f"{checkin:>13} {release:>12} {r['errors']:>7}"
                f"{'  (warm-up)' if n == 1 else ''}\n")  # fmt: skip
        start, end = rounds[0], rounds[-1]
        out(
            f"  server memory: {start['rss_mb']:.1f} MB after the warm-up, "
            f"{end['rss_mb']:.1f} MB at the end ({end['rss_mb'] - start['rss_mb']:+.1f} MB)"
        )
        if len(rounds) >= 3:
            # Least squares over the dismissals after the warm-up: MB per dismissal and per hour.
            xs = [r["at_min"] for r in rounds[1:]]
            ys = [r["rss_mb"] for r in rounds[1:]]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            var = sum((x - mx) ** 2 for x in xs)
            slope = (
                sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0
            )
            per_round = (ys[-1] - ys[0]) / (len(ys) - 1)
            out(f"; trend after the warm-up {slope * 60:+.1f} MB/hour "
                f"({per_round:+.1f} MB per dismissal)\n")  # fmt: skip
        else:
            out("; too few dismissals after the warm-up for a trend (soak longer)\n")


# ---------------------------------------------------------------------------------------------
# Figures


def slowest(run: Run, expected: list[int], n: int) -> str:
    """--trace: the `n` students slowest to show, with what their classroom screen heard
    (events naming its homeroom, or every homeroom) and fetched, from their check-in on."""
    text = ""
    worst = sorted((run.shown[pk] - run.checked_in[pk], pk) for pk in expected
                   if pk in run.shown)[-n:]  # fmt: skip
    for took, pk in worst:
        t0, screen = run.checked_in[pk], run.classrooms[run.school.homeroom_of[pk]]
        text += f"  student {pk}: shown {took:.1f} s after the check-in that called them\n"
        for kind, at, *rest in screen.trace:
            if not t0 - 1 <= at <= run.shown[pk] + 0.1:
                continue
            if kind == "page":
                ended, called = rest
                text += (
                    f"    page  {at - t0:6.2f}–{ended - t0:6.2f} s  shows them: {pk in called}\n"
                )
            elif kind == "stream":
                text += f"    stream listening at {at - t0:6.2f} s\n"
            elif rest[0] is None or screen.homeroom_id in rest[0]:
                text += f"    event {at - t0:6.2f} s  homerooms {rest[0] or 'all'}\n"
        others = sum(1 for kind, at, *rest in screen.trace if kind == "event"
                     and t0 <= at <= run.shown[pk] and rest[0] is not None
                     and screen.homeroom_id not in rest[0])  # fmt: skip
        text += f"    ({others} events of other homerooms meanwhile)\n"
    return text


def row(label: str, values: list[float], errors: int, seconds: float) -> str:
    if not values:
        return f"  {label:<24} {0:>6} {errors:>6}  (none answered)\n"
    p50, p95, p99 = (percentile(values, q) * 1000 for q in (50, 95, 99))
    return (
        f"  {label:<24} {len(values) + errors:>6} {errors:>6} {p50:>8.1f} {p95:>8.1f} "
        f"{p99:>8.1f} {max(values) * 1000:>8.1f} {len(values) / seconds:>7.2f}/s\n"
    )


def report(args, school: Prepared, run: Run, r: dict, db: dict, messages: list) -> bool:
    out = sys.stdout.write
    seconds = r["seconds"]
    out(f"Last Bell dismissal under load — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n")
    out(f"Machine   {machine_line()}\n")
    out(f"Database  {school.database}\n")
    out(f"Server    uvicorn lastbell.asgi:application, {args.workers} process"
        f"{'es' if args.workers > 1 else ''}; channel layer {channel_layer_label()}\n")  # fmt: skip
    for name in args.what_if:
        out(f"What if  {name}: {WHAT_IF[name]}\n")
    counts = sorted(school.plan_counts.items(), key=lambda item: -item[1])
    plans = ", ".join(f"{k} {v}" for k, v in counts)
    out(f"School    {school.students:,} students today ({plans}); {school.tags} car tags; "
        f"{len(school.classrooms)} homerooms; built in {school.build_s:.1f} s\n")  # fmt: skip
    out(f"Day       {school.today} ({school.timezone}), dismissal {school.dismiss_at:%H:%M}\n")
    phones = sum(1 for f in school.families if f.phone)
    out(f"Clients   {len(school.families)} families to the curb over {args.duration:g} s "
        f"(Poisson; {phones} by phone, {len(school.families) - phones} by car tag at "
        f"{args.curb} curb devices; {sum(len(f.students) for f in school.families)} "
        f"students); {len(school.groups)} groups by 'All aboard' "
        f"({sum(len(g.students) for g in school.groups)} students); {r['streams']} screens "
        f"with a live stream ({len(run.screens)} classrooms, {args.curb} curb, {args.doors} "
        f"door, groups, overview), open in {r['ready_s']:.1f} s\n")  # fmt: skip
    if school.skipped:
        out("          left out: " + ", ".join(f"{v} {k}" for k, v in school.skipped.items())
            + "\n")  # fmt: skip
    out(f"Run       {seconds:.0f} s (arrivals {r['arrivals_s']:.0f} s); server CPU "
        f"{r['cpu']:.0f} s ({r['cpu'] / seconds * 100:.0f} % of one core); this client's CPU "
        f"{r['cpu_self']:.0f} s; {run.board_events:,} board events heard, "
        f"{run.regions_pushed:,} of them live regions pushed\n\n")  # fmt: skip

    out(f"  {'action':<24} {'count':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8} {'rate':>9}\n")  # fmt: skip
    labels = [*ACTIONS, *sorted(set(run.times) | set(run.failures) - set(ACTIONS))]
    for label in dict.fromkeys(labels):
        if label in ACTIONS or run.times.get(label) or run.failures.get(label):
            out(row(label, run.times.get(label, []), len(run.failures.get(label, [])), seconds))

    expected = run.expected_shown()
    # From the check-in that called the student: the post whose answer covers the moment
    # the server recorded it, not the family's first post (which may have left them out).
    called_by = {}
    for pk, at in db.get("first_check_in", {}).items():
        for wall, answered, sent, students in run.check_in_posts:
            if pk in students and wall - 0.5 <= at <= answered + 0.5:
                called_by[pk] = sent
                break
    later = sum(1 for pk in expected if pk in called_by and called_by[pk] > run.checked_in[pk])
    run.checked_in.update({pk: sent for pk, sent in called_by.items() if pk in run.checked_in})
    shown = [run.shown[pk] - run.checked_in[pk] for pk in expected if pk in run.shown]
    not_shown = [pk for pk in expected if pk not in run.shown]
    out("\n")
    out(row("check-in → classroom", shown, len(not_shown), seconds).replace("/s", " students/s"))
    if later:
        out(
            f"  ({later} students were called by a later check-in than their family's first: "
            "timed from the one that called them)\n"
        )
    if args.trace:
        out(slowest(run, expected, args.trace))
    if run.curb_wait:
        out(f"  (a car waited for a free curb device: p50 {percentile(run.curb_wait, 50):.2f} s, "
            f"max {max(run.curb_wait):.2f} s — not in the check-in figures)\n")  # fmt: skip
    out("\n  over time (every request but streams, by when it was answered):\n")
    step = 30
    for start in range(0, int(seconds) + 1, step):
        window = [d for at, d in run.timeline if start <= at < start + step]
        if window:
            out(f"    {start:>4}–{start + step:<4} s  {len(window) / step:5.1f} requests/s  p50 "
                f"{percentile(window, 50) * 1000:7.0f} ms  p99 "
                f"{percentile(window, 99) * 1000:7.0f} ms\n")  # fmt: skip
    if run.silences:
        out(f"    between two board events on an open stream: p50 "
            f"{percentile(run.silences, 50):.1f} s, p99 {percentile(run.silences, 99):.1f} s, "
            f"max {max(run.silences):.1f} s ({len(run.silences):,})\n")  # fmt: skip
    for reused, name in ((True, "a kept connection"), (False, "a new connection")):
        if found := run.connections[reused]:
            out(f"    on {name:<17}  {len(found):>6} requests  p50 "
                f"{percentile(found, 50) * 1000:7.0f} ms  p99 "
                f"{percentile(found, 99) * 1000:7.0f} ms\n")  # fmt: skip
    unreleased = [pk for pk in run.checked_in if pk not in run.released]
    out(f"\nDatabase after the run: {db.get('checked_in', 0)} checked in, {db.get('sent', 0)} "
        f"sent, {db.get('released', 0)} release events for {db.get('released_students', 0)} "
        f"students; {db.get('undone', 0)} undone; {db.get('on_campus', 0)} still on "
        "campus\n")  # fmt: skip
    out(f"Load average: {r['loads'][0]:.2f} at the start, max {max(r['loads']):.2f} during the "
        f"run; now {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")  # fmt: skip

    errors = {label: found for label, found in run.failures.items() if found}
    problems = sum(len(found) for found in errors.values()) + len(not_shown) + len(unreleased)
    problems += len(run.shown_early)
    if errors or not_shown or unreleased or run.shown_early:
        out("\nErrors\n")
        for label, found in errors.items():
            counts = defaultdict(int)
            for detail in found:
                counts[detail[:200]] += 1
            for detail, n in sorted(counts.items(), key=lambda i: -i[1])[:3]:
                out(f"  {label}: {n} × {detail}\n")
        if not_shown:
            out(f"  {len(not_shown)} students checked in never showed on their classroom "
                "screen\n")  # fmt: skip
        if unreleased:
            out(f"  {len(unreleased)} students checked in were not released by the end\n")
        if run.shown_early:
            out(f"  {len(run.shown_early)} students showed as called before their check-in\n")
    if messages:
        out("  the server's log (distinct lines, most frequent first):\n")
        for count, text in messages:
            out(f"    {count:>5} × {text[:150]}\n")

    checkins = run.times["check-in (tag)"] + run.times["check-in (phone)"]
    p99 = {
        "check-in": percentile(checkins, 99) if checkins else float("inf"),
        "release": percentile(run.times["release"], 99) if run.times["release"] else float("inf"),
        "shown": percentile(shown, 99) if shown else float("inf"),
    }
    results = [
        ("p99 of check-in (tag and phone POSTs) ≤ 200 ms",
         p99["check-in"] <= TARGET_ACTION_P99_S, f"{p99['check-in'] * 1000:.0f} ms"),
        ("p99 of release (POST) ≤ 200 ms",
         p99["release"] <= TARGET_ACTION_P99_S, f"{p99['release'] * 1000:.0f} ms"),
        ("p99 check-in → on the classroom screen ≤ 1 s",
         p99["shown"] <= TARGET_SHOWN_P99_S, f"{p99['shown'] * 1000:.0f} ms"),
        ("no errors", problems == 0, f"{problems} errors"),
    ]  # fmt: skip
    out("\nTargets (issue 5 §9)\n")
    for text, ok, figure in results:
        out(f"  [{'PASS' if ok else 'MISS'}] {text}: {figure}\n")
    return all(ok for _, ok, _ in results)


def main(argv=None) -> int:
    args = parse_args(argv)
    database = BenchDatabase("dismissal")
    soak = None
    try:
        devices = args.curb + args.doors + 2
        school = prepare(
            students=args.students, seed=args.seed, lead_minutes=args.lead,
            phone_share=args.phone_share, devices=devices, database_label=database.label,
        )  # fmt: skip
        group_members(school.school_id, clear=True)  # an earlier run's dead streams (Redis)
        server = Server(workers=args.workers)
        if server_what_if := [n for n in args.what_if if n in SERVER_WHAT_IF]:
            server.module = "bench.dismissal_server"
            server.env = {"BENCH_WHATIF": ",".join(server_what_if)}
        snapshots = None
        if "objects" in args.what_if and args.soak_minutes:
            snapshots = tempfile.mkdtemp(prefix="lastbell-objects-")
            server.env["BENCH_OBJECTS_DIR"] = snapshots
        sql_times = None
        if "sql" in args.what_if:
            sql_times = os.path.join(tempfile.mkdtemp(prefix="lastbell-sql-"), "sql.txt")
            server.env["BENCH_SQL_FILE"] = sql_times
        gc_pauses = None
        if "gc-pauses" in args.what_if:
            gc_pauses = os.path.join(tempfile.mkdtemp(prefix="lastbell-gc-"), "gc.json")
            server.env["BENCH_GC_FILE"] = gc_pauses
        server.start()
        profiler = Profiler(args.profile, server.proc.pid) if args.profile else None
        try:
            try:
                import uvloop

                factory = uvloop.new_event_loop
            except ImportError:  # pragma: no cover — uvicorn[standard] brings it
                factory = None
            soak = Soak(args.soak_minutes, snapshots) if args.soak_minutes else None
            run, figures = asyncio.run(play(args, school, server), loop_factory=factory)
            time.sleep(0.5)
            if soak is not None:
                soak.note(server, run, figures)
                while soak.more():
                    from django.test.utils import teardown_test_environment

                    group_members(school.school_id, clear=True)
                    teardown_test_environment()  # prepare() sets it up again
                    school = prepare(
                        students=args.students, seed=args.seed + len(soak.rounds),
                        lead_minutes=args.lead, phone_share=args.phone_share,
                        devices=devices, database_label=database.label,
                    )  # fmt: skip
                    run, figures = asyncio.run(play(args, school, server), loop_factory=factory)
                    time.sleep(0.5)
                    soak.note(server, run, figures)
        finally:
            if profiler is not None:
                profiler.stop()
            messages = server.messages()
            server.stop()
            group_members(school.school_id, clear=True)
        db = tally(school.school_id, school.today)
        ok = report(args, school, run, figures, db, messages)
        if soak is not None:
            soak.report()
            if snapshots is not None:
                soak.growth()
                shutil.rmtree(snapshots, ignore_errors=True)
        if profiler is not None:
            sys.stdout.write(f"\nWhere the server's time went (py-spy, {args.profile})\n")
            sys.stdout.write(profiler.summary())
        if gc_pauses is not None and os.path.exists(gc_pauses):
            sys.stdout.write("\nThe server's garbage collections (generation: count, total, "
                             "longest, over 20 ms)\n")  # fmt: skip
            with open(gc_pauses) as figures:
                for generation, seen in json.load(figures).items():
                    sys.stdout.write(
                        f"  {generation}: {seen['count']:6d} {seen['total']:7.2f} s "
                        f"{seen['max'] * 1000:7.1f} ms {seen['over_20ms']:5d}\n"
                    )
        if sql_times is not None and os.path.exists(sql_times):
            sys.stdout.write(f"\nThe server's SQL, costliest first ({sql_times}; count, wall, "
                             "CPU)\n")  # fmt: skip
            with open(sql_times) as lines:
                sys.stdout.writelines(line[:200].rstrip() + "\n" for line in list(lines)[:25])
        return 1 if args.check and not ok else 0
    finally:
        database.drop()


if __name__ == "__main__":
    sys.exit(main())
