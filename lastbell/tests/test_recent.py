"""What a process keeps of the moment goes when it is too much or nobody uses it (recent.py)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lastbell.dismissal import chain
from lastbell.plans import board, regions
from lastbell.recent import Recent


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_an_entry_nobody_used_for_the_idle_time_is_dropped():
    clock = Clock()
    kept = Recent(size=10, idle_seconds=600, clock=clock)
    kept.put("Maple, Monday", "board")
    kept.put("Oak, Monday", "board")
    clock.now += 599
    assert kept.get("Maple, Monday") == "board"  # used: its idle time starts again
    clock.now += 2  # Oak is now 601 s unused, Maple 2 s
    assert kept.get("Oak, Monday") is None
    assert kept.get("Maple, Monday") == "board"
    assert len(kept) == 1
    clock.now += 601
    assert len(kept) == 0


def test_the_least_recently_used_goes_first_when_too_many_are_kept():
    clock = Clock()
    kept = Recent(size=2, idle_seconds=600, clock=clock)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # now b is the least recently used
    kept.put("c", 3)
    assert kept.get("b") is None
    assert (kept.get("a"), kept.get("c")) == (1, 3)


def test_setdefault_makes_once_and_keeps_what_it_made():
    clock = Clock()
    kept = Recent(size=2, idle_seconds=600, clock=clock)
    made = []
    first = kept.setdefault("k", lambda: made.append(1) or object())
    assert kept.setdefault("k", lambda: made.append(1) or object()) is first
    assert made == [1]
    clock.now += 601
    assert kept.setdefault("k", lambda: made.append(1) or object()) is not first
    assert made == [1, 1]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["put", "get", "wait"]), st.integers(0, 5), st.integers(0, 400)
        ),  # fmt: skip
        max_size=60,
    )
)
def test_never_more_than_size_and_never_an_entry_idle_longer_than_allowed(steps):
    clock = Clock()
    kept = Recent(size=3, idle_seconds=300, clock=clock)
    used: dict[int, float] = {}  # the model: key -> last used, for keys that may be held
    for action, key, seconds in steps:
        if action == "put":
            kept.put(key, key)
            used[key] = clock.now
        elif action == "get":
            value = kept.get(key)
            if value is not None:
                assert value == key
                assert clock.now - used[key] <= 300  # never served once idle too long
                used[key] = clock.now
        else:
            clock.now += seconds
        assert len(kept) <= 3


@pytest.mark.parametrize(
    "cache",
    [lambda: board.board_cache.boards, lambda: regions.region_cache.boards, lambda: chain._chains],
    ids=["boards", "regions", "chains"],
)
def test_the_process_caches_drop_what_is_idle_for_the_configured_minutes(cache):
    from django.conf import settings as django_settings

    assert cache().idle_seconds == django_settings.LASTBELL_CACHE_IDLE_MINUTES * 60
    assert 0 < cache().idle_seconds <= 3600  # a finished dismissal is not kept for hours
