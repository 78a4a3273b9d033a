"""The live stream of a school's day board: server-sent events at /schools/<id>/live/.

A page that shows today's board opens it (static/lastbell/app.js) and fetches its live parts
again on each `board` event. Only those who may see the school's pages get a stream
(accounts/access.py): anyone else gets the same 404 as the pages, never a stream. The events
carry no data about students: a teacher's page re-reads the board in its own scope.
"""

import asyncio
import json
import logging

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer
from django.http import Http404

from lastbell.accounts.access import school_access
from lastbell.live import signals, watcher

log = logging.getLogger(__name__)

# Browsers reconnect this long after a dropped stream (EventSource's `retry`).
RETRY_MS = 3000
TEXT = [(b"Content-Type", b"text/plain; charset=utf-8")]


@database_sync_to_async
def _may_watch(user, school_id) -> bool:
    if user is None or not user.is_authenticated:
        return False
    try:
        school_access(user, school_id)
    except Http404:
        return False
    return True


class BoardStream(AsyncHttpConsumer):
    # A comment line this often keeps proxies and load balancers from closing an idle stream.
    heartbeat_seconds = 20

    group = None
    heartbeat = None
    watched = None

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
        if not await _may_watch(self.scope.get("user"), school_id):
            await self.send_response(404, b"No such school.\n", headers=TEXT)
            return False
        signals.set_serving_loop(asyncio.get_running_loop())
        group = signals.group_name(school_id)
        try:
            await self.channel_layer.group_add(group, self.channel_name)
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
        self.heartbeat = asyncio.create_task(self._beat())
        return True

    async def _beat(self):
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            await self.send_body(b": keepalive\n\n", more_body=True)

    async def board_changed(self, event):
        data = json.dumps({"school": event.get("school")})
        await self.send_body(f"event: board\ndata: {data}\n\n".encode(), more_body=True)

    async def disconnect(self):
        if self.watched is not None:
            watcher.unwatch(self.watched)
            self.watched = None
        if self.heartbeat is not None:
            self.heartbeat.cancel()
            self.heartbeat = None
        if self.group is not None:
            group, self.group = self.group, None
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception as exc:  # noqa: BLE001
                log.warning("Live stream left its group uncleanly: %r", exc)
