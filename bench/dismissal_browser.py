"""What bench/dismissal_load.py's clients do, as a browser would: HTTP/1.1 on asyncio streams.

A `Browser` is one device: its own cookies (a signed-in session and a CSRF cookie), keep-alive
connections (a new one when all are busy, none kept longer than the server keeps them), and,
on a live page, the page's live stream (GET /schools/<id>/live/, server-sent events) with
what static/lastbell/app.js and htmx do on each `board` event (a classroom screen skips one
that names other homerooms): 100–350 ms later fetch the page's `#live` part again
(HX-Request, HX-Target: live), one request in flight per page and the last trigger queued
behind it (htmx's default queueing). A form posted navigates: the redirect is followed, and
the new page opens a new live stream, as a page load does; a form of the live region posted
by htmx (a classroom's "Sent") gets the region back, and the page and its stream stay.

The response reading (chunked bodies) is bench/live_latency.py's.
"""

import asyncio
import html
import json
import random
import re
import time
import urllib.parse
from dataclasses import dataclass

from bench.dismissal_school import csrf_secret
from bench.live_latency import read_body, read_chunk

LIVE_THROTTLE_S = 0.1  # app.js: a board event makes one refresh, 100 ms after it …
LIVE_SPREAD_S = 0.25  # … plus a random 0–250 ms
STREAM_RETRY_S = 3.0  # EventSource's `retry:` as the server sends it
KEEP_ALIVE_S = 4.0  # uvicorn closes idle connections after 5 s: reuse younger ones only
DATA_LIVE = re.compile(rb'data-live="([^"]+)"')
LIVE_HOMEROOMS = re.compile(rb'data-live-homerooms="([^"]*)"')
TIMEOUT_S = 30.0  # a request not answered by then is an error


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    started: float
    ended: float

    @property
    def location(self) -> str:
        target = self.headers.get("location", "")
        parts = urllib.parse.urlsplit(target)
        return urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))


