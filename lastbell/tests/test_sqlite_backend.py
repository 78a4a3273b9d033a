"""The embedded default's SQLite backend keeps closed connections of a file database for the
next request's thread (lastbell/sqlite_backend)."""

import contextlib
import threading

import pytest
from django.db.utils import ConnectionHandler

from lastbell.sqlite_backend import base


@pytest.fixture(autouse=True)
def own_databases(django_db_blocker):
    """Each test opens its own database files, on either suite's run (SQLite or PostgreSQL)."""
    with django_db_blocker.unblock():
        yield
    base.close_pooled()


def wrapper(path):
    handler = ConnectionHandler({"default": {
        "ENGINE": "lastbell.sqlite_backend", "NAME": str(path),
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;"},
    }})  # fmt: skip
    return handler["default"]


def test_a_closed_connection_serves_the_next_thread(tmp_path):
    path = tmp_path / "pool.sqlite3"
    first, second = wrapper(path), wrapper(path)
    first.ensure_connection()
    raw = first.connection
    with first.cursor() as cursor:
        cursor.execute("CREATE TABLE t (n integer)")
    first.close()
    got = {}

    def request():  # another thread, as the next ASGI request is
        second.inc_thread_sharing()  # the wrapper is this test's; the thread uses it
        with second.cursor() as cursor:
            cursor.execute("INSERT INTO t VALUES (1)")
            cursor.execute("SELECT count(*) FROM t")
            got["count"] = cursor.fetchone()[0]
        got["raw"] = second.connection
        second.close()
        second.dec_thread_sharing()

    thread = threading.Thread(target=request)
    thread.start()
    thread.join()

    assert got == {"count": 1, "raw": raw}  # the same sqlite3 connection, reused


def test_an_open_transaction_is_rolled_back_before_the_connection_is_lent(tmp_path):
    path = tmp_path / "pool.sqlite3"
    one, two = wrapper(path), wrapper(path)
    with one.cursor() as cursor:
        cursor.execute("CREATE TABLE t (n integer)")
    one.set_autocommit(False)
    with one.cursor() as cursor:
        cursor.execute("INSERT INTO t VALUES (1)")  # never committed
    one.close()

    with two.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM t")
        assert cursor.fetchone()[0] == 0
        cursor.execute("INSERT INTO t VALUES (2)")  # and the write lock was let go
    two.close()


def test_an_in_memory_database_is_never_pooled():
    memory = wrapper(":memory:")
    memory.ensure_connection()
    raw = memory.connection

    memory._close()  # what close() does, but for the in-memory guard

    assert all(pool.empty() for pool in base._pools.values())
    with pytest.raises(Exception, match="closed"):
        raw.execute("SELECT 1")


def writer(path):
    """A connection as settings.py makes them: IMMEDIATE transactions, a short busy timeout."""
    handler = ConnectionHandler({"default": {
        "ENGINE": "lastbell.sqlite_backend", "NAME": str(path),
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE",
                    "timeout": 0.5},
    }})  # fmt: skip
    return handler["default"]


@contextlib.contextmanager
def transaction_on(connection):
    """What transaction.atomic does on the outermost block, on this wrapper."""
    connection.ensure_connection()
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    try:
        yield connection.cursor()
    except BaseException:
        connection.rollback()
        connection.set_autocommit(True)
        raise
    connection.commit()
    connection.set_autocommit(True)


def test_writers_of_the_process_take_turns_and_every_ending_gives_the_turn_back(tmp_path):
    path = tmp_path / "turns.sqlite3"
    first, second = writer(path), writer(path)
    with first.cursor() as cursor:
        cursor.execute("CREATE TABLE t (n integer)")
    turn = base._writer(path)
    done = {}

    def second_writes():  # another request's thread
        second.inc_thread_sharing()
        with transaction_on(second) as cursor:
            cursor.execute("INSERT INTO t VALUES (2)")
        done["at"] = "written"
        second.close()
        second.dec_thread_sharing()

    with transaction_on(first) as cursor:
        cursor.execute("INSERT INTO t VALUES (1)")
        assert turn.locked() and first.holds_writer
        thread = threading.Thread(target=second_writes)
        thread.start()
        thread.join(0.2)
        assert thread.is_alive() and not done  # waiting for its turn
    thread.join(5)
    assert done == {"at": "written"} and not turn.locked()

    # A rolled-back transaction and a closed connection give the turn back too: a turn kept
    # would make every later writer fail after its timeout ("database is locked").
    with pytest.raises(ZeroDivisionError), transaction_on(first) as cursor:
        cursor.execute("INSERT INTO t VALUES (3)")
        1 / 0  # noqa: B018
    assert not turn.locked()
    first.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    first.cursor().execute("INSERT INTO t VALUES (4)")
    first.close()  # mid-transaction: SQLite rolls it back
    assert not turn.locked()
    with transaction_on(second) as cursor:
        cursor.execute("SELECT n FROM t ORDER BY n")
        assert [row[0] for row in cursor.fetchall()] == [1, 2]
    assert not turn.locked()
    second.close()
