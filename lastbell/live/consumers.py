"""The live stream of a school's day board: server-sent events at /schools/<id>/live/.

A page that shows today's board opens it (static/lastbell/app.js) and fetches its live parts
again on each `board` event. Only those who may see the school's pages get a stream
(accounts/access.py): anyone else gets the same 404 as the pages, never a stream. A `board`
event carries no data about students: a teacher's page re-reads the board in its own scope.
A dismissal page's `region` event (push.py) is its live part rendered for the stream's own
viewer, in their scope, as their own request would have it.
"""

import asyncio
import json
import logging
import time
import weakref
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer
from django.http import Http404

from lastbell import live, turns
from lastbell.accounts import signin
from lastbell.accounts.access import school_access
from lastbell.live import push, signals, watcher

log = logging.getLogger(__name__)

# Browsers reconnect this long after a dropped stream (EventSource's `retry`).
RETRY_MS = 3000
TEXT = [(b"Content-Type", b"text/plain; charset=utf-8")]

# Streams that open or close together (a restart, a school's screens going off) would each
# take one of the process's Redis connections at the same instant, and redis-py fails rather
# than waits when its pool is used up: joining and leaving groups take turns instead.
GROUP_CHANGES_AT_ONCE = 20
_group_turns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

# A channel layer that fails to receive (Redis busy or timing out) is asked again this much
# later, and a stream that keeps failing ends so that its browser opens it again.
RECEIVE_PAUSE_SECONDS = 1.0
RECEIVE_ATTEMPTS = 3


def _group_turn() -> asyncio.Semaphore:
    """The running event loop's semaphore: one belongs to a single loop (tests run many)."""
    loop = asyncio.get_running_loop()
    turn = _group_turns.get(loop)
    if turn is None:
        turn = _group_turns[loop] = asyncio.Semaphore(GROUP_CHANGES_AT_ONCE)
    return turn


def _off_the_main_thread(function):
    """Run in a thread of the pool, not in the one thread every thread-sensitive call of the
    process shares: many streams open at once at dismissal, and each would wait there behind
    the others' queries (and every stream's events behind them, see `dispatch`)."""
    return database_sync_to_async(function, thread_sensitive=False)


@_off_the_main_thread
def _watchable(user, school_id, session=None):
    """The school, if the user may see its pages; else None. A session that still owes its
    two-step code, or has been idle too long, sees nothing (accounts/signin.py)."""
    if user is None or not user.is_authenticated:
        return None
    if session is None or not signin.stream_allowed(user, session):
        return None
    try:
        return school_access(user, school_id).school
    except Http404:
        return None


@_off_the_main_thread
def _session_touch(scope, school) -> bool:
    try:
        session, user = scope.get("session"), scope.get("user")
        return session is not None and signin.stream_touch(user, session, school)
    except Exception as exc:  # noqa: BLE001 — the database, say: the next beat asks again
        log.warning("Live stream's session not checked: %r", exc)
        return True


@_off_the_main_thread
def _version(school) -> str:
    return live.version(school)


def _param(scope, name) -> str:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query.get(name, [""])[0]


def _since(scope) -> str:
    """The version the page noted before it read anything (`?since=`, live.version)."""
    return _param(scope, "since")


def _homerooms(scope) -> set[int] | None:
    """The homerooms a page shows, if only some (`?homerooms=`, its data-live-homerooms):
    other homerooms' steps are not pushed to it."""
    raw = _param(scope, "homerooms")
    if not raw:
        return None
    return {int(part) for part in raw.split(",") if part.strip().isdigit()}


@_off_the_main_thread
def _render_one(scope, path, query):
    return push.render(scope, path, query)


async def _render_region(scope, path, query, *, rank):
    return await turns.of_this_loop().run(rank, _render_one, scope, path, query)