async def read_head(reader) -> tuple[int, dict, list[str]]:
    """The status, the headers (lower-case names) and every Set-Cookie."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("the server closed the connection")
    status = int(status_line.split()[1])
    headers, cookies = {}, []
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "set-cookie":
            cookies.append(value)
        headers[name] = value
    return status, headers, cookies


class Browser:
    """One device. `run` records every request: run.record(label, started, ended, ok, detail)."""

    def __init__(self, run, name: str, cookie: str):
        self.run = run
        self.name = name
        key, _, value = cookie.partition("=")
        self.jar = {key: value, "csrftoken": csrf_secret()}
        self.idle: list[tuple] = []  # (reader, writer, idle since)
        self.page: str | None = None  # the live page shown, if any
        self.stream_path: str | None = None  # its data-live: the stream, with the page's version
        self.live_homerooms: set[int] | None = None  # its data-live-homerooms, if any
        self.page_label = ""
        self.stream_task: asyncio.Task | None = None
        self.pending: asyncio.TimerHandle | None = None
        self.refreshing = False
        self.again = False
        self.closed = False
        self.tasks: set[asyncio.Task] = set()

    # -- HTTP ------------------------------------------------------------------------------

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.jar.items())

    def take_cookies(self, cookies: list[str]) -> None:
        for raw in cookies:
            pair, *attributes = raw.split(";")
            name, _, value = pair.strip().partition("=")
            gone = any(a.strip().lower() == "max-age=0" for a in attributes)
            if gone or value in ("", '""'):
                self.jar.pop(name, None)
            else:
                self.jar[name] = value

    def _request(self, method, path, body: bytes | None, headers: dict) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.run.port}",
                 f"Cookie: {self.cookie_header()}"]  # fmt: skip
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded",
                      f"Content-Length: {len(body)}"]  # fmt: skip
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")

    async def fetch(self, method: str, path: str, *, label: str, fields: dict | None = None,
                    headers: dict | None = None, expect=(200,)) -> Response | None:  # fmt: skip
        """One request; recorded under `label`, as an error unless its status is expected.
        None when no answer came (recorded too)."""
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields, doseq=True).encode()
        started = time.monotonic()
        for attempt in (1, 2):
            connection = None
            while self.idle and connection is None:
                reader, writer, since = self.idle.pop()
                if time.monotonic() - since < KEEP_ALIVE_S and not writer.is_closing():
                    connection = (reader, writer)
                else:
                    writer.close()
            reused = connection is not None
            try:
                if connection is None:
                    connection = await asyncio.open_connection("127.0.0.1", self.run.port)
                reader, writer = connection
                writer.write(self._request(method, path, body, headers or {}))
                status, head, cookies = await asyncio.wait_for(read_head(reader), TIMEOUT_S)
                data = await asyncio.wait_for(read_body(reader, head), TIMEOUT_S)
            except ConnectionResetError as exc:
                if connection is not None:
                    connection[1].close()
                if reused and attempt == 1:  # a kept connection the server had closed
                    continue
                self.run.record(label, started, time.monotonic(), False, repr(exc))
                return None
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
                if connection is not None:
                    connection[1].close()
                self.run.record(label, started, time.monotonic(), False, repr(exc))
                return None
            break
        ended = time.monotonic()
        if head.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append((reader, writer, ended))
        self.take_cookies(cookies)
        ok = status in expect
        detail = "" if ok else f"HTTP {status} on {method} {path}: {data[:160]!r}"
        self.run.record(label, started, ended, ok, detail)
        self.run.connections[reused].append(ended - started)
        return Response(status, head, data, started, ended)

    # -- pages -----------------------------------------------------------------------------

    def on_page(self, path: str, response: Response) -> None:
        """A page or its live part arrived (subclasses read it)."""

    async def navigate(self, path: str, label: str) -> Response | None:
        """Load a page; a live page then opens its stream (the last page's is closed)."""
        response = await self.fetch("GET", path, label=label)
        if self.pending is not None:
            self.pending.cancel()
            self.pending = None
        if response is not None and response.status == 200:
            self.page, self.page_label = path, label
            found = DATA_LIVE.search(response.body)
            self.stream_path = html.unescape(found.group(1).decode()) if found else None
            rooms = LIVE_HOMEROOMS.search(response.body)
            self.live_homerooms = ({int(n) for n in rooms.group(1).split(b",") if n.strip()}
                                   if rooms else None)  # fmt: skip
            if rooms and self.stream_path:  # app.js: the server pushes only their steps
                joiner = "&" if "?" in self.stream_path else "?"
                self.stream_path += f"{joiner}homerooms={rooms.group(1).decode()}"
            self.on_page(path, response)
            self._restart_stream()
        return response

    async def submit(self, path: str, fields: dict, *, label: str,
                     page_label: str) -> Response | None:  # fmt: skip
        """Post a page's form (the CSRF token as the form has it) and follow the redirect."""
        fields = {**fields, "csrfmiddlewaretoken": self.jar.get("csrftoken", "")}
        response = await self.fetch("POST", path, label=label, fields=fields, expect=(302,))
        if response is not None and response.status == 302:
            await self.navigate(response.location, page_label)
        return response

    async def post_live(self, path: str, fields: dict, *, label: str) -> Response | None:
        """Post a form of the page's live region as htmx does (hx-post, hx-target="#live"): the
        answer is the region, swapped in; the page and its stream stay."""
        fields = {**fields, "csrfmiddlewaretoken": self.jar.get("csrftoken", "")}
        headers = {"HX-Request": "true", "HX-Target": "live",
                   "HX-Current-URL": f"http://127.0.0.1:{self.run.port}{self.page}"}  # fmt: skip
        response = await self.fetch("POST", path, label=label, fields=fields, headers=headers)
        if response is not None and response.status == 200 and self.page is not None:
            self.on_page(self.page, response)
        return response

    # -- live updates ----------------------------------------------------------------------

    def on_stream_open(self, at: float) -> None:
        """The page's stream is listening (subclasses note it)."""

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def on_board(self, homerooms=None) -> None:
        """app.js: one refresh 100–350 ms after the first of a burst of events. `homerooms`:
        the event's, when it names the homerooms it touched (a classroom screen may skip it)."""
        mine = self.live_homerooms
        if mine is not None and homerooms is not None and not mine & set(homerooms):
            return  # a page of some homerooms skips other homerooms' steps
        if self.page is not None and self.pending is None and not self.closed:
            wait = LIVE_THROTTLE_S + random.random() * LIVE_SPREAD_S  # noqa: S311 — timing only
            self.pending = asyncio.get_running_loop().call_later(wait, self._fire)

    def on_region(self, html_text: str) -> None:
        """app.js: the server pushed the page's live region; it replaces the page's."""
        if self.page is None or self.closed:
            return
        if self.pending is not None:
            self.pending.cancel()
            self.pending = None
        now = time.monotonic()
        self.run.regions_pushed += 1
        self.on_page(self.page, Response(200, {}, html_text.encode(), now, now))

    def _fire(self) -> None:
        self.pending = None
        if self.refreshing:  # htmx: one request per target, the last trigger queued
            self.again = True
            return
        self.refreshing = True
        self._spawn(self._refresh())

    async def _refresh(self) -> None:
        try:
            while not self.closed:
                self.again = False
                page = self.page
                headers = {"HX-Request": "true", "HX-Target": "live",
                           "HX-Current-URL": f"http://127.0.0.1:{self.run.port}{page}"}  # fmt: skip
                response = await self.fetch("GET", page, label=f"live: {self.page_label}",
                                            headers=headers)  # fmt: skip
                if response is not None and response.status == 200 and page == self.page:
                    self.on_page(page, response)
                if not self.again:
                    break
        finally:
            self.refreshing = False

    def _restart_stream(self) -> None:
        if self.stream_task is not None:
            self.stream_task.cancel()
        self.stream_task = self._spawn(self._stream())

    async def _stream(self) -> None:
        path = self.stream_path or f"/schools/{self.run.school_id}/live/"
        dropped = False
        while not self.closed:
            started = time.monotonic()
            writer = None
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.run.port)
                writer.write(self._request("GET", path, None,
                                           {"Accept": "text/event-stream"}))  # fmt: skip
                status, headers, _ = await asyncio.wait_for(read_head(reader), TIMEOUT_S)
                if status != 200:
                    self.run.record("live stream opened", started, time.monotonic(), False,
                                    f"HTTP {status}")  # fmt: skip
                    return  # EventSource gives up; the page would poll every 30 s
                buffer, heard, board, region = b"", None, False, False
                while chunk := await read_chunk(reader, headers):
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        if line.startswith(b"retry:"):
                            heard = time.monotonic()
                            self.run.record("live stream opened", started, heard, True, "")
                            self.on_stream_open(heard)
                            if dropped:  # app.js catches up once after a dropped stream
                                self.on_board()
                        elif line in (b"event: board", b"event: region"):
                            now = time.monotonic()
                            self.run.board_events += 1
                            if heard is not None:  # silence on an open stream
                                self.run.silences.append(now - heard)
                            heard = now
                            board, region = line == b"event: board", line == b"event: region"
                        elif line.startswith(b"data:") and board:
                            board = False
                            self.on_board(json.loads(line[5:]).get("homerooms"))
                        elif line.startswith(b"data:") and region:
                            region = False
                            self.on_region(json.loads(line[5:])["html"])
                if not self.closed:
                    self.run.failure("live stream", "the stream ended")
            except asyncio.CancelledError:
                raise
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
                if not self.closed:
                    self.run.failure("live stream", f"dropped: {exc!r}")
            finally:
                if writer is not None:
                    writer.close()
            dropped = True
            await asyncio.sleep(STREAM_RETRY_S)

    async def close(self) -> None:
        self.closed = True
        if self.pending is not None:
            self.pending.cancel()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()
