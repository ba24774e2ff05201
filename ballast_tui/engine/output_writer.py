"""Writing and fsyncing a cascade's outputs on threads of their own.

A result held in memory for the blocks below it (`handoff`) need not hold up
its cascade while its file is written and fsynced, nor, when it is large, while
it is encoded and hashed: the writer does that while the blocks below it
already run on the table (`cascade`). The files
a cascade wrote itself are fsynced here as they come (`group_commit`), while
the cascade goes on. Either way, the group waits for the writer before it
commits the rows that name the files, so nothing acknowledged is lost.

A small table is hashed at once (`result_hash`: its content hash does not
depend on its file), and its file, encoded and written, is held back until the
cascade's next query starts (`start_held`), or until anything waits for it: a
query holds no GIL while it runs, so the writer's Python steps and its
encoding fall in it rather than in the cascade's bookkeeping, where each of
them made the cascade's thread wait. Its file is not fsynced: its bytes
(`Journaled.entry`) go into its group's journal, fsynced once for the group
(`group_commit`, `storage.journal`); the files are fsynced later, when the
workspace is idle (`run_later`, `output_journal`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ballast_tui.lazy import lazy_module
from ballast_tui.storage.files import encode_table, fsync_file, parquet_bytes, place_synced, result_hash
from ballast_tui.storage.journal import Entry

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

WRITER_THREADS = 2
"""Files written at once, across every cascade of the workspace."""
ENCODE_HERE_BYTES = 256 * 1024
"""A table smaller than this is hashed on the calling thread (tens of microseconds, less than handing
it over costs); its file is encoded and written on the writer's thread, while the next query runs."""


@dataclass(frozen=True)
class WriteAhead:
    """A table being written to its file on the writer's thread: its content hash comes first
    (the blocks below it need it for their fingerprints), the file in place and fsynced after."""

    content_hash: Future[str] = field(default_factory=Future)
    durable: Future[None] = field(default_factory=Future)


class Journaled(Future[None]):
    """`WriteAhead.durable` of a small file: done once the file is in place, not fsynced; its
    bytes (`entry`) are to be journaled with its group before any row names it (`group_commit`).
    Its writing is held back (`OutputWriter.start_held`): whoever waits for it starts it first,
    so nothing waits for a write never started."""

    def __init__(self, writer: OutputWriter) -> None:
        super().__init__()
        self._writer = writer
        self.entry: Entry | None = None

    def result(self, timeout: float | None = None) -> None:
        self._writer.start_held(here=True)
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._writer.start_held(here=True)
        return super().exception(timeout)


class OutputWriter:
    """A small pool of threads writing tables to Parquet files and fsyncing files."""

    def __init__(self, threads: int = WRITER_THREADS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ballast-writer")
        self._held: list[_Held] = []
        self._held_lock = threading.Lock()

    def start_held(self, *, here: bool = False) -> None:
        """Start encoding and writing the files held back (`__call__`) on the writer's threads;
        `here`, on the calling thread, which is about to wait for them (handing them over and waking
        a writer would only add to the wait)."""
        with self._held_lock:
            held, self._held = self._held, []
        for one in held:
            if here:
                _encode_place(one)
            else:
                self._pool.submit(_encode_place, one)

    def __call__(self, table: pa.Table, path: Path) -> WriteAhead:
        """Write `table` to `path` (`encode_table`, then `place_synced`). A small table's content
        hash (`result_hash`) is known on return (`ENCODE_HERE_BYTES`); its file is encoded and
        written once `start_held` is called or its `durable` waited for.

        `table` is of types Parquet stores (`handoff.survives_parquet`: the executor writes any
        other result itself, where a refusal is its run's error); a failure to encode it after
        all is its group commit's."""
        if table.get_total_buffer_size() >= ENCODE_HERE_BYTES:
            ahead = WriteAhead()
            self._pool.submit(_write, table, path, ahead)
            return ahead
        ahead = WriteAhead(durable=Journaled(self))
        try:
            content_hash = result_hash(table)
        except BaseException as failure:
            ahead.content_hash.set_exception(failure)
            ahead.durable.set_exception(failure)
            return ahead
        ahead.content_hash.set_result(content_hash)
        with self._held_lock:
            self._held.append(_Held(table, path, ahead))
        return ahead

    def sync(self, path: Path) -> Future[None]:
        """Start fsyncing the file at `path` (written with `durable=False`)."""
        return self._pool.submit(fsync_file, path)

    def run_later(self, work: Callable[[], None]) -> None:
        """Run `work` on a writer's thread (`RuntimeError` once the writer is closed)."""
        self._pool.submit(work)

    def close(self) -> None:
        """Finish the writes under way, then stop the threads."""
        self.start_held()
        self._pool.shutdown(wait=True)


@dataclass(frozen=True)
class _Held:
    """A small table whose file is held back."""

    table: pa.Table
    path: Path
    ahead: WriteAhead


def _encode_place(held: _Held) -> None:
    """Encode a held table and put its file in place, not fsynced: its bytes go into its group's
    journal (`Journaled.entry`)."""
    durable = held.ahead.durable
    assert isinstance(durable, Journaled)
    try:
        data, data_hash = encode_table(held.table)
    except BaseException as failure:  # its content hash is known: the group commit raises it
        durable.set_exception(failure)
        return
    durable.entry = Entry(held.path, data_hash, memoryview(data))
    _place(data, held.path, held.ahead, sync=False)


def _write(table: pa.Table, path: Path, ahead: WriteAhead) -> None:
    """Hash a large table first (the blocks below it wait for that alone), then encode, write and
    fsync its file."""
    try:
        content_hash = result_hash(table)
    except BaseException as failure:
        ahead.content_hash.set_exception(failure)
        ahead.durable.set_exception(failure)
        return
    ahead.content_hash.set_result(content_hash)
    try:
        encoded = parquet_bytes(table)  # fsynced, not journaled: the hash of its bytes is not needed
    except BaseException as failure:  # of types Parquet stores: the group commit raises it
        ahead.durable.set_exception(failure)
        return
    _place(encoded, path, ahead)


def _place(encoded: pa.Buffer, path: Path, ahead: WriteAhead, *, sync: bool = True) -> None:
    try:
        place_synced(encoded, path, sync=sync)
    except BaseException as failure:  # e.g. a full disk
        ahead.durable.set_exception(failure)
    else:
        ahead.durable.set_result(None)
