"""A dashboard drawn as the terminal draws it, as an SVG, without a terminal.

The real app runs headless at a fixed size on the dashboard, waits until every
cell has loaded (no finite worker left, no block running), and takes Textual's
own screenshot of the screen. `ballast export ID --format svg` uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import App
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

if TYPE_CHECKING:
    from ballast_tui.backend import Backend

DEFAULT_SIZE = (120, 40)
# Workers that live as long as their screen (the board's event follower) never finish.
ENDLESS_GROUPS = frozenset({"events"})


def parse_size(text: str) -> tuple[int, int]:
    """'120x40' as (columns, rows); ValueError for anything else."""
    cols, sep, rows = text.lower().partition("x")
    if not sep or not cols.strip().isdigit() or not rows.strip().isdigit():
        raise ValueError(f"size must be COLSxROWS, like 120x40, not {text!r}")
    size = int(cols), int(rows)
    if not (20 <= size[0] <= 1000 and 10 <= size[1] <= 1000):
        raise ValueError("size must be between 20x10 and 1000x1000")
    return size


def _board_built(app: App[None]) -> bool:
    """The dashboard screen has built its grid: it follows the board's events only after that."""
    from ballast_tui.screens.dashboard import DashboardScreen

    screen = app.screen
    if not isinstance(screen, DashboardScreen):
        if not any(isinstance(s, DashboardScreen) for s in app.screen_stack):
            raise RuntimeError("the dashboard could not be opened")
        return False
    return any(w.node is screen and w.group in ENDLESS_GROUPS for w in app.workers)


async def wait_until_drawn(
    pilot: Pilot[None], timeout: float = 120.0, built: Callable[[App[None]], bool] | None = None
) -> None:
    """Wait until every cell has its data: the grid built (`built`, by default the dashboard
    screen's), no finite worker left and no block running, twice in a row."""
    from ballast_tui.widgets.block_cell import BlockCell

    app = pilot.app
    built = built or _board_built
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the dashboard did not finish drawing within {timeout:.0f} s")
        await pilot.pause()
        finite = [w for w in app.workers if w.group not in ENDLESS_GROUPS and not w.is_finished]
        running = any(cell.running for cell in app.screen.query(BlockCell))
        if not built(app):
            await asyncio.sleep(0.02)
            quiet = 0
        elif finite:
            # A cell's newer load cancels its older one (exclusive workers): that one is done too.
            with contextlib.suppress(WorkerCancelled):
                await asyncio.wait_for(
                    app.workers.wait_for_complete(finite), max(0.1, deadline - time.monotonic())
                )
            quiet = 0
        elif running:
            await asyncio.sleep(0.05)
            quiet = 0
        else:
            quiet += 1
    await pilot.pause()


async def render_dashboard_svg(
    backend: Backend, dashboard_id: str, size: tuple[int, int] = DEFAULT_SIZE, timeout: float = 120.0
) -> str:
    """The dashboard as the app draws it at `size`, as an SVG document."""
    from ballast_tui.app import BallastApp
    from ballast_tui.screens.dashboard import DashboardScreen

    app = BallastApp(backend, dashboard_id)
    async with app.run_test(size=size, headless=True, notifications=False) as pilot:
        await wait_until_drawn(pilot, timeout)
        screen = app.screen
        if not isinstance(screen, DashboardScreen) or screen.dashboard_id != dashboard_id:
            raise RuntimeError(f"the dashboard {dashboard_id} could not be opened")
        return app.export_screenshot(title=str(screen.dashboard.get("title") or dashboard_id))


def render_svg(backend: Backend, dashboard_id: str, size: tuple[int, int] = DEFAULT_SIZE) -> str:
    """`render_dashboard_svg` for synchronous callers (the command line)."""
    return asyncio.run(render_dashboard_svg(backend, dashboard_id, size))
