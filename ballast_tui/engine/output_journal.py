"""The journaled groups of a workspace, settled when the workspace is idle.

A group commit makes its small output files durable with their rows, their
bytes journaled in the database (`storage.journal`), instead of one fsync a
file. Each file still has to be fsynced before its group's journal rows may go,
but not while cascades run: on two cores a fsync in flight slows the queries of
the other core. So the groups wait until no group has committed for `IDLE_S`,
or until more than `MOST_WAITING` of them (or `MOST_WAITING_BYTES` of output in
them) wait, and are then settled on the writer's threads (each file and its
directory fsynced, the rows deleted). Closing the workspace settles what is
left; a crash leaves the rows to `storage.journal.recover` at the next start.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ballast_tui.engine.executor import Alarm, alarm
from ballast_tui.engine.output_writer import OutputWriter
from ballast_tui.storage.db import Database
from ballast_tui.storage.journal import settle

IDLE_S = 1.0
"""How long no group may have committed before the waiting groups are settled."""
MOST_WAITING = 256
"""How many journaled groups may wait; one more settles them all at once."""
MOST_WAITING_BYTES = 64 * 1024 * 1024
"""How much output the waiting groups' rows may hold; more settles them all at once (the database
holds at most this much of them, and a crash restores at most this much)."""


@dataclass(frozen=True)
class JournaledGroup:
    """One committed group's journal: its name in `output_journal` and the files its rows hold."""

    group: str
    files: list[Path]


class JournalSettler:
    """The journaled groups of a workspace still to settle; thread-safe."""

    def __init__(
        self,
        writer: OutputWriter,
        db: Database,
        idle_s: float = IDLE_S,
        most_waiting: int = MOST_WAITING,
        most_waiting_bytes: int = MOST_WAITING_BYTES,
    ) -> None:
        self._writer = writer
        self._db = db
        self._idle_s = idle_s
        self._most_waiting = most_waiting
        self._most_waiting_bytes = most_waiting_bytes
        self._lock = threading.Lock()
        self._waiting: list[JournaledGroup] = []
        self._waiting_bytes = 0
        self._last = 0.0
        self._timer: Alarm | None = None

    def add(self, journal: JournaledGroup, size: int) -> None:
        """Settle `journal` (holding `size` bytes of output) once the workspace is idle, or once
        too many groups wait."""
        with self._lock:
            self._waiting.append(journal)
            self._waiting_bytes += size
            self._last = time.monotonic()
            if len(self._waiting) > self._most_waiting or self._waiting_bytes > self._most_waiting_bytes:
                due, self._waiting, self._waiting_bytes = self._waiting, [], 0
            else:
                due = []
                if self._timer is None:
                    self._timer = alarm(self._idle_s, self._idle)
        if due:
            self._settle_later(due)

    def waiting(self) -> list[JournaledGroup]:
        """The groups not settled yet."""
        with self._lock:
            return list(self._waiting)

    def _idle(self) -> None:
        """The timer (the watchdog's thread): settle, unless a group committed meanwhile."""
        with self._lock:
            quiet_for = time.monotonic() - self._last
            if quiet_for < self._idle_s and self._waiting:
                self._timer = alarm(self._idle_s - quiet_for, self._idle)
                return
            self._timer = None
            due, self._waiting, self._waiting_bytes = self._waiting, [], 0
        if due:
            self._settle_later(due)

    def _settle_later(self, journals: list[JournaledGroup]) -> None:
        try:
            self._writer.run_later(lambda: self._settle(journals))
        except RuntimeError:  # the writer is closed: the workspace's close settles them
            with self._lock:
                self._waiting[:0] = journals

    def close(self) -> None:
        """Settle every waiting group now (the writer's threads are stopped by then; the database is
        still open)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            due, self._waiting, self._waiting_bytes = self._waiting, [], 0
        self._settle(due)

    def _settle(self, journals: list[JournaledGroup]) -> None:
        """fsync the groups' files and delete their rows; groups that cannot be settled now (a full
        disk) are left to the next start's recovery."""
        if not journals:
            return
        with contextlib.suppress(OSError, sqlite3.Error):
            settle(self._db, [j.group for j in journals], [path for j in journals for path in j.files])
