"""The reused-board cache resolves a board once when many requests ask for it at once."""

import threading
import time

import pytest

from lastbell.plans.board import ReuseCache


def test_concurrent_requests_for_a_missing_board_resolve_it_once():
    cache = ReuseCache(size=4)
    calls = []
    start = threading.Barrier(8)

    def resolve():
        calls.append(threading.get_ident())
        time.sleep(0.05)  # long enough for every other thread to arrive while it runs
        return object()

    got = []

    def ask():
        start.wait()
        got.append(cache.resolved(("school", 1), resolve))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(got) == 8 and all(board is got[0] for board in got)
    assert cache.resolving == {}


def test_a_failed_resolution_lets_the_next_request_try_again():
    cache = ReuseCache(size=4)

    def broken():
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        cache.resolved("key", broken)
    board = object()
    assert cache.resolved("key", lambda: board) is board
    assert cache.resolving == {}


def test_different_keys_resolve_side_by_side():
    cache = ReuseCache(size=4)
    inside = threading.Event()
    release = threading.Event()

    def slow():
        inside.set()
        release.wait(2)
        return "slow"

    thread = threading.Thread(target=lambda: cache.resolved("a", slow))
    thread.start()
    assert inside.wait(2)
    # Another school's board does not wait behind the first one.
    assert cache.resolved("b", lambda: "quick") == "quick"
    release.set()
    thread.join()
    assert cache.get("a") == "slow"


@pytest.mark.django_db(transaction=True)  # boards are reused between committed states only
def test_some_students_board_is_cut_from_the_schools_when_that_one_is_at_hand(
    on_school_day, school, student, django_assert_num_queries
):
    from lastbell import testing
    from lastbell.attendance.services import AbsenceSpec, absence_record
    from lastbell.plans.board import board_cache, day_board

    board_cache.clear()
    other = testing.make_student(school, first="Ben", last="Okafor")
    absence_record(student=other, spec=AbsenceSpec(date=on_school_day))
    afresh = day_board(school, on_school_day, student_ids=[other.pk, student.pk])
    whole = day_board(school, on_school_day)  # now at hand

    with django_assert_num_queries(1):  # the stamp, nothing else
        cut = day_board(school, on_school_day, student_ids=[other.pk, student.pk])

    assert [(r.student_id, r.plan_type, r.detail) for r in cut.rows] == [
        (r.student_id, r.plan_type, r.detail) for r in afresh.rows
    ]
    assert {r.student_id for r in cut.rows} == {other.pk, student.pk}
    assert {other.pk, student.pk} <= {r.student_id for r in whole.rows}
    # A change is never served from the old board.
    absence_record(student=student, spec=AbsenceSpec(date=on_school_day))
    (row,) = day_board(school, on_school_day, student_ids=[student.pk]).rows
    assert row.plan_type == "absence"
