"""Fixtures for driving the real app with Textual's Pilot on real workspaces."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from textual.pilot import Pilot

from ballast_tui.app import BallastApp
from ballast_tui.backend import LocalBackend
from ballast_tui.demo import build_demo
from ballast_tui.engine.workspace import Workspace

FIXED_TODAY = date(2026, 11, 23)


@pytest.fixture
def demo_ws(tmp_path: Path) -> Iterator[tuple[Workspace, str]]:
    """A workspace with a small demo dashboard (5,000 rows, fixed 'today'); its id."""
    ws = Workspace(tmp_path / "ws", today=lambda: FIXED_TODAY)
    board_id = build_demo(ws, rows=5_000)
    yield ws, board_id
    ws.close()


def make_app(ws: Workspace, dashboard_id: str | None = None) -> BallastApp:
    """The real app on the workspace, as its local user."""
    return BallastApp(LocalBackend(ws, ws.users.local()), dashboard_id)


async def settle(pilot: Pilot[None], rounds: int = 3) -> None:
    """Wait until every finite worker finished and the screen repainted.

    The dashboard's event follower (group "events") runs for as long as the
    screen lives, so it is not waited for.
    """
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        finite = [w for w in app.workers if w.group != "events" and not w.is_finished]
        if finite:
            await app.workers.wait_for_complete(finite)
    await pilot.pause()
