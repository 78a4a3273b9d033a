"""Reads take turns; writes go straight.

A process's Python work shares one interpreter. At dismissal every step (a check-in, a "Sent",
a release) sets off page loads and pushed live regions on every screen of the school, and a
check-in or release arriving amid them waited for all of them, a slice of the interpreter at a
time: its own 20–40 ms of work became half a second (bench/README.md). So page loads (GET) and
pushed regions (live/consumers.py) of a process take turns, at most READS_AT_ONCE at a time,
and a classroom's region before a page before a whole-school screen; posts never wait for a
turn. Reads come no slower on the whole (the same work, in order instead of interleaved); a
write competes with at most READS_AT_ONCE of them, and with POSTS_FIRST no read starts while a
post is being answered.

What a post then waits for is the interpreter's lock itself: its thread lets go of it at every
SQL statement and, to have it back from a thread that is rendering, waits out the switch
interval — Python's is 5 ms, twenty statements a post. So a server process hands the lock on
every LASTBELL_SWITCH_INTERVAL_MS (1 ms; `share_interpreter`).

And every post waits out the garbage collector's full collections, which stop the whole process:
at dismissal one came every four seconds and took 150 ms (220 ms at most), the tail of every
post's time. So a server process leaves what it made at start out of them and makes them ten
times rarer (LASTBELL_GC_FULL_EVERY).
"""

import asyncio
import gc
import heapq
import sys
import weakref

from django.conf import settings

# Who goes first among those waiting: a classroom's call, then a page someone opened, then a
# screen of the whole school (it is pushed at most once a second anyway).
RANK = {"homerooms": 0, "page": 1, "school": 2}


class Turns:
    def __init__(self, at_once: int, *, posts_first: bool = False):
        self.free = at_once
        self.waiting = []  # heap of (rank, arrival, future)
        self.arrivals = 0
        # With posts_first, no read starts while a post is being answered: reads already
        # running finish, and the post then has the interpreter to itself.
        self.posts_first = posts_first
        self.posts = 0

    def post_started(self) -> None:
        self.posts += 1

    def post_done(self) -> None:
        self.posts -= 1
        if self.posts == 0:
            while self.free > 0 and self._hand_on():
                self.free -= 1

    def _held_back(self) -> bool:
        return self.posts_first and self.posts > 0

    async def acquire(self, rank: int) -> None:
        if self.free > 0 and not self.waiting and not self._held_back():
            self.free -= 1
            return
        self.arrivals += 1
        turn = asyncio.get_running_loop().create_future()
        heapq.heappush(self.waiting, (rank, self.arrivals, turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed the turn as it was cancelled: pass it on
            raise

    def release(self) -> None:
        if self._held_back() or not self._hand_on():
            self.free += 1

    def _hand_on(self) -> bool:
        """Give a turn to the first in line still waiting; False when nobody is."""
        while self.waiting:
            turn = heapq.heappop(self.waiting)[2]
            if not turn.done():
                turn.set_result(None)  # the turn goes straight to the next in line
                return True
        return False

    async def run(self, rank: int, function, *args):
        await self.acquire(rank)
        try:
            return await function(*args)
        finally:
            self.release()


_turns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def of_this_loop() -> Turns:
    """The running event loop's turns (one server process has one loop; tests run many)."""
    loop = asyncio.get_running_loop()
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = Turns(settings.LASTBELL_READS_AT_ONCE,
                                     posts_first=settings.LASTBELL_POSTS_FIRST)  # fmt: skip
    return turns


def share_interpreter() -> None:
    """Set the process's switch interval and garbage collection (settings) and set what it
    made at start aside from the collector: called once the ASGI application is made, so by
    every server process."""
    sys.setswitchinterval(settings.LASTBELL_SWITCH_INTERVAL_MS / 1000)
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, settings.LASTBELL_GC_FULL_EVERY)
    gc.collect()
    gc.freeze()  # Django, the app, URLs and templates: alive for good, never garbage


# Answered at once, whatever the load: files, and the probes of a load balancer.
STRAIGHT = (settings.STATIC_URL, "/healthz", "/readyz")


def reads_take_turns(app):
    """ASGI middleware: a GET or HEAD waits for its turn before the app, and gives it back as
    its response starts (a long download does not keep it)."""

    async def middleware(scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(STRAIGHT):
            return await app(scope, receive, send)
        turns = of_this_loop()
        if scope["method"] not in ("GET", "HEAD"):
            turns.post_started()
            try:
                return await app(scope, receive, send)
            finally:
                turns.post_done()
        await turns.acquire(RANK["page"])
        held = True

        async def send_and_give_back(message):
            nonlocal held
            if held and message["type"] == "http.response.start":
                held = False
                turns.release()
            await send(message)

        try:
            return await app(scope, receive, send_and_give_back)
        finally:
            if held:
                turns.release()

    return middleware
