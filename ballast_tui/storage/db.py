"""The workspace's SQLite database: connections, the single writer, JSON helpers.

Reads use one connection per thread and run concurrently (WAL). Writes go
through one process-wide lock and open with ``BEGIN IMMEDIATE``, so a
transaction takes SQLite's write lock up front instead of failing half-way
under contention with another process (a second `ballast` on the workspace).

The database file is made 0600 before SQLite opens it: SQLite gives the
``-wal`` and ``-shm`` files it creates the database file's mode.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ballast_tui.storage.connection import Connection
from ballast_tui.storage.migrations import apply_migrations
from ballast_tui.storage.private import create_file

BUSY_TIMEOUT_MS = 10_000


def utcnow() -> str:
    """The current time as an ISO 8601 UTC string with milliseconds and a `Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dumps(value: Any) -> str:
    """JSON text for a column, compact and stable."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def loads(text: str | None, default: Any = None) -> Any:
    """The value of a JSON column, or `default` for NULL."""
    return default if text is None else json.loads(text)


def _params(params: Sequence[Any] | Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
    return dict(params) if isinstance(params, Mapping) else params


class DatabaseClosed(sqlite3.ProgrammingError):
    """The workspace's database was closed (the process is stopping)."""


class Database:
    """One workspace database file, safe to use from many threads.

    Each thread has its own connection, used under that connection's lock, so
    `close` (from whichever thread stops the process) waits for a query in
    flight instead of pulling the connection from under it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._all: list[tuple[sqlite3.Connection, threading.RLock]] = []
        self._all_lock = threading.Lock()
        self._closed = False
        create_file(path)
        with self.write() as db:
            apply_migrations(db)

    def _connect(self) -> Connection:
        conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        lock = threading.RLock()
        with self._all_lock:
            if self._closed:
                conn.close()
                raise DatabaseClosed("the workspace's database is closed")
            self._all.append((conn, lock))
        self._local.lock = lock
        return Connection(conn)

    @property
    def conn(self) -> Connection:
        """This thread's connection."""
        if self._closed:
            raise DatabaseClosed("the workspace's database is closed")
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        return db

    @contextmanager
    def _using(self) -> Iterator[Connection]:
        """This thread's connection, held against `close` while it is used."""
        db = self.conn
        with self._local.lock:
            if self._closed:
                raise DatabaseClosed("the workspace's database is closed")
            yield db

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error.

        Re-entrant: a nested call joins the outer transaction.
        """
        with self._write_lock, self._using() as db:
            if db.conn.in_transaction:
                yield db
                return
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.conn.execute("ROLLBACK")
                raise
            db.conn.execute("COMMIT")

    def rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        """Every row of a query, as dicts."""
        with self._using() as db:
            return list(db.query(sql, _params(params)))

    def row(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> dict[str, Any] | None:
        """The first row of a query, or None."""
        with self._using() as db:
            for found in db.query(sql, _params(params)):
                return found
        return None

    def first(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a SELECT as a tuple, or None: `row` without the dict, for a lookup on a
        hot path."""
        with self._using() as db:
            found: tuple[Any, ...] | None = db.conn.execute(sql, _params(params)).fetchone()
            return found

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Cursor:
        """Run one statement; inside `write()` when it changes anything."""
        with self._using() as db:
            return db.execute(sql, _params(params))

    def close(self) -> None:
        """Close every connection this object opened, each once no query is using it."""
        with self._all_lock:
            self._closed = True
            connections, self._all = self._all, []
        for conn, lock in connections:
            with lock, suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()
