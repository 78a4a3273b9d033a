"""What the API and live-update benchmarks share: a real server in a subprocess, a school to
post to, figures.

The server is what `lastbell serve --no-demo --no-worker` runs — uvicorn on
`lastbell.asgi:application` with the same options (uvloop and httptools, as installed) — on
the benchmark's throwaway database (bench/day_board.py's `ThrowawayDatabase`), started with
this process's environment, so it reads the same LASTBELL_DATA_DIR, database, SECRET_KEY and
REDIS_URL.
"""

import contextlib
import datetime as dt
import http.client
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.day_board import ThrowawayDatabase

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 60  # seconds for the server to answer its first request


# ---------------------------------------------------------------------------------------------
# The database, and the channel layer's leftovers


# bench/day_board.py's throwaway database; each benchmark passes a tag of its own.
BenchDatabase = ThrowawayDatabase


def group_members(school_id: int, *, clear: bool = False) -> int | None:
    """With REDIS_URL: how many channels are in the school's live group in Redis (and with
    `clear`, empty it). A server stopped while streams were open leaves its streams there, for
    channels-redis's group_expiry (settings: 2 minutes); every database here starts its school
    ids at 1, so a run would otherwise send to the last run's dead streams. None without
    Redis."""
    url = os.environ.get("REDIS_URL")
    if not url:
        return None
    import redis

    from lastbell.live.signals import group_name

    key = f"asgi:group:{group_name(school_id)}"  # channels-redis's default prefix
    client = redis.Redis.from_url(url)
    try:
        count = client.zcard(key)
        if clear:
            client.delete(key)
        return count
    finally:
        client.close()


# ---------------------------------------------------------------------------------------------
# Figures


def percentile(values, q: float) -> float:
    """The q-th percentile (0–100), interpolated between the closest ranks."""
    data = sorted(values)
    if not data:
        return float("nan")
    k = (len(data) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children, from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                        pids.append(int(entry))
    for p in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def machine_line() -> str:
    from bench.day_board import cpu_model

    return (
        f"{os.cpu_count()} CPUs ({cpu_model()}), {platform.platform()}, Python "
        f"{platform.python_version()}, load average "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )


# ---------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`uvicorn lastbell.asgi:application` in its own process group, output kept in a file."""

    def __init__(self, workers: int = 1, *, instrumented: bool = False, env: dict | None = None):
        self.port = free_port()
        self.workers = workers
        # bench/instrumented_server.py: the same server, counting board resolutions
        self.module = "bench.instrumented_server" if instrumented else "uvicorn"
        self.env = env or {}
        self.log = Path(tempfile.mkstemp(prefix="lastbell-bench-server-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Server":
        argv = [
            sys.executable, "-m", self.module,
            "lastbell.asgi:application" if self.module == "uvicorn"
            else "bench.instrumented_server:application",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--lifespan", "off", "--log-level", "warning", "--timeout-graceful-shutdown", "3",
            "--no-access-log",
        ]  # fmt: skip
        if self.workers > 1:
            argv += ["--workers", str(self.workers)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603 — our own program, fixed arguments
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=ROOT,
            )  # fmt: skip
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"The server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/accounts/sign-in/")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return self
                last = f"HTTP {status}"
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise SystemExit(f"The server did not answer in {STARTUP_TIMEOUT} s ({last}):\n"
                         + self.tail())  # fmt: skip

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid) if self.proc else 0.0

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"

    def resolutions(self) -> list[float]:
        """Milliseconds of each day board resolved so far (instrumented servers only)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        prefix = "bench: board resolved in "
        return [float(line[len(prefix) :].split()[0]) for line in text.splitlines()
                if line.startswith(prefix)]  # fmt: skip

    def messages(self, top: int = 6) -> list[tuple[int, str]]:
        """The server's distinct log lines (tracebacks' frames left out), most frequent first."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        counts: dict[str, int] = {}
        for line in text.splitlines():
            if line.startswith((" ", "\t", "Traceback", "+", "|", "bench: ")) or not line.strip():
                continue
            counts[line] = counts.get(line, 0) + 1
        return sorted(((n, line) for line, n in counts.items()), reverse=True)[:top]

    def stop(self, keep_log: bool = False):
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)  # the whole group: workers too
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever of the group is left
        self.proc.wait(timeout=10)
        self.proc = None
        if not keep_log:
            self.log.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# The school


@dataclass
class Setup:
    school_id: int
    school_code: str
    secret: str  # an API token with attendance:write and board:read, for the whole district
    cookie: str  # a signed-in session of the school's dismissal staff: "name=value"
    students: list[str]  # SIS ids of the school's students, active on the date
    date: dt.date
    database: str
    migrate_s: float
    build_s: float


def prepare(
    *, students: int, date: dt.date, seed: int, database_label: str, code: str = ""
) -> Setup:
    """Migrate the throwaway database and build one school of `students` with the demo
    generator; a token, a staff session. Django is set up here, in this process."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from bench.day_board import database_label as vendor_label
    from lastbell.accounts.models import Role, StaffMembership
    from lastbell.api.models import ApiToken, Permission
    from lastbell.demo.generator import build_school, create_district
    from lastbell.people.models import Student

    setup_test_environment()  # the test client's host (force_login only)
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    migrate_s = time.perf_counter() - started
    district = create_district(name="Benchmark Unified", slug="bench", seed=seed)
    started = time.perf_counter()
    school = build_school(district, students=students, today=date, seed=seed, kind="elementary")
    build_s = time.perf_counter() - started
    if code:  # Ed-Fi names schools by a number, matched against the school's code
        school.code = code
        school.save(update_fields=["code"])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    _, secret = ApiToken.issue(
        district=district, name="Benchmark feed",
        permissions=[Permission.ATTENDANCE_WRITE, Permission.BOARD_READ],
    )  # fmt: skip
    staff = StaffMembership.objects.filter(school=school, role=Role.DISMISSAL_STAFF).first().user
    client = Client()
    client.force_login(staff)
    session = client.cookies[settings.SESSION_COOKIE_NAME]
    sis_ids = list(
        Student.objects.filter(school=school, enrolled_on__lte=date)
        .exclude(withdrawn_on__lt=date)
        .order_by("pk")
        .values_list("sis_id", flat=True)
    )
    label = f"{vendor_label(connection)} ({database_label})"
    connection.close()  # the server has the database to itself from here
    return Setup(
        school_id=school.pk, school_code=school.code, secret=secret,
        cookie=f"{session.key}={session.value}", students=sis_ids, date=date, database=label,
        migrate_s=migrate_s, build_s=build_s,
    )  # fmt: skip


def channel_layer_label() -> str:
    url = os.environ.get("REDIS_URL")
    return f"channels-redis ({url})" if url else "in-memory (one process)"
