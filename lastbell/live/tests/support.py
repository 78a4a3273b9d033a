"""Opening live streams in tests: the ASGI application itself, with a signed-in session."""

import asyncio

from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.test import Client

from lastbell.asgi import application


class HttpCommunicator(ApplicationCommunicator):
    """channels.testing.HttpCommunicator, which cannot be imported without daphne."""

    def __init__(self, app, method, path, headers=()):
        path, _, query = path.partition("?")
        scope = {"type": "http", "http_version": "1.1", "method": method, "path": path,
                 "query_string": query.encode(), "headers": list(headers)}  # fmt: skip
        super().__init__(app, scope)

    async def get_response(self, timeout=1):
        await self.send_input({"type": "http.request", "body": b""})
        start = await self.receive_output(timeout)
        body = b""
        while True:
            chunk = await self.receive_output(timeout)
            body += chunk["body"]
            if not chunk.get("more_body"):
                return {"status": start["status"], "headers": start["headers"], "body": body}


def cookie_of(user) -> list[tuple[bytes, bytes]]:
    if user is None:
        return []
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode())]


def stream(cookie, school_id, method="GET", path=None) -> HttpCommunicator:
    path = path or f"/schools/{school_id}/live/"
    return HttpCommunicator(application, method, path, headers=cookie)


async def started(cookie, school_id, path=None) -> HttpCommunicator:
    """A stream that has sent its headers and `retry:` line (`path`: a page's data-live)."""
    communicator = stream(cookie, school_id, path=path)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(3)
    assert start["status"] == 200, start
    await communicator.receive_output(3)  # retry
    return communicator


async def hang_up(communicator) -> None:
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(1)


def board_event(school_id) -> bytes:
    return f'event: board\ndata: {{"school": {school_id}}}\n\n'.encode()


async def next_event(communicator, timeout=3):
    """The stream's next chunk that is not a keep-alive comment."""
    async with asyncio.timeout(timeout):
        while True:
            chunk = await communicator.receive_output(timeout)
            if chunk["body"] != b": keepalive\n\n":
                return chunk
