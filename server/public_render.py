"""Drawings of published dashboards: made by a worker process, kept on disk, warmed on change.

The server does not draw: `python -m ballast_tui.published.worker` does, with
the TUI's own widgets, one drawing at a time, beside the server (so the
server never imports the TUI, and a drawing that hangs is killed, not waited
for). `Drawings` talks to it:

- `get(board_id, slug, key, overrides)` answers the drawings named by the page's
  drawing key (the wide one, the phone's narrow one, the preview PNG): from
  `published/<board_id>/<key>.*` when they are there, else it asks the worker
  (once per key however many requests wait for it).
- `warm(board_id)` draws a published board's default page in the background,
  a moment after it changes: on publish, on every refresh or run, so link
  previews (its PNG) are ready before anyone asks. A board is warmed once its
  slug is known to this server: from its publish event, or from a request.
- `forget(board_id)` removes a board's drawings (unpublished or deleted).

Each board keeps its newest `KEEP` drawings.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from ballast_server.keys import REGISTRY, WORKSPACE
from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import NotFound, ToolError
from ballast_tui.engine.events import (
    BlockChanged,
    BoardChanged,
    BoardDeleted,
    ControlChanged,
    Event,
    LayoutChanged,
    RunFinished,
)
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Registry

log = logging.getLogger("ballast.server.public")

DRAW_TIMEOUT_S = 90.0
WARM_DELAY_S = 1.0
KEEP = 16
SUFFIXES = (".svg", ".narrow.svg", ".png", ".json")
"""The files of one drawing key: ``<key>.json`` (written last) says they are all there."""

# Events after which a published board's default drawing is made again.
_WARMING_EVENTS = (RunFinished, LayoutChanged, BlockChanged, ControlChanged, BoardChanged)


class DrawingFailed(RuntimeError):
    """The worker could not draw the board."""


@dataclass(frozen=True)
class Drawing:
    """A board drawn for one drawing key: the files and what the worker said the board shows."""

    svg: Path
    narrow: Path
    """The phone's drawing: one block per row, fewer columns."""
    png: Path
    title: str
    description: str


def _read(folder: Path, key: str) -> Drawing | None:
    svg, narrow, png, meta = (folder / f"{key}{suffix}" for suffix in SUFFIXES)
    try:
        described = json.loads(meta.read_text())
    except (FileNotFoundError, ValueError):
        return None
    if not svg.exists() or not narrow.exists() or not png.exists():
        return None
    return Drawing(svg, narrow, png, str(described.get("title", "")), str(described.get("description", "")))


async def _relay(stream: asyncio.StreamReader) -> None:
    """Log each line the drawing process writes to stderr."""
    while line := await stream.readline():
        log.warning("drawing process: %s", line.decode(errors="replace").rstrip())


class Worker:
    """The drawing process: started on first use, restarted after a crash or a timeout."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._process: asyncio.subprocess.Process | None = None
        self._stderr: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._next_id = 0

    async def _start(self) -> asyncio.subprocess.Process:
        settings = dataclasses.asdict(self.ws.settings)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ballast_tui.published.worker",
            "--workspace",
            str(self.ws.paths.root),
            "--settings",
            json.dumps(settings),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        # Its complaints go to our log, never to the terminal (a TUI may be drawing there).
        assert process.stderr is not None
        self._stderr = asyncio.get_running_loop().create_task(_relay(process.stderr))
        return process

    async def draw(self, slug: str, key: str, overrides: dict[str, Any], out_dir: Path) -> None:
        """Have the worker draw one page into `out_dir`; `DrawingFailed` if it cannot."""
        async with self._lock:
            if self._process is None or self._process.returncode is not None:
                self._process = await self._start()
            process = self._process
            assert process.stdin is not None and process.stdout is not None
            self._next_id += 1
            request = {
                "id": self._next_id,
                "slug": slug,
                "key": key,
                "overrides": overrides,
                "out_dir": str(out_dir),
            }
            try:
                process.stdin.write((json.dumps(request) + "\n").encode())
                await process.stdin.drain()
                line = await asyncio.wait_for(process.stdout.readline(), DRAW_TIMEOUT_S)
            except (TimeoutError, ConnectionError, BrokenPipeError) as error:
                await self._kill()
                raise DrawingFailed(f"the drawing process did not answer ({type(error).__name__})") from None
            if not line:
                await self._kill()
                raise DrawingFailed("the drawing process stopped")
            answer = json.loads(line)
            if not answer.get("ok"):
                raise DrawingFailed(f"the drawing failed ({answer.get('error')})")

    async def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.kill()
        await process.wait()

    async def close(self) -> None:
        """Stop the process: close its input, give it a moment, then kill it."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            if process.stdin is not None:
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._stderr is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._stderr, 1)


