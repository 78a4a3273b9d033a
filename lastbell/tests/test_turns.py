"""Reads take turns, writes go straight (lastbell/turns.py): a check-in or release arriving
amid a burst of page loads and pushed regions competes with READS_AT_ONCE of them for the
interpreter, not with all of them."""

import asyncio

import pytest
from asgiref.testing import ApplicationCommunicator

from lastbell.asgi import application
from lastbell.turns import RANK, Turns, of_this_loop


def test_reads_at_once_and_in_rank_order():
    async def scenario():
        turns, running, most, order = Turns(at_once=2), [0], [0], []
        gate = asyncio.Event()

        async def read(name, wait=None):
            running[0] += 1
            most[0] = max(most[0], running[0])
            order.append(name)
            if wait is not None:
                await wait.wait()
            await asyncio.sleep(0)
            running[0] -= 1
            return name

        first = [asyncio.create_task(turns.run(RANK["school"], read, name, gate))
                 for name in ("curb", "door")]  # fmt: skip
        await asyncio.sleep(0)
        waiting = [
            asyncio.create_task(turns.run(RANK["school"], read, "groups")),
            asyncio.create_task(turns.run(RANK["page"], read, "a page")),
            asyncio.create_task(turns.run(RANK["homerooms"], read, "classroom 4")),
        ]
        await asyncio.sleep(0)
        gate.set()
        results = await asyncio.wait_for(asyncio.gather(*first, *waiting), 5)
        return results, most[0], order, turns.free

    results, most, order, free = asyncio.run(scenario())
    assert results == ["curb", "door", "groups", "a page", "classroom 4"]  # each its own answer
    assert most == 2
    assert order == ["curb", "door", "classroom 4", "a page", "groups"]
    assert free == 2  # every turn given back


def test_a_read_cancelled_as_it_gets_its_turn_passes_it_on():
    async def scenario():
        turns, done = Turns(at_once=1), []
        hold = asyncio.Event()

        async def read(name, wait=None):
            if wait is not None:
                await wait.wait()
            done.append(name)

        first = asyncio.create_task(turns.run(1, read, "curb", hold))
        await asyncio.sleep(0)
        closed = asyncio.create_task(turns.run(1, read, "closed screen"))
        after = asyncio.create_task(turns.run(1, read, "door"))
        await asyncio.sleep(0)
        hold.set()
        while len(turns.waiting) == 2:  # until the turn is handed to the closing stream …
            await asyncio.sleep(0)
        closed.cancel()  # … which closes before its read starts
        await asyncio.wait_for(asyncio.gather(first, after), 5)  # a kept turn would hang here
        return done, closed.cancelled(), turns.free

    done, cancelled, free = asyncio.run(scenario())
    assert cancelled
    assert done == ["curb", "door"]
    assert free == 1


def _request(method, path):
    scope = {"type": "http", "http_version": "1.1", "method": method, "path": path,
             "raw_path": path.encode(), "query_string": b"", "scheme": "http",
             "headers": [(b"host", b"localhost")], "server": ("localhost", 80),
             "client": ("127.0.0.1", 5000)}  # fmt: skip
    return ApplicationCommunicator(application, scope)


@pytest.mark.django_db
def test_a_post_goes_straight_while_page_loads_wait_their_turn(settings):
    async def scenario():
        turns = of_this_loop()
        taken = turns.free
        for _ in range(taken):  # every turn of the process busy with a read
            await turns.acquire(RANK["page"])
        page, post = _request("GET", "/accounts/sign-in/"), _request("POST", "/accounts/sign-in/")
        await page.send_input({"type": "http.request", "body": b""})
        await post.send_input({"type": "http.request", "body": b""})
        post_start = await post.receive_output(5)  # answered while every turn is taken
        await asyncio.sleep(0.5)  # (receive_output's timeout would cancel the request)
        page_waited = page.output_queue.empty()
        for _ in range(taken):
            turns.release()
        page_start = await page.receive_output(5)
        await page.receive_output(5)
        await post.receive_output(5)
        return post_start["status"], page_waited, page_start["status"], turns.free, taken

    post_status, page_waited, page_status, free, taken = asyncio.run(scenario())
    assert post_status == 403  # no CSRF cookie: refused, but answered at once
    assert page_waited
    assert page_status == 200
    assert free == taken == settings.LASTBELL_READS_AT_ONCE  # the page gave its turn back


def test_with_posts_first_no_read_starts_while_a_post_is_answered():
    async def scenario():
        turns, started = Turns(at_once=2, posts_first=True), []

        async def read(name):
            started.append(name)

        running = asyncio.create_task(turns.run(RANK["page"], read, "before the post"))
        await running  # a read with no post about starts at once
        turns.post_started()
        waiting = asyncio.create_task(turns.run(RANK["homerooms"], read, "classroom 4"))
        await asyncio.sleep(0.05)
        held = list(started)
        turns.post_done()
        await asyncio.wait_for(waiting, 5)
        return held, started, turns.free

    held, started, free = asyncio.run(scenario())
    assert held == ["before the post"]  # the classroom's region waited for the post
    assert started == ["before the post", "classroom 4"]
    assert free == 2


def test_without_posts_first_reads_do_not_wait_for_posts():
    async def scenario():
        turns, started = Turns(at_once=2), []

        async def read(name):
            started.append(name)

        turns.post_started()
        await asyncio.wait_for(turns.run(RANK["page"], read, "a page"), 5)
        turns.post_done()
        return started, turns.free

    assert asyncio.run(scenario()) == (["a page"], 2)


def test_a_server_process_shares_its_interpreter_as_set(settings):
    import gc
    import sys

    from lastbell.turns import share_interpreter

    interval, threshold = sys.getswitchinterval(), gc.get_threshold()
    try:
        settings.LASTBELL_SWITCH_INTERVAL_MS = 0.5
        settings.LASTBELL_GC_FULL_EVERY = 37
        frozen = gc.get_freeze_count()
        made_now = [[] for _ in range(10)]  # alive and tracked: set aside with the rest
        share_interpreter()
        assert sys.getswitchinterval() == pytest.approx(0.0005)
        assert gc.get_threshold() == (threshold[0], threshold[1], 37)
        assert gc.get_freeze_count() >= frozen + len(made_now)
    finally:
        sys.setswitchinterval(interval)
        gc.set_threshold(*threshold)


def test_the_asgi_application_shares_the_interpreter_as_set():
    import gc
    import sys

    from django.conf import settings

    # lastbell.asgi is imported at the top of this module, as a server imports it.
    assert sys.getswitchinterval() == pytest.approx(settings.LASTBELL_SWITCH_INTERVAL_MS / 1000)
    assert gc.get_threshold()[2] == settings.LASTBELL_GC_FULL_EVERY
    assert gc.get_freeze_count() > 0  # what the server made at start is out of collections
