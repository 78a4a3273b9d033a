"""SQLite with its connections kept for the next request (the embedded default's ENGINE).

Under ASGI every request's sync code runs in a thread of its own, and Django's connections
belong to threads, so each request opened the database file, ran the set-up PRAGMAs and closed
it again. Closing the last connection of a WAL database also checkpoints the WAL into the
file. At dismissal that was a tenth of the server's time (bench/README.md, "Dismissal under
load"). Django pools PostgreSQL connections (psycopg's pool, settings.py) but has no pool for
SQLite, so this backend keeps closed connections of a file database in a small pool per
process and hands them to the next request's thread; sqlite3 connections may move between
threads (Django opens them with check_same_thread=False) as long as one thread at a time uses
them, which the pool ensures. An in-memory database (the tests') is never pooled.

Writers of a file database also take turns in the process (`_writer`) before SQLite's own
lock. SQLite has one writer at a time, and one that finds the lock taken sleeps and tries
again (1, 2, 5, 10 … 100 ms), so at dismissal, with a check-in, a "Sent" or a release every
few hundred milliseconds, a write often waited for the next try long after the lock was free:
its p99 was seconds while its median was tens of milliseconds. A thread waiting on a Python
lock is woken the moment it is released. SQLite's busy timeout still covers other processes
(the task worker).
"""

import queue
import threading

from django.db import OperationalError
from django.db.backends.sqlite3 import base

POOL_SIZE = 16  # threads of one process that hold a connection at once, beyond which they close

_pools: dict[str, queue.LifoQueue] = {}


_writers: dict[str, threading.Lock] = {}


def _pool(name) -> queue.LifoQueue:
    # setdefault: two threads making the first pool at once end up with the same one.
    return _pools.setdefault(str(name), queue.LifoQueue(maxsize=POOL_SIZE))


def _writer(name) -> threading.Lock:
    return _writers.setdefault(str(name), threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    holds_writer = False  # this connection's transaction has the process's writer turn

    def _pooled(self) -> bool:
        return not self.is_in_memory_db()

    # Every transaction is a writer's (BEGIN IMMEDIATE, settings.py): it waits for its turn
    # in the process first, as long as SQLite's busy timeout would have let it wait.
    def _start_transaction_under_autocommit(self):
        if self._pooled() and not self.holds_writer:
            wait = self.settings_dict.get("OPTIONS", {}).get("timeout", 5)
            if not _writer(self.settings_dict["NAME"]).acquire(timeout=wait):
                raise OperationalError("database is locked")
            self.holds_writer = True
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._end_turn()
            raise

    def _end_turn(self):
        if self.holds_writer:
            self.holds_writer = False
            _writer(self.settings_dict["NAME"]).release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._end_turn()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._end_turn()

    def get_new_connection(self, conn_params):
        if self._pooled():
            try:
                return _pool(self.settings_dict["NAME"]).get_nowait()
            except queue.Empty:
                pass
        return super().get_new_connection(conn_params)

    def _close(self):
        try:
            return self._close_or_keep()
        finally:
            self._end_turn()  # an open transaction ended with it

    def _close_or_keep(self):
        conn = self.connection
        # A connection closed inside an atomic block stays this wrapper's until the block
        # ends (BaseDatabaseWrapper.close), so it is never lent to another thread.
        if conn is None or not self._pooled() or self.in_atomic_block:
            return super()._close()
        with self.wrap_database_errors:
            if conn.in_transaction:
                conn.rollback()
            try:
                _pool(self.settings_dict["NAME"]).put_nowait(conn)
            except queue.Full:
                conn.close()
        return None


def close_pooled() -> None:
    """Close every kept connection of this process (tests, and before a restore)."""
    for pool in list(_pools.values()):
        while True:
            try:
                pool.get_nowait().close()
            except queue.Empty:
                break
