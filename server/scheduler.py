"""Scheduled refreshes: dashboards with auto-refresh on re-run on their interval, inside the server.

Every tick the scheduler reads which boards are due (auto-refresh on, and never
refreshed or refreshed at least one interval ago: `engine.schedule.due_boards`),
and refreshes each as its owner, through the `dashboard_refresh` tool (so its
runs' trigger is `schedule`), on a thread of its own pool, never on the event
loop. A board whose
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
from functools import partial

from aiohttp import web

from ballast_server.keys import REGISTRY, WORKSPACE
from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import ToolError
from ballast_tui.engine.schedule import DueBoard, due_boards
from ballast_tui.engine.sessions import SCHEDULER_CLIENT
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Registry, load_registry

log = logging.getLogger("ballast.server.scheduler")

TRIGGER = "schedule"
WORKERS = 2
"""Boards refreshed at the same time; more due boards wait their turn (each still runs once)."""
STOP_TIMEOUT_S = 10.0
_CANCEL_EVERY_S = 0.1


class Scheduler:
    """The refresh loop of one workspace; `start` and `stop` it with the server."""

    def __init__(
        self,
        ws: Workspace,
        *,
        registry: Registry | None = None,
        tick_s: float | None = None,
        workers: int = WORKERS,
    ) -> None:
        self.ws = ws
        self.registry = registry or load_registry()
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
                self.ws.connections.cancel(board_id)
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
            ctx = Context(self.ws, owner, client=SCHEDULER_CLIENT)
            result = self.registry.call(ctx, "dashboard_refresh", {"dashboard_id": board.id})
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
    scheduler = Scheduler(app[WORKSPACE], registry=app[REGISTRY])
    app[SCHEDULER] = scheduler
    scheduler.start()
    try:
        yield
    finally:
        await scheduler.stop()
