"""The workspace: one directory, its database, its DuckDB executor, bus and sessions."""

from __future__ import annotations

import functools
import os
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ballast_tui.config import Settings, WorkspacePaths
from ballast_tui.engine.board_graph import keep_parses_in
from ballast_tui.engine.computed_cache import ComputedCache
from ballast_tui.engine.derived_cache import DerivedCache
from ballast_tui.engine.events import EventBus
from ballast_tui.engine.executor import Executor
from ballast_tui.engine.handoff import HandOffBudget
from ballast_tui.engine.output_journal import JournalSettler
from ballast_tui.engine.output_writer import OutputWriter
from ballast_tui.engine.reuse_filter import ReuseFilter
from ballast_tui.engine.sessions import Sessions
from ballast_tui.engine.signing import workspace_secret
from ballast_tui.engine.users import Users
from ballast_tui.storage import repos
from ballast_tui.storage.db import Database
from ballast_tui.storage.files import SWEEP_MIN_AGE_S, sweep
from ballast_tui.storage.journal import recover

if TYPE_CHECKING:
    from ballast_tui.engine.remote.store import Connections


class Workspace:
    """Everything of one organisation, opened by one process."""

    def __init__(
        self,
        root: Path,
        settings: Settings | None = None,
        today: Callable[[], date] = date.today,
        *,
        sweep_files: bool = True,
    ) -> None:
        """Open (creating if needed) the workspace at `root`.

        `sweep_files=False` is for helper processes beside a server (the page
        renderer): leftovers are the serving process's to remove. The directory
        and everything in it are made owner-only (`WorkspacePaths.ensure`); what
        had to be tightened is in `tightened`, and logged.
        """
        self.paths = WorkspacePaths(Path(root).resolve())
        self.tightened = self.paths.ensure()
        self.settings = settings or Settings()
        self.today = today
        self.db = Database(self.paths.db)
        self.users = Users(self.db, lambda: self.secret)
        self.executor = Executor(self.paths.data, self.settings)
        self._connections: Connections | None = None
        self._connections_guard = threading.Lock()
        self.bus = EventBus()
        self.sessions = Sessions()
        self.computed = ComputedCache()
        self.derived = DerivedCache(self.paths.cache)
        """Answers derived from what never changes (what SQL reads, each block's data), kept for later."""
        keep_parses_in(self.derived)
        self.handoff = HandOffBudget()
        """The memory cascades may hold in results handed on to downstream blocks (`handoff`)."""
        self.writer = OutputWriter()
        """Writes (and fsyncs) cascades' outputs while the cascades go on."""
        self.journals = JournalSettler(self.writer, self.db)
        """The journaled groups, their files fsynced when the workspace is idle."""
        self.reuse_filter = ReuseFilter(self.db)
        """Which blocks certainly have no run to reuse for a fingerprint (no lookup needed)."""
        self.live_sessions: weakref.WeakSet[Any] = weakref.WeakSet()
        """Every `LiveSession` open on this workspace (to check their access after a revocation)."""
        workers = max(4, 2 * (os.cpu_count() or 1))
        self.block_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ballast-block")
        self._board_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._board_locks_guard = threading.Lock()
        self.restored = recover(self.db, self.paths.data, SWEEP_MIN_AGE_S) if sweep_files else []
        """Output files a crash lost, written again from their journal rows (`storage.journal`)."""
        self.swept = sweep(self.paths.data, repos.referenced_files(self.db)) if sweep_files else []

    @functools.cached_property
    def secret(self) -> bytes:
        """The workspace's signing key (`secret.key`, made on first need)."""
        return workspace_secret(self.paths.secret)

    @property
    def connections(self) -> Connections:
        """The connected warehouses and app databases, opened on first need: drawing a board of
        imported data never loads the database drivers."""
        with self._connections_guard:
            if self._connections is None:
                from ballast_tui.engine.remote.store import Connections

                self._connections = Connections(self.db, self.paths.root, self.settings)
            return self._connections

    def board_lock(self, board_id: str) -> threading.Lock:
        """The lock that serializes the cascades of one board."""
        with self._board_locks_guard:
            return self._board_locks[board_id]

    def board_dir(self, board_id: str) -> Path:
        return self.paths.board_dir(board_id)

    def close(self) -> None:
        """Cancel running queries and release every resource."""
        self.executor.close()
        with self._connections_guard:
            if self._connections is not None:
                self._connections.close()
        self.block_pool.shutdown(wait=True, cancel_futures=True)
        self.writer.close()
        self.journals.close()
        self.db.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
