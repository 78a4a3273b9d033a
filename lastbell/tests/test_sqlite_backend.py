"""The embedded default's SQLite backend keeps closed connections of a file database for the
next request's thread (lastbell/sqlite_backend)."""

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
