"""Writing and fsyncing a cascade's outputs on threads of their own.

A result held in memory for the blocks below it (`handoff`) and large enough
for its encoding to matter need not hold up its cascade while it is encoded,
hashed and fsynced: the writer does that while the blocks below it already run
on the table (`cascade`). The files a cascade wrote itself are fsynced here as
they come (`group_commit`), while the cascade goes on. Either way, the group
waits for the writer before it commits the rows that name the files, so
nothing acknowledged is lost.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa

from ballast_tui.storage.files import fsync_file, write_table_synced

WRITER_THREADS = 2
"""Files written at once, across every cascade of the workspace."""


class OutputWriter:
    """A small pool of threads writing tables to Parquet files (`write_table_synced`) and fsyncing
    files (`fsync_file`)."""

    def __init__(self, threads: int = WRITER_THREADS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ballast-writer")

    def __call__(self, table: pa.Table, path: Path) -> Future[str]:
        """Start writing `table` to `path`; the future's value is the file's content hash."""
        return self._pool.submit(write_table_synced, table, path)

    def sync(self, path: Path) -> Future[None]:
        """Start fsyncing the file at `path` (written with `durable=False`)."""
        return self._pool.submit(fsync_file, path)

    def close(self) -> None:
        """Finish the writes under way, then stop the threads."""
        self._pool.shutdown(wait=True)
