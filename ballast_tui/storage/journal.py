"""A group's small output files made durable with the rows that name them: their bytes in the database.

Each run's output is a Parquet file, and the row naming it is committed only
once the file is durable. fsyncing every small file of a cascade costs a
cascade of trivial blocks more than their queries do (on a virtual machine, a
fsync in flight also slows the other core). So the small files of one group
commit are written in place without fsync, and their bytes go into the
`output_journal` table in the same transaction as the group's rows
(`journal`): the one fsync of that commit makes them durable together, and
nothing else is fsynced for them before the group is acknowledged (not even
their directory: a rename the disk lost is written again from the row).
Later, when the workspace is idle, each file and its directory are fsynced
and the group's rows deleted (`settle`).

After a crash, `recover` goes over what rows are left: a file that is missing
or does not hold the bytes its row holds is written again from the row. A
row never names a file of a group that did not commit (they commit together),
nor a file outside the board's own directory (`file_key`, checked again on
reading).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ballast_tui.storage.connection import Connection
from ballast_tui.storage.db import Database
from ballast_tui.storage.files import content_hash_of, file_hash, make_durable, place_synced


@dataclass(frozen=True)
class Entry:
    """One small output file: where it is, its content hash (`files.encode_table`'s blake2b) and
    its bytes."""

    path: Path
    content_hash: str
    data: bytes | memoryview


def file_key(data_dir: Path, path: Path) -> str:
    """`path` as a journal row names it, ``<board_id>/<file name>`` under `data_dir`; `ValueError`
    for any other path."""
    board, name = path.parent, path.name
    if board.parent != data_dir or not _plain_name(board.name) or not _plain_name(name):
        raise ValueError(f"not an output file of a board: {path}")
    return f"{board.name}/{name}"


def _plain_name(name: str) -> bool:
    return bool(name) and not name.startswith(".") and not any(c in name for c in "/\\\0")


def _path_of(data_dir: Path, key: str) -> tuple[str, Path] | None:
    """The board and the file a row's key names, or None for a key no journal writes."""
    board, _, name = key.partition("/")
    if not _plain_name(board) or not _plain_name(name):
        return None
    return board, data_dir / board / name


def journal(tx: Connection, data_dir: Path, group: str, entries: Sequence[Entry]) -> int:
    """Insert `entries` as the rows of `group`, inside the transaction that commits the rows naming
    their files; return the bytes journaled."""
    now = time.time()
    rows = [
        (group, file_key(data_dir, entry.path), entry.content_hash, memoryview(entry.data), now)
        for entry in entries
    ]
    tx.conn.executemany(
        "INSERT INTO output_journal (grp, file, content_hash, data, created_at) VALUES (?, ?, ?, ?, ?)", rows
    )
    return sum(row[3].nbytes for row in rows)


def settle(db: Database, groups: Sequence[str], files: Iterable[Path]) -> None:
    """fsync `files` (those of `groups`) and their directories, then delete the groups' rows."""
    make_durable(files, missing_ok=True)
    with db.write() as tx:
        tx.conn.executemany("DELETE FROM output_journal WHERE grp = ?", [(group,) for group in groups])


def recover(db: Database, data_dir: Path, min_age_s: float) -> list[Path]:
    """Write again every file a crash lost or tore that a journal row holds; settle the rows older
    than `min_age_s`; return the files written again.

    A younger row may be another live process's, between its commit and its own settle: its file
    is checked and restored alike, but the row is left for its owner. A row of a board deleted since
    restores nothing.
    """
    restored: list[Path] = []
    rows = db.rows("SELECT rowid AS id, file, content_hash, created_at FROM output_journal")
    if not rows:
        return restored
    boards = {row["id"] for row in db.rows("SELECT id FROM boards")}
    cutoff = time.time() - min_age_s
    old: list[Path] = []
    for row in rows:
        named = _path_of(data_dir, row["file"])
        if named is None or named[0] not in boards:
            continue
        target = named[1]
        if not _holds(target, row["content_hash"]):
            data = _data(db, row["id"])
            if data is not None and content_hash_of(data) == row["content_hash"]:
                place_synced(data, target)  # fsynced as it is written
                restored.append(target)
        if row["created_at"] < cutoff:
            old.append(target)
    make_durable(old, missing_ok=True)
    with db.write() as tx:
        tx.execute("DELETE FROM output_journal WHERE created_at < ?", [cutoff])
    return restored


def _data(db: Database, rowid: int) -> bytes | None:
    """One row's bytes (read one row at a time: the rows together may hold many megabytes)."""
    row = db.row("SELECT data FROM output_journal WHERE rowid = ?", [rowid])
    return None if row is None else bytes(row["data"])


def _holds(target: Path, content_hash: str) -> bool:
    """Whether the file at `target` is there and holds the bytes of that content hash."""
    try:
        return file_hash(target) == content_hash
    except (FileNotFoundError, NotADirectoryError):
        return False
