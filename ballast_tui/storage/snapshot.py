"""A consistent copy of a live workspace database, and the checks run on such a copy.

`snapshot_database` uses SQLite's online backup API from a connection of its
own (one that writes nothing) to the live file: the copy is one transaction's
view, whatever other processes (a running server) write meanwhile, including
what is still in the WAL and not yet in `ballast.db` itself. The copy is a
single file in rollback-journal mode; opening it as a workspace turns WAL on
again.

The readers here open a copy with plain `sqlite3`, never `Database`, which
would run the migrations (a write) on it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TypeVar

from ballast_tui.storage.db import BUSY_TIMEOUT_MS
from ballast_tui.storage.repos import REFERENCED_FILES_SQL

T = TypeVar("T")
PRIVATE_FILE = 0o600
COUNTED_TABLES = ("users", "tokens", "boards", "blocks", "runs", "sources", "connections")
"""The tables whose row counts describe a copy (those that exist in it)."""


@contextmanager
def _open(path: Path, *, read_only: bool) -> Iterator[sqlite3.Connection]:
    uri = f"{path.resolve().as_uri()}?mode={'ro' if read_only else 'rw'}"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    with closing(conn):
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        yield conn


def snapshot_database(live: Path, target: Path, then: Callable[[sqlite3.Connection], T]) -> T:
    """Copy the database at `live` to a new file `target` (0600), consistent while others write.

    The backup runs in one step, under one read transaction of the live file
    (in WAL mode a reader blocks no writer). `then` runs on the copy right
    after, before the copy is made durable, and its answer is returned: what the
    copy names can be held on to (files opened) as soon as possible. `target` is
    replaced if it exists.
    """
    for stale in (target, *(target.with_name(target.name + s) for s in ("-journal", "-wal", "-shm"))):
        stale.unlink(missing_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    os.close(fd)
    with _open(live, read_only=False) as source, _open(target, read_only=False) as copy:
        # Not `mode=ro`: a read-only connection could not remove the -wal and -shm files it made
        # beside a workspace nobody else has open. `query_only` keeps it from writing all the same.
        source.execute("PRAGMA query_only = ON")
        source.backup(copy)  # pages=-1: every page in one step, so one consistent view
        answer = then(copy)
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
    with open(target, "rb+") as written:
        os.fsync(written.fileno())
    return answer


def integrity_check(path: Path) -> str:
    """SQLite's `PRAGMA integrity_check` of a database file: ``ok``, or the problems it found."""
    with _open(path, read_only=True) as conn:
        return "; ".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check"))


def referenced_files_in(conn: sqlite3.Connection) -> set[str]:
    """Every data file the rows of a copy name, as ``<board_id>/<file>`` (`repos.referenced_files`)."""
    return {f"{board_id}/{file}" for board_id, file in conn.execute(REFERENCED_FILES_SQL)}


def referenced_files_of(path: Path) -> set[str]:
    """`referenced_files_in` the copy at `path`."""
    with _open(path, read_only=True) as conn:
        return referenced_files_in(conn)


def describe_copy(path: Path) -> tuple[int, dict[str, int]]:
    """A copy's schema version (its newest recorded migration; 0 for none) and its row counts."""
    with _open(path, read_only=True) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = 0
        if "schema_migrations" in tables:
            version = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
        counts = {
            table: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table in COUNTED_TABLES
            if table in tables
        }
    return int(version), counts
