"""Group commit: what the blocks of one cascade leave behind, made durable together.

Each block a cascade runs leaves a Parquet file (complete and in place, not
yet fsynced: the writer's thread fsyncs it from then on), rows to write (its
run, its block's new state) and a `run_finished` event. Instead of two fsyncs
and a SQLite commit per block, the pending blocks are committed as one group:
every file fsynced (the writer's thread did it meanwhile) and their directory
once, then every row in one SQLite transaction, and only then their events
published. The small files of the group (`output_writer.Journaled`) are not
fsynced at all then, nor their directory: their bytes are journaled in the
group's own transaction (`storage.journal`), and the files are fsynced later,
when the workspace is idle (`output_journal`). Nothing is acknowledged (no
event, no tool answer) before its group is committed, so a crash loses only
what nobody was told of; the files of a group that never committed are named by
no row and swept at the next start.

Events keep the order they would have had without grouping: an event with
nothing to write (`announce`, e.g. `run_started`) waits behind the pending
group, so a block is never announced as started before its upstream is
announced as finished. A group is committed when its cascade ends, and
earlier: after a block that took `SLOW_BLOCK_S` or more (next to it the fixed
cost is small), and at the latest `SLOW_BLOCK_S` after its first entry (on the
workspace's block pool), so a slow block shows as running, and a finished one
as finished, without waiting for the whole cascade.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from ballast_tui.engine.events import Event
from ballast_tui.engine.executor import Alarm, alarm
from ballast_tui.engine.output_journal import JournaledGroup
from ballast_tui.engine.output_writer import Journaled
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage.connection import Connection
from ballast_tui.storage.files import make_durable
from ballast_tui.storage.journal import journal

SLOW_BLOCK_S = 0.1
"""A block at least this slow (or a group waiting this long) commits its group at once."""

Write = Callable[[Connection], object]
"""Rows to write, inside the group's transaction."""


class GroupCommit:
    """The pending writes of one cascade over one board; thread-safe (blocks run in parallel)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._lock = threading.Lock()
        self._committing = threading.Lock()
        self._files: list[Path] = []
        self._syncing: list[tuple[Path, Future[None]]] = []
        self._writes: list[Write] = []
        self._events: list[Event] = []
        self._since: float | None = None
        self._timer: Alarm | None = None

    def add(
        self,
        write: Write,
        event: Event | None = None,
        file: Path | None = None,
        *,
        durable: Future[None] | None = None,
    ) -> None:
        """Queue `write` (and the `file` its rows name, and the `event` announcing it) for the next
        commit. The file is fsynced on the writer's thread from now on, or is being written and
        fsynced there (done when `durable` is); at the commit only its directory is left."""
        syncing = durable
        if file is not None and syncing is None:
            with contextlib.suppress(RuntimeError):  # the writer is shut down: fsynced at the commit
                syncing = self.ws.writer.sync(file)
        with self._lock:
            if self._since is None:
                self._since = time.monotonic()
                self._timer = alarm(SLOW_BLOCK_S, self._commit_later)
            self._writes.append(write)
            if file is not None and syncing is not None:
                self._syncing.append((file, syncing))
            elif file is not None:
                self._files.append(file)
            if event is not None:
                self._events.append(event)

    def announce(self, event: Event) -> None:
        """Publish `event` now when nothing is pending, else right after the pending group."""
        with self._committing:
            with self._lock:
                if self._since is not None:
                    self._events.append(event)
                    return
            self.ws.bus.publish(event)

    def due(self, block_seconds: float) -> bool:
        """Whether to commit now, after a block that took `block_seconds`."""
        with self._lock:
            if self._since is None:
                return False
            return block_seconds >= SLOW_BLOCK_S or time.monotonic() - self._since >= SLOW_BLOCK_S

    def commit(self) -> None:
        """Make the pending files durable, write the pending rows in one transaction, then publish
        the pending events. Nothing pending: nothing done. If the files or the rows fail, the group
        stays pending (and the error is raised)."""
        with self._committing:
            with self._lock:
                files, self._files = self._files, []
                syncing, self._syncing = self._syncing, []
                writes, self._writes = self._writes, []
                events, self._events = self._events, []
                self._since = None
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
            try:
                if writes:
                    for _, fsynced in syncing:
                        fsynced.result()  # raises what writing or fsyncing the file raised
                    entries = [
                        f.entry for _, f in syncing if isinstance(f, Journaled) and f.entry is not None
                    ]
                    journaled = {entry.path for entry in entries}
                    make_durable(files, [path for path, _ in syncing if path not in journaled])
                    group = secrets.token_hex(8)
                    with self.ws.db.write() as tx:
                        size = journal(tx, self.ws.paths.data, group, entries) if entries else 0
                        for write in writes:
                            write(tx)
                    if entries:
                        self.ws.journals.add(JournaledGroup(group, sorted(journaled)), size)
            except BaseException:
                with self._lock:
                    self._files[:0], self._writes[:0], self._events[:0] = files, writes, events
                    self._syncing[:0] = syncing
                    if self._since is None:
                        self._since = time.monotonic()
                raise
            for event in events:
                self.ws.bus.publish(event)

    def _commit_later(self) -> None:
        """The timer: commit on the block pool (never on the watchdog's thread). A failure leaves the
        group pending for the cascade's own commit, which raises it."""
        with contextlib.suppress(RuntimeError):  # the pool is shut down: the cascade commits
            self.ws.block_pool.submit(self._commit_quietly)

    def _commit_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self.commit()