# Steps that come together (a bus's "All aboard", a family of three) make one render.
PUSH_GATHER_SECONDS = 0.05
# After a push, the next waits this long at least, gathering what comes meanwhile. A screen of
# the whole school (curb, groups, overview) changes at every step of the school, several times
# a second at the peak, and each render of it reads and lays out every student: once a second
# is as often as anyone reads it. A screen of some homerooms changes only with their steps,
# and a family's call should reach its classroom at once.
PUSH_EVERY_SECONDS = {"school": 1.0, "homerooms": 0.2}


class BoardStream(AsyncHttpConsumer):
    # A comment line this often keeps proxies and load balancers from closing an idle stream,
    # and renews the stream's membership of its group: well within the channel layer's
    # group_expiry (settings.py), after which a stream that died without leaving is dropped.
    heartbeat_seconds = 20

    group = None
    heartbeat = None
    watched = None
    school_id = None
    streaming = False
    region = None  # (path, query) of the page whose live region is pushed (push.py)
    homerooms = None
    pushing = None
    dirty = False

    # AsyncConsumer.__call__ sets `channel_receive` to the layer's receive for this stream's
    # channel and awaits it beside the browser's messages: one that raised would end the
    # stream there, still in its group. The stream keeps the layer's receive and awaits its
    # own, which does not raise (_receive_event).
    @property
    def channel_receive(self):
        return self._receive_event

    @channel_receive.setter
    def channel_receive(self, layer_receive):
        self._layer_receive = layer_receive

    async def http_request(self, message):
        # Unlike AsyncHttpConsumer's, the response stays open after handle() until the
        # browser goes away (http_disconnect).
        if "body" in message:
            self.body.append(message["body"])
        if message.get("more_body"):
            return
        if not await self.handle(b"".join(self.body)):
            await self.disconnect()
            raise StopConsumer()

    async def handle(self, body) -> bool:
        """Start the stream; False when the request was answered otherwise."""
        if self.scope["method"] not in ("GET", "HEAD"):
            await self.send_response(
                405, b"Method not allowed.\n", headers=[*TEXT, (b"Allow", b"GET")]
            )
            return False
        school_id = self.scope["url_route"]["kwargs"]["school_id"]
        school = await _watchable(self.scope.get("user"), school_id, self.scope.get("session"))
        if school is None:
            await self.send_response(404, b"No such school.\n", headers=TEXT)
            return False
        signals.set_serving_loop(asyncio.get_running_loop())
        group = signals.group_name(school_id)
        try:
            await self._join(group)
        except Exception as exc:  # noqa: BLE001 — the page polls instead
            log.warning("Live stream refused, channel layer failed: %r", exc)
            await self.send_response(503, b"Live updates are unavailable.\n", headers=TEXT)
            return False
        self.group = group
        if watcher.needed(self.channel_layer):
            self.watched = school_id
            watcher.watch(self.channel_layer, school_id)
        await self.send_headers(
            headers=[
                (b"Content-Type", b"text/event-stream; charset=utf-8"),
                (b"Cache-Control", b"no-cache, no-store"),
                (b"X-Accel-Buffering", b"no"),  # nginx: pass events on at once
            ]
        )
        await self.send_body(f"retry: {RETRY_MS}\n\n".encode(), more_body=True)
        self.school_id, self.streaming = school_id, True
        self.region = push.region_of(_param(self.scope, "page"), school_id)
        self.homerooms = _homerooms(self.scope)
        self.heartbeat = asyncio.create_task(self._beat(group, school))
        # Listening now: a change made since the page read the board was announced before
        # this stream heard anything. Said again, the page fetches it.
        since = _since(self.scope)
        if since and since != await _version(school):
            await self.board_changed({"school": school_id})
        return True

    async def _join(self, group):
        async with _group_turn():
            await self.channel_layer.group_add(group, self.channel_name)

    async def _beat(self, group, school):
        session_checked = time.monotonic()
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            # A watched screen is in use while the school's dismissal is on; a session that
            # ended (idle, signed out) ends its stream, and the page that asks again is sent
            # to sign in. Looked at every few minutes, not at each beat: one query each.
            if time.monotonic() - session_checked >= signin.TOUCH_SECONDS:
                session_checked = time.monotonic()
                if not await _session_touch(self.scope, school):
                    self.streaming = False
                    await self.send_body(b"")
                    return
            await self.send_body(b": keepalive\n\n", more_body=True)
            try:
                await self._join(group)  # joining again renews the membership
            except Exception as exc:  # noqa: BLE001 — the next beat tries again
                log.warning("Live stream not renewed in its group: %r", exc)

    async def _receive_event(self):
        """The channel layer's next message for this stream. A failure is logged and the
        receive tried again; only a stream that keeps failing ends (StopConsumer)."""
        failures = 0
        while True:
            try:
                return await self._layer_receive()
            except Exception as exc:  # noqa: BLE001
                failures += 1
                log.warning("Live stream did not receive (%d): %r", failures, exc)
            if self.streaming:
                if failures >= RECEIVE_ATTEMPTS:
                    # The browser opens the stream again in RETRY_MS and then fetches its
                    # board (app.js), or polls if the layer refuses it.
                    await self.disconnect()
                    await self.send_body(b"")
                    raise StopConsumer()
                # The failed read may have taken an announcement with it.
                await self.board_changed({"school": self.school_id})
            await asyncio.sleep(RECEIVE_PAUSE_SECONDS)

    async def dispatch(self, message):
        # AsyncConsumer.dispatch closes old database connections before every message, in
        # the one thread that every thread-sensitive call of the process shares: at dismissal
        # each of a school's fifty streams hears several events a second, and they queued
        # there until pages heard of a check-in twenty seconds late (bench/README.md). A board
        # event only writes to the browser, so it goes straight to its handler.
        if message["type"] == signals.EVENT:
            await self.board_changed(message)
        else:
            await super().dispatch(message)

    async def board_changed(self, event):
        touched = event.get("homerooms")  # only these homerooms' students changed (signals.py)
        if self.region is not None:
            mine = self.homerooms
            if touched is not None and mine is not None and not mine & set(touched):
                return  # a page of other homerooms
            self.dirty = True
            if self.pushing is None:
                self.pushing = asyncio.create_task(self._push())
            return
        await self._say_board(event.get("school"), touched)

    async def _say_board(self, school, homerooms=None):
        data = {"school": school}
        if homerooms is not None:
            data["homerooms"] = homerooms
        data = json.dumps(data)
        await self.send_body(f"event: board\ndata: {data}\n\n".encode(), more_body=True)

    async def _push(self):
        """Render the page's live region and send it, again while changes keep coming."""
        try:
            await asyncio.sleep(PUSH_GATHER_SECONDS)
            while self.dirty and self.streaming:
                self.dirty = False
                scope = "school" if self.homerooms is None else "homerooms"
                try:
                    html = await _render_region(self.scope, *self.region, rank=turns.RANK[scope])
                except Exception as exc:  # noqa: BLE001 — the database, say: the page asks
                    log.warning("Live region not rendered: %r", exc)
                    html = None
                if html is None:  # the page fetches it and shows what the server says
                    await self._say_board(self.school_id)
                    continue
                data = json.dumps({"target": "live", "html": html})
                await self.send_body(f"event: region\ndata: {data}\n\n".encode(), more_body=True)
                await asyncio.sleep(PUSH_EVERY_SECONDS[scope])
        finally:
            self.pushing = None

    async def disconnect(self):
        self.streaming = False
        if self.pushing is not None:
            self.pushing.cancel()
        if self.watched is not None:
            watcher.unwatch(self.watched)
            self.watched = None
        if self.heartbeat is not None:
            heartbeat, self.heartbeat = self.heartbeat, None
            heartbeat.cancel()
            await asyncio.wait([heartbeat])  # so its last join cannot follow the discard
        if self.group is not None:
            group, self.group = self.group, None
            try:
                async with _group_turn():
                    await self.channel_layer.group_discard(group, self.channel_name)
            except Exception as exc:  # noqa: BLE001
                log.warning("Live stream left its group uncleanly: %r", exc)
