"""Writing a cascade's small results to their Parquet files on threads of their own.

A result small enough to be held in memory (`handoff`) need not hold up its
cascade while it is encoded, hashed and fsynced: the writer does that while the
blocks below it already run on the table (`cascade`). The file is complete and
fsynced when its future is done; the cascade waits for it before the rows that
name the file are committed (`group_commit`), so nothing acknowledged is lost.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa

from ballast_tui.storage.files import write_table_synced

WRITER_THREADS = 2
"""Files written at once, across every cascade of the workspace."""


class OutputWriter:
    """A small pool of threads writing tables to Parquet files (`write_table_synced`)."""

    def __init__(self, threads: int = WRITER_THREADS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ballast-writer")

    def __call__(self, table: pa.Table, path: Path) -> Future[str]:
        """Start writing `table` to `path`; the future's value is the file's content hash."""
        return self._pool.submit(write_table_synced, table, path)

    def close(self) -> None:
        """Finish the writes under way, then stop the threads."""
        self._pool.shutdown(wait=True)
