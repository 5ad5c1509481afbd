"""`SQLiteBackend`: a cache file shared by the processes of one machine, kept across restarts.

Expiry is an absolute wall-clock time (``time.time()``) stored with each row: a monotonic
clock means nothing in another process or after a reboot. Each thread of each process uses
its own connection (a connection must not be used by two threads at once, nor across
``fork``); the database runs in WAL mode so readers never wait for a writer.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .. import _checks
from .._fork import fork_safe_lock
from ._serialize import Codec, resolve_secret

if TYPE_CHECKING:
    from datetime import timedelta

__all__ = ["SQLiteBackend"]

_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

_Entry = tuple[sqlite3.Connection, threading.Thread, int]


def _close_connections(connections: list[_Entry]) -> None:
    """Close the connections this process opened.

    One inherited through ``fork`` must not be used, closing included (SQLite's advice).
    """
    pid = os.getpid()
    for connection, _, opened_by in connections:
        if opened_by == pid:
            connection.close()


class SQLiteBackend:
    """Store cache entries in an SQLite file (standard library only).

    Use it when results should survive a restart, or when several worker processes on one
    machine should share them. Expired rows are purged every ``purge_every`` writes. It can
    be pickled (sent to a worker process): the copy opens its own connections to the same
    file. The pickle holds the signing secret: keep it as private as the secret.

    Args:
        path: The database file (created when missing, parent directories included).
        secret: Key signing each entry with HMAC-SHA256; defaults to the
            ``MLOPS_DECORATORS_CACHE_SECRET`` environment variable. Without one, entries
            are unsigned and a warning says so once.
        table: Table name, for sharing one file between caches that must stay apart.
        timeout: Seconds (or a `timedelta`) to wait for a lock held by another process
            before failing (the call then runs uncached, and calls skip the file for a
            short cool-down); also the most an ``async def`` call waits for the file in
            total.
        purge_every: Writes between two purges of expired rows.
        clock: Wall clock in seconds since the epoch; inject a fake one in tests.

    Raises:
        TypeError: ``path`` is not a str or path, ``table`` is not a str, ``secret`` is not
            str/bytes/None, ``timeout`` or ``purge_every`` is not a number, or ``clock`` is
            not callable.
        ValueError: ``table`` is not an identifier or a number is not positive.

    Example:
        >>> import tempfile, os
        >>> from mlops_decorators.caching import cache_result
        >>> folder = tempfile.mkdtemp()
        >>> backend = SQLiteBackend(os.path.join(folder, "cache.db"), secret="s3cret")
        >>> @cache_result(ttl=60, backend=backend)
        ... def area(w: int, h: int) -> int:
        ...     return w * h
        >>> area(2, 3), area(2, 3), area.cache_info().hits
        (6, 6, 1)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        secret: str | bytes | None = None,
        table: str = "mlops_cache",
        timeout: float | timedelta = 1.0,
        purge_every: int = 256,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise _checks.wrong_type("path", "a str or os.PathLike path", path)
        self.path = Path(path)
        self._table = _checks.instance_of("table", table, str)
        if not _TABLE_NAME.match(self._table):
            raise _checks.wrong_value("table", "an SQL identifier such as 'my_cache'", table)
        self.timeout = _checks.seconds("timeout", timeout, allow_zero=False)
        self._purge_every = _checks.positive_int("purge_every", purge_every)
        self._clock = _checks.is_callable("clock", clock)
        self._writes = 0
        self._no_connections()
        self.codec = Codec(resolve_secret("secret", secret), repr(self))

    def _no_connections(self) -> None:
        """Start without connections: at construction, and in a copy (pickle)."""
        self._local = threading.local()
        # (connection, its thread, the pid that opened it): see _connection.
        self._connections: list[_Entry] = []
        self._connections_lock = fork_safe_lock(self, "_connections_lock")
        # A backend dropped without close() still closes its connections: each holds a file
        # descriptor, and Python 3.13 warns about a connection collected open. No lock: once
        # the backend is garbage, no thread uses them.
        weakref.finalize(self, _close_connections, self._connections)

    def __repr__(self) -> str:
        return f"SQLiteBackend({str(self.path)!r}, table={self._table!r})"

    def __getstate__(self) -> dict[str, object]:
        # A copy (pickle, e.g. to a worker process) keeps the file, options and secret, and
        # opens its own connections on first use: connections and locks stay behind.
        state = self.__dict__.copy()
        for name in ("_local", "_connections", "_connections_lock"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._no_connections()

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        connection: sqlite3.Connection | None = getattr(local, "connection", None)
        if connection is not None and local.pid == os.getpid():
            return connection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        with self._connections_lock:
            # One connection is set up at a time: two switching a new file to WAL at once can
            # get "database is locked" at once (SQLite skips the busy timeout where waiting
            # could deadlock), and the call would run uncached.
            connection = self._open()
            # A thread that ended leaves its connection open: close those, or a server
            # running a thread per request would leak one file descriptor per request. Only
            # connections this process opened: one inherited through fork must not be used,
            # closing included (SQLite's advice), so those stay as they are.
            kept: list[_Entry] = []
            ended: list[_Entry] = []
            for entry in self._connections:
                (ended if entry[2] == pid and not entry[1].is_alive() else kept).append(entry)
            # In place: the finalizer closes this very list.
            self._connections[:] = [*kept, (connection, threading.current_thread(), pid)]
        for stale, _, _ in ended:
            stale.close()
        local.connection, local.pid = connection, pid
        return connection

    def _open(self) -> sqlite3.Connection:
        # check_same_thread=False only so that other threads may close a connection (close(),
        # and the pruning of ended threads in _connection); each one is used by its own
        # thread alone.
        connection = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (key TEXT PRIMARY KEY, "
                "namespace TEXT NOT NULL, value BLOB NOT NULL, expires_at REAL)"
            )
            connection.execute(
                f"CREATE INDEX IF NOT EXISTS {self._table}_ns ON {self._table} (namespace)"
            )
            connection.execute(
                f"CREATE INDEX IF NOT EXISTS {self._table}_exp ON {self._table} (expires_at)"
            )
        except BaseException:
            # A locked or unreadable file: the next call opens a new connection, so this one
            # must not stay open.
            connection.close()
            raise
        return connection

    def get(self, key: str) -> bytes | None:
        """The bytes stored under `key` unless missing or expired.

        Args:
            key: ``"<namespace>:<hex digest>"``.

        Returns:
            The stored bytes, or None.

        Raises:
            sqlite3.Error: The database cannot be read (the decorator counts it as a
                backend error and calls the function).

        Example:
            >>> import tempfile, os
            >>> backend = SQLiteBackend(os.path.join(tempfile.mkdtemp(), "c.db"), secret="s")
            >>> backend.get("f:1") is None
            True
            >>> backend.set("f:1", b"record", ttl=60)
            >>> backend.get("f:1")
            b'record'
        """
        row = (
            self._connection()
            .execute(f"SELECT value, expires_at FROM {self._table} WHERE key = ?", (key,))
            .fetchone()
        )
        if row is None or (row[1] is not None and row[1] <= self._clock()):
            return None
        return bytes(row[0])

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store `value` under `key` until ``now + ttl`` (wall clock), or forever.

        Args:
            key: ``"<namespace>:<hex digest>"``; the namespace is stored for `clear`.
            value: The record to store.
            ttl: Seconds until the entry expires, or None for never.

        Raises:
            sqlite3.Error: The database cannot be written (locked past ``timeout``, disk
                full).

        Example:
            >>> import tempfile, os
            >>> backend = SQLiteBackend(os.path.join(tempfile.mkdtemp(), "c.db"), secret="s")
            >>> backend.set("f:1", b"old", ttl=None)
            >>> backend.set("f:1", b"new", ttl=None)  # replaces, never expires
            >>> backend.get("f:1")
            b'new'
        """
        now = self._clock()
        connection = self._connection()
        connection.execute(
            f"INSERT OR REPLACE INTO {self._table} (key, namespace, value, expires_at) "
            "VALUES (?, ?, ?, ?)",
            (key, key.rpartition(":")[0], value, None if ttl is None else now + ttl),
        )
        self._writes += 1
        if self._writes % self._purge_every == 0:
            self.purge_expired()

    def purge_expired(self) -> int:
        """Delete every expired row (of every namespace); `set` calls it every
        ``purge_every`` writes.

        Returns:
            How many rows were deleted.

        Raises:
            sqlite3.Error: The database cannot be written.

        Example:
            >>> import tempfile, os
            >>> now = [1000.0]
            >>> backend = SQLiteBackend(
            ...     os.path.join(tempfile.mkdtemp(), "c.db"), secret="s", clock=lambda: now[0]
            ... )
            >>> backend.set("f:1", b"record", ttl=10)
            >>> now[0] += 10
            >>> backend.get("f:1"), backend.purge_expired()
            (None, 1)
        """
        cursor = self._connection().execute(
            f"DELETE FROM {self._table} WHERE expires_at <= ?", (self._clock(),)
        )
        return cursor.rowcount

    def delete(self, key: str) -> bool:
        """Delete `key`; whether a live entry was there (as `get` would have returned it).

        Args:
            key: ``"<namespace>:<hex digest>"``.

        Returns:
            True if an unexpired row was deleted; an expired row not purged yet is deleted
            too, but counts as absent, as in the memory and Redis backends.

        Raises:
            sqlite3.Error: The database cannot be written.

        Example:
            >>> import tempfile, os
            >>> backend = SQLiteBackend(os.path.join(tempfile.mkdtemp(), "c.db"), secret="s")
            >>> backend.set("f:1", b"record", ttl=60)
            >>> backend.delete("f:1"), backend.delete("f:1")
            (True, False)
        """
        connection = self._connection()
        live = connection.execute(
            f"DELETE FROM {self._table} WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
            (key, self._clock()),
        )
        if live.rowcount > 0:
            return True
        connection.execute(f"DELETE FROM {self._table} WHERE key = ?", (key,))  # expired
        return False

    def clear(self, namespace: str) -> None:
        """Delete every entry of one function (`namespace`).

        Args:
            namespace: The function's namespace (module, qualname and version).

        Raises:
            sqlite3.Error: The database cannot be written.

        Example:
            >>> import tempfile, os
            >>> backend = SQLiteBackend(os.path.join(tempfile.mkdtemp(), "c.db"), secret="s")
            >>> backend.set("app.f:1", b"f's", ttl=60)
            >>> backend.set("app.g:1", b"g's", ttl=60)
            >>> backend.clear("app.f")
            >>> backend.get("app.f:1"), backend.get("app.g:1")
            (None, b"g's")
        """
        self._connection().execute(f"DELETE FROM {self._table} WHERE namespace = ?", (namespace,))

    def close(self) -> None:
        """Close every connection this process opened (the next use opens new ones).

        Example:
            >>> import tempfile, os
            >>> backend = SQLiteBackend(os.path.join(tempfile.mkdtemp(), "c.db"), secret="s")
            >>> backend.set("f:1", b"record", ttl=None)
            >>> backend.close()
            >>> backend.get("f:1")  # reopened on use
            b'record'
        """
        pid = os.getpid()
        with self._connections_lock:
            connections = self._connections[:]
            # One inherited through fork stays as it is (see _connection).
            self._connections[:] = [entry for entry in connections if entry[2] != pid]
        _close_connections(connections)
        self._local = threading.local()
