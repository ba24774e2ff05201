"""Writing and fsyncing a cascade's outputs on threads of their own.

A result held in memory for the blocks below it (`handoff`) need not hold up
its cascade while it is encoded, hashed, written and fsynced: the writer does
that while the blocks below it already run on the table (`cascade`). The files
a cascade wrote itself are fsynced here as they come (`group_commit`), while
the cascade goes on. Either way, the group waits for the writer before it
commits the rows that name the files, so nothing acknowledged is lost.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from ballast_tui.storage.files import encode_table, fsync_file, place_synced

WRITER_THREADS = 2
"""Files written at once, across every cascade of the workspace."""


@dataclass(frozen=True)
class WriteAhead:
    """A table being written to its file on the writer's thread: its content hash comes first
    (the blocks below it need it for their fingerprints), the file in place and fsynced after."""

    content_hash: Future[str] = field(default_factory=Future)
    durable: Future[None] = field(default_factory=Future)


class OutputWriter:
    """A small pool of threads writing tables to Parquet files and fsyncing files."""

    def __init__(self, threads: int = WRITER_THREADS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ballast-writer")

    def __call__(self, table: pa.Table, path: Path) -> WriteAhead:
        """Start writing `table` to `path` (`encode_table`, then `place_synced`)."""
        ahead = WriteAhead()
        self._pool.submit(_write, table, path, ahead)
        return ahead

    def sync(self, path: Path) -> Future[None]:
        """Start fsyncing the file at `path` (written with `durable=False`)."""
        return self._pool.submit(fsync_file, path)

    def close(self) -> None:
        """Finish the writes under way, then stop the threads."""
        self._pool.shutdown(wait=True)


def _write(table: pa.Table, path: Path, ahead: WriteAhead) -> None:
    try:
        encoded, content_hash = encode_table(table)
    except BaseException as failure:  # e.g. a type Parquet cannot hold
        ahead.content_hash.set_exception(failure)
        ahead.durable.set_exception(failure)
        return
    ahead.content_hash.set_result(content_hash)
    try:
        place_synced(encoded, path)
    except BaseException as failure:  # e.g. a full disk
        ahead.durable.set_exception(failure)
    else:
        ahead.durable.set_result(None)
