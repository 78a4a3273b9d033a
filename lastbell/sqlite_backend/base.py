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
"""

import queue

from django.db.backends.sqlite3 import base

POOL_SIZE = 16  # threads of one process that hold a connection at once, beyond which they close

_pools: dict[str, queue.LifoQueue] = {}


def _pool(name) -> queue.LifoQueue:
    # setdefault: two threads making the first pool at once end up with the same one.
    return _pools.setdefault(str(name), queue.LifoQueue(maxsize=POOL_SIZE))


class DatabaseWrapper(base.DatabaseWrapper):
    def _pooled(self) -> bool:
        return not self.is_in_memory_db()

    def get_new_connection(self, conn_params):
        if self._pooled():
            try:
                return _pool(self.settings_dict["NAME"]).get_nowait()
            except queue.Empty:
                pass
        return super().get_new_connection(conn_params)

    def _close(self):
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
