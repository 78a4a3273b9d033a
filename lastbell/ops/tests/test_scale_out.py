"""The scale-out proof (README, Production): two stateless web processes and a task worker on
PostgreSQL and Redis. An absence posted through one web process reaches a live stream held
open by the other, so fan-out really goes through Redis and nothing lives in one process.

The processes are real: `uvicorn lastbell.asgi:application` twice and `lastbell db_worker`,
on the test database (already migrated by pytest-django) with this process's SECRET_KEY, so
a session made here signs the staff member in over there.
"""

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.api.models import ApiToken, Permission
from lastbell.attendance.models import Absence

BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 60  # seconds for a web process to answer its first request
EVENT_TIMEOUT = 5  # seconds from the POST's response to the event on the other server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _test_database_url() -> str:
    """DATABASE_URL for the test database: the same server and user, pytest-django's NAME."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}@{host}{port}/{quote(db['NAME'], safe='')}"


class Processes:
    """Subprocesses, each in its own process group, their output in files for failures."""

    def __init__(self, env: dict, logs: Path):
        self.env, self.logs = env, logs
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        out = (self.logs / f"{name}.log").open("wb")
        try:
            proc = subprocess.Popen(  # noqa: S603 — our own programs, fixed arguments
                argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, cwd=settings.BASE_DIR,
            )  # fmt: skip
        finally:
            out.close()
        self.procs[name] = proc
        return proc

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"

    def report(self) -> str:
        parts = []
        for name, proc in self.procs.items():
            state = "running" if proc.poll() is None else f"exited with {proc.returncode}"
            parts.append(f"--- {name} ({state}) ---\n{self.tail(name)}")
        return "\n".join(parts)

    def stop_all(self):
        for proc in self.procs.values():
            self._signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            # The whole group, even when its leader already ended.
            self._signal(proc, signal.SIGKILL)
            proc.wait(timeout=10)

    @staticmethod
    def _signal(proc, sig):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)


def _get(port: int, path: str, headers=None, timeout=5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _wait_until_serving(procs: Processes, name: str, port: int):
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = None
    while time.monotonic() < deadline:
        proc = procs.procs[name]
        if proc.poll() is not None:
            pytest.fail(f"{name} exited with {proc.returncode} before serving.\n{procs.report()}")
        try:
            status, _ = _get(port, "/accounts/sign-in/", timeout=2)
        except OSError as exc:
            last = repr(exc)
        else:
            if status == 200:
                return
            last = f"HTTP {status}"
        time.sleep(0.1)
    pytest.fail(
        f"{name} did not answer on port {port} within {STARTUP_TIMEOUT}s (last: {last}).\n"
        + procs.report()
    )


class EventStream(threading.Thread):
    """A server-sent event client, reading one stream line by line in a thread."""

    def __init__(self, port: int, path: str, cookie: str):
        super().__init__(daemon=True)
        self.port, self.path, self.cookie = port, path, cookie
        self.opened = threading.Event()  # the `retry:` line arrived
        self.board = threading.Event()  # an `event: board` arrived
        self.board_at: float | None = None
        self.status: int | None = None
        self.error: str | None = None
        self.lines: list[str] = []
        self.sock: socket.socket | None = None
        self.closing = False

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.connect()
            self.sock = conn.sock
            conn.request(
                "GET", self.path, headers={"Cookie": self.cookie, "Accept": "text/event-stream"}
            )
            response = conn.getresponse()
            self.status = response.status
            if response.status != 200:
                self.error = f"HTTP {response.status}: {response.read()[:200]!r}"
                return
            while not self.board.is_set():
                raw = response.readline()
                if not raw:
                    self.error = "the stream ended"
                    return
                line = raw.decode().rstrip("\r\n")
                self.lines.append(line)
                if line.startswith("retry:"):
                    self.opened.set()
                elif line == "event: board":
                    self.board_at = time.monotonic()
                    self.board.set()
        except (OSError, http.client.HTTPException) as exc:
            if not self.closing:
                self.error = repr(exc)
        finally:
            conn.close()
            self.opened.set()  # wake a waiter; it checks `error`

    def close(self):
        self.closing = True
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)  # unblocks a readline in the thread
        self.join(timeout=10)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_an_absence_posted_to_one_web_process_goes_live_on_the_other(tmp_path):
    assert connection.vendor == "postgresql"
    district = testing.make_district()
    school = testing.make_school(district, "Scale-Out Elementary")
    student = testing.make_student(school, last="Nguyen")
    staff = testing.make_staff(school, Role.DISMISSAL_STAFF)
    _, secret = ApiToken.issue(
        district=district, name="SIS", permissions=[Permission.ATTENDANCE_WRITE]
    )
    client = Client()
    client.force_login(staff)
    session = client.cookies[settings.SESSION_COOKIE_NAME]
    cookie = f"{session.key}={session.value}"

    data_dir = tmp_path / "data"
    logs = tmp_path / "logs"
    data_dir.mkdir()
    logs.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "LASTBELL_DATA_DIR": str(data_dir),
        "LASTBELL_TESTING": "1",
        "SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_SETTINGS_MODULE": "lastbell.settings",
        "PYTHONUNBUFFERED": "1",
    }
    procs = Processes(env, logs)
    stream = None
    try:
        ports = {}
        for name in ("web-a", "web-b"):
            ports[name] = _free_port()
            procs.start(name, [
                str(BIN / "python"), "-m", "uvicorn", "lastbell.asgi:application",
                "--host", "127.0.0.1", "--port", str(ports[name]),
                "--lifespan", "off", "--log-level", "warning",
                "--timeout-graceful-shutdown", "3",
            ])  # fmt: skip
        procs.start("worker", [
            str(BIN / "python"), "-m", "lastbell.cli", "db_worker", "--no-startup-delay",
            "-v", "1",
        ])  # fmt: skip
        for name in ("web-a", "web-b"):
            _wait_until_serving(procs, name, ports[name])
        assert procs.procs["worker"].poll() is None, "the worker ended.\n" + procs.report()

        stream = EventStream(ports["web-b"], f"/schools/{school.pk}/live/", cookie)
        stream.start()
        assert stream.opened.wait(15) and stream.error is None, (
            f"web-b's live stream did not open: {stream.error or 'no retry: line in 15 s'}; "
            f"lines so far {stream.lines}.\n{procs.report()}"
        )

        today = school.today()
        body = json.dumps({
            "event_id": "scale-out-1", "student_id": student.sis_id,
            "date": today.isoformat(), "kind": "absent",
        })  # fmt: skip
        api = http.client.HTTPConnection("127.0.0.1", ports["web-a"], timeout=15)
        try:
            sent_at = time.monotonic()
            api.request("POST", "/api/v1/attendance/events", body=body, headers={
                "Authorization": f"Bearer {secret}", "Content-Type": "application/json",
            })  # fmt: skip
            response = api.getresponse()
            answer = response.read()
            answered_at = time.monotonic()
        finally:
            api.close()
        assert response.status == 201, (
            f"web-a answered {response.status}: {answer[:500]!r}\n{procs.report()}"
        )
        assert json.loads(answer)["outcome"] == "created"

        assert stream.board.wait(EVENT_TIMEOUT), (
            f"no `event: board` on web-b within {EVENT_TIMEOUT}s of the POST to web-a "
            f"(stream error: {stream.error}; lines {stream.lines}).\n{procs.report()}"
        )
        # The event is sent when web-a's transaction commits, before its response is written,
        # so it may even arrive first (a latency below zero).
        latency_ms = (stream.board_at - answered_at) * 1000
        print(
            f"\nscale-out: web-b's stream had `event: board` {latency_ms:.1f} ms after web-a's "
            f"response ({(stream.board_at - sent_at) * 1000:.1f} ms after the POST was sent)"
        )
        assert Absence.objects.filter(student=student, date=today, kind="absent").exists()
    finally:
        if stream is not None:
            stream.close()
        procs.stop_all()