class Drawings:
    """The drawings of published boards, on disk under the workspace's `published/`."""

    def __init__(self, ws: Workspace, registry: Registry) -> None:
        self.ws = ws
        self.registry = registry
        self.worker = Worker(ws)
        self.choices_worker = Worker(ws)
        """A second drawing process for pages with viewers' choices: however many of those are asked
        for, the stored-values page (and its preview) never waits behind them."""
        self.slugs: dict[str, str] = {}
        """The slug of each published board this server has seen (board id -> slug)."""
        self._pending: dict[str, asyncio.Future[Drawing]] = {}
        self._warming: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def folder(self, board_id: str) -> Path:
        return self.ws.paths.published / board_id

    def learn(self, board_id: str, slug: str) -> None:
        """Remember a published board's slug, so its drawings can be warmed when it changes."""
        self.slugs[board_id] = slug

    async def get(self, board_id: str, slug: str, key: str, overrides: dict[str, Any]) -> Drawing:
        """The drawing for `key`, drawn now if it is not on disk yet."""
        folder = self.folder(board_id)
        found = await asyncio.to_thread(_read, folder, key)
        if found is not None:
            return found
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Drawing] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            worker = self.choices_worker if overrides else self.worker
            await worker.draw(slug, key, overrides, folder)
            drawing = await asyncio.to_thread(_read, folder, key)
            if drawing is None:
                raise DrawingFailed("the drawing process wrote no drawing")
            future.set_result(drawing)
            await asyncio.to_thread(self._prune, folder)
            return drawing
        except BaseException as error:
            future.set_exception(error if isinstance(error, Exception) else DrawingFailed("cancelled"))
            future.exception()  # retrieved: waiters re-raise it, nobody else needs to
            raise
        finally:
            del self._pending[key]

    def _prune(self, folder: Path) -> None:
        """Keep the newest `KEEP` drawings of a board."""
        drawn = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in drawn[KEEP:]:
            for suffix in SUFFIXES:
                (folder / f"{old.stem}{suffix}").unlink(missing_ok=True)

    def forget(self, board_id: str) -> None:
        """Remove every drawing of a board."""
        handle = self._warming.pop(board_id, None)
        if handle is not None:
            handle.cancel()
        shutil.rmtree(self.folder(board_id), ignore_errors=True)

    # -- warming --------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """React to a board's event (called on the loop): forget or warm its drawings."""
        board_id = event.dashboard_id
        unpublished = isinstance(event, BoardChanged) and event.visibility == "private"
        if isinstance(event, BoardDeleted) or unpublished:
            self.slugs.pop(board_id, None)
            self.forget(board_id)
            return
        if isinstance(event, BoardChanged) and event.slug:
            self.learn(board_id, event.slug)
        if isinstance(event, _WARMING_EVENTS):
            self.warm(board_id)

    def warm(self, board_id: str, delay: float = WARM_DELAY_S) -> None:
        """Draw the board's default page in a moment (again, if more changes come first)."""
        if board_id not in self.slugs:
            return
        loop = asyncio.get_running_loop()
        handle = self._warming.pop(board_id, None)
        if handle is not None:
            handle.cancel()
        self._warming[board_id] = loop.call_later(delay, self._start_warming, board_id)

    def _start_warming(self, board_id: str) -> None:
        self._warming.pop(board_id, None)
        task = asyncio.get_running_loop().create_task(self._warm_now(board_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _warm_now(self, board_id: str) -> None:
        slug = self.slugs.get(board_id)
        if slug is None:
            return
        ctx = Context.anonymous(self.ws, client="drawing")
        ctx.system = True
        try:
            state = await self.registry.acall(ctx, "public_page", {"slug": slug})
            await self.get(board_id, slug, state["drawing_key"], {})
        except NotFound:
            self.slugs.pop(board_id, None)  # unpublished (or published again under a new slug)
        except (ToolError, DrawingFailed) as error:
            log.warning("could not draw the preview of %s: %s", board_id, error)

    async def close(self) -> None:
        for handle in self._warming.values():
            handle.cancel()
        self._warming.clear()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.worker.close()
        await self.choices_worker.close()


DRAWINGS = web.AppKey("drawings", Drawings)


async def drawings_ctx(app: web.Application) -> AsyncIterator[None]:
    """Start and stop the drawings with the app; follow every board's events to keep them warm."""
    ws = app[WORKSPACE]
    drawings = Drawings(ws, app[REGISTRY])
    app[DRAWINGS] = drawings
    loop = asyncio.get_running_loop()

    def deliver(event: Event) -> None:
        if isinstance(event, (*_WARMING_EVENTS, BoardDeleted)):
            loop.call_soon_threadsafe(drawings.on_event, event)

    unsubscribe = ws.bus.subscribe(None, deliver)
    try:
        yield
    finally:
        unsubscribe()
        await drawings.close()
