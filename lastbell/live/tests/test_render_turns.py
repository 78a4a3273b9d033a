"""Pushed renders of a process take turns, a classroom's before a whole school's
(live/consumers.py `_RenderTurns`): a write arriving amid a burst of renders competes with one
of them for the interpreter, not with all."""

import asyncio

from lastbell.live.consumers import RENDER_RANK, _RenderTurns


def test_one_render_at_a_time_and_a_classrooms_first():
    async def scenario():
        turns, running, most, order = _RenderTurns(), [0], [0], []
        first_may_end = asyncio.Event()

        async def render(name, wait=None):
            running[0] += 1
            most[0] = max(most[0], running[0])
            order.append(name)
            if wait is not None:
                await wait.wait()
            await asyncio.sleep(0)
            running[0] -= 1
            return name

        first = asyncio.create_task(turns.run(RENDER_RANK["school"], render, "curb", first_may_end))
        await asyncio.sleep(0)
        waiting = [
            asyncio.create_task(turns.run(RENDER_RANK["school"], render, "door")),
            asyncio.create_task(turns.run(RENDER_RANK["homerooms"], render, "classroom 4")),
            asyncio.create_task(turns.run(RENDER_RANK["school"], render, "groups")),
        ]
        await asyncio.sleep(0)
        first_may_end.set()
        results = await asyncio.gather(first, *waiting)
        return results, most[0], order, turns.busy

    results, most, order, busy = asyncio.run(scenario())
    assert results == ["curb", "door", "classroom 4", "groups"]  # each gets its own answer
    assert most == 1
    assert order == ["curb", "classroom 4", "door", "groups"]  # the classroom first, then arrival
    assert busy is False


def test_a_stream_that_closes_while_waiting_does_not_keep_the_turn():
    async def scenario():
        turns, done = _RenderTurns(), []
        hold = asyncio.Event()

        async def render(name, wait=None):
            if wait is not None:
                await wait.wait()
            done.append(name)
            return name

        first = asyncio.create_task(turns.run(1, render, "curb", hold))
        await asyncio.sleep(0)
        closed = asyncio.create_task(turns.run(1, render, "closed screen"))
        after = asyncio.create_task(turns.run(1, render, "door"))
        await asyncio.sleep(0)
        hold.set()
        while len(turns.waiting) == 2:  # until the turn is handed to the closing stream …
            await asyncio.sleep(0)
        closed.cancel()  # … which closes before its render starts
        await asyncio.wait_for(asyncio.gather(first, after), 5)  # a kept turn would hang
        return done, closed.cancelled(), turns.busy

    done, cancelled, busy = asyncio.run(scenario())
    assert cancelled
    assert done == ["curb", "door"]
    assert busy is False
