"""Scheduled refreshes: dashboards with auto-refresh on re-run on their interval, inside the server.

Every tick the scheduler reads which boards are due (auto-refresh on, and never
refreshed or refreshed at least one interval ago), and refreshes each as its
owner on a thread of its own pool, never on the event loop. A board whose
previous refresh is still running is skipped, so a slow refresh never overlaps
itself. Nothing is kept in memory between runs of the server: "due" comes from
``last_refreshed_at`` in the database, so a server stopped and started again
picks the schedule up where it was (an overdue board refreshes at start).

`Settings.refresh_time_scale` multiplies every interval (tests run 300 s as
about one second) and `Settings.scheduler_tick_s` sets how often it looks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from aiohttp import web

from ballast_tui.engine.errors import ToolError
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.dashboards import refresh_board
from ballast_tui.tools.registry import Context
from server.keys import WORKSPACE

log = logging.getLogger("ballast.server.scheduler")

TRIGGER = "schedule"
WORKERS = 2
"""Boards refreshed at the same time; more due boards wait their turn (each still runs once)."""
STOP_TIMEOUT_S = 10.0
_CANCEL_EVERY_S = 0.1


@dataclass(frozen=True)
class DueBoard:
    """A board the schedule says should refresh now."""

    id: str
    owner_id: str
    interval_s: float


def _parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 timestamp from the database, as an aware UTC datetime (None if absent or unreadable)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def due_boards(ws: Workspace, now: datetime | None = None) -> list[DueBoard]:
    """Boards with auto-refresh on whose interval (times the time scale) has passed, oldest first."""
    now = now or datetime.now(UTC)
    scale = ws.settings.refresh_time_scale
    due: list[tuple[datetime, DueBoard]] = []
    rows = ws.db.rows(
        "SELECT id, owner_id, refresh_interval, last_refreshed_at FROM boards "
        "WHERE refresh_enabled = 1 ORDER BY id"
    )
    for row in rows:
        interval = max(0.0, float(row["refresh_interval"]) * scale)
        last = _parse_time(row["last_refreshed_at"])
        if last is None or last + timedelta(seconds=interval) <= now:
            board = DueBoard(row["id"], row["owner_id"], interval)
            due.append((last or datetime.min.replace(tzinfo=UTC), board))
    due.sort(key=lambda item: item[0])
    return [board for _, board in due]


class Scheduler:
    """The refresh loop of one workspace; `start` and `stop` it with the server."""

    def __init__(self, ws: Workspace, *, tick_s: float | None = None, workers: int = WORKERS) -> None:
        self.ws = ws
        self.tick_s = max(0.01, ws.settings.scheduler_tick_s if tick_s is None else tick_s)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ballast-schedule")
        # The due-board lookup has a thread of its own, so busy refresh workers never delay it.
        self._lookup = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ballast-schedule-lookup")
        self._running: dict[str, asyncio.Future[bool]] = {}
        self._retry_at: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = threading.Event()
        self.refreshed = 0
        """Refreshes that completed (their runs may still have failed, as a refresh does)."""
        self.failed = 0
        """Refreshes that raised; logged, retried after one interval."""
        self.skipped = 0
        """Times a due board was left alone because its previous refresh was still running."""

    @property
    def running(self) -> frozenset[str]:
        """Ids of the boards refreshing right now."""
        return frozenset(self._running)

    def start(self) -> None:
        """Begin ticking on the running loop; the first look is immediate."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="ballast-scheduler")

    async def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop ticking; cancel the queries of running refreshes and wait (bounded) for them to end."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        deadline = time.monotonic() + timeout
        while self._running and time.monotonic() < deadline:
            for board_id in list(self._running):
                self.ws.executor.cancel(board_id)
            await asyncio.wait(list(self._running.values()), timeout=_CANCEL_EVERY_S)
        if self._running:
            log.warning("scheduled refreshes still running at stop: %s", ", ".join(sorted(self._running)))
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._lookup.shutdown(wait=False, cancel_futures=True)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                due = await loop.run_in_executor(self._lookup, due_boards, self.ws)
                self._launch(loop, due)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the scheduler could not look for due dashboards")
            await asyncio.sleep(self.tick_s)

    def _launch(self, loop: asyncio.AbstractEventLoop, due: list[DueBoard]) -> None:
        now = time.monotonic()
        for board in due:
            if board.id in self._running:
                self.skipped += 1
                continue
            if self._retry_at.get(board.id, 0.0) > now:
                continue
            future = loop.run_in_executor(self._pool, self._refresh, board)
            self._running[board.id] = future
            future.add_done_callback(partial(self._finished, board))

    def _finished(self, board: DueBoard, future: asyncio.Future[bool]) -> None:
        self._running.pop(board.id, None)
        ok = not future.cancelled() and future.exception() is None and future.result()
        if ok:
            self.refreshed += 1
            self._retry_at.pop(board.id, None)
        elif not self._stopping.is_set():
            self.failed += 1
            # Not again at every tick: a board that cannot refresh waits one interval (at least a tick).
            self._retry_at[board.id] = time.monotonic() + max(board.interval_s, self.tick_s)

    def _refresh(self, board: DueBoard) -> bool:
        """Refresh one board as its owner (on a worker thread); failures are logged, never raised."""
        if self._stopping.is_set():
            return False
        try:
            owner = self.ws.users.get(board.owner_id)
            ctx = Context(self.ws, owner, client="scheduler")
            result = refresh_board(ctx, board.id, TRIGGER)
        except ToolError as error:
            log.warning("scheduled refresh of %s refused: %s: %s", board.id, error.code, error.message)
            return False
        except Exception:
            log.exception("scheduled refresh of %s failed", board.id)
            return False
        cascade = result.get("cascade", {})
        log.info(
            "scheduled refresh of %s: %d ran, %d reused, %d failed",
            board.id,
            len(cascade.get("ran", [])),
            len(cascade.get("reused", [])),
            len(cascade.get("failed", [])),
            extra={"board_id": board.id, "trigger": TRIGGER},
        )
        return True


SCHEDULER = web.AppKey("scheduler", Scheduler)
"""The app's refresh scheduler (started and stopped with the app)."""


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """`cleanup_ctx` entry: the scheduler runs while the app does."""
    scheduler = Scheduler(app[WORKSPACE])
    app[SCHEDULER] = scheduler
    scheduler.start()
    try:
        yield
    finally:
        await scheduler.stop()
