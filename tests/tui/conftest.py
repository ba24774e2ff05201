"""Fixtures for driving the real app with Textual's Pilot on real workspaces."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from ballast_tui.app import BallastApp
from ballast_tui.backend import LocalBackend
from ballast_tui.demo import build_demo
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Context, load_registry

FIXED_TODAY = date(2026, 11, 23)


@pytest.fixture
def demo_ws(tmp_path: Path) -> Iterator[tuple[Workspace, str]]:
    """A workspace with a small demo dashboard (5,000 rows, fixed 'today'); its id."""
    ws = Workspace(tmp_path / "ws", today=lambda: FIXED_TODAY)
    board_id = build_demo(ws, rows=5_000)
    yield ws, board_id
    ws.close()


REGIONS = ("North", "South", "East", "West")


def regional_sales() -> list[dict[str, Any]]:
    """Six weeks of daily revenue per region in long format (day, region, revenue), always the same."""
    start = date(2026, 10, 1)
    return [
        {
            "day": (start + timedelta(days=d)).isoformat(),
            "region": region,
            "revenue": round(1000 * (4 - i) + 600 * math.sin(d / 5 + i) + 40 * d, 2),
        }
        for d in range(42)
        for i, region in enumerate(REGIONS)
    ]


@pytest.fixture
def regions_ws(tmp_path: Path) -> Iterator[tuple[Workspace, str]]:
    """A workspace whose "Regions" dashboard has long-format `sales` (day, region, revenue), a
    hidden `weekly` SQL block, and two hidden charts of one series per region: `trend` (line) and
    `stacked` (stacked bars of `weekly`); its id."""
    ws = Workspace(tmp_path / "ws", today=lambda: FIXED_TODAY)
    registry, ctx = load_registry(), Context(ws, ws.users.local())

    def call(tool: str, **arguments: Any) -> Any:
        return registry.call(ctx, tool, arguments)

    board_id = str(call("dashboard_create", title="Regions")["dashboard"]["id"])
    call("catalog_push", dashboard_id=board_id, name="sales", rows=regional_sales())
    weekly = (
        "SELECT date_trunc('week', day::DATE) AS week, region, sum(revenue) AS revenue "
        "FROM sales GROUP BY ALL"
    )
    blocks: list[tuple[str, str, dict[str, Any]]] = [
        ("weekly", "sql", {"sql": weekly}),
        (
            "trend",
            "chart",
            {"source": "sales", "kind": "line", "x": "day", "y": "revenue", "series": "region"}
            | {"title": "Revenue by region"},
        ),
        (
            "stacked",
            "chart",
            {"source": "weekly", "kind": "bar", "x": "week", "y": "revenue", "series": "region"}
            | {"stacked": True, "title": "Weekly revenue, stacked"},
        ),
    ]
    for name, block_type, config in blocks:
        call("dashboard_add_block", dashboard_id=board_id, type=block_type, name=name, config=config)
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
