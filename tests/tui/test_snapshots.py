"""What a person sees, kept from regressing: SVG snapshots of the real app on the demo workspace."""

from __future__ import annotations

from typing import Any

from syrupy import SnapshotAssertion
from textual.pilot import Pilot

from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Context, load_registry
from tests.tui.conftest import make_app, settle
from tests.tui.snapshots import matches, screenshot


async def _settled(pilot: Pilot[Any]) -> None:
    await settle(pilot, rounds=5)


def test_dashboards_list(demo_ws: tuple[Workspace, str], snapshot: SnapshotAssertion) -> None:
    ws, _ = demo_ws
    assert matches(snapshot, screenshot(make_app(ws), (100, 24), _settled))


def test_demo_dashboard_120x40(demo_ws: tuple[Workspace, str], snapshot: SnapshotAssertion) -> None:
    ws, board_id = demo_ws
    assert matches(snapshot, screenshot(make_app(ws, board_id), (120, 40), _settled))


def test_demo_dashboard_80x24(demo_ws: tuple[Workspace, str], snapshot: SnapshotAssertion) -> None:
    ws, board_id = demo_ws
    assert matches(snapshot, screenshot(make_app(ws, board_id), (80, 24), _settled))


def _show_alone(ws: Workspace, board_id: str, name: str, height: int) -> None:
    """Show only the block `name`, `height` px tall (20 px a text row)."""
    registry, ctx = load_registry(), Context(ws, ws.users.local())
    blocks = registry.call(ctx, "dashboard_get", {"dashboard_id": board_id})["dashboard"]["blocks"]
    block_id = next(b["id"] for b in blocks if b["name"] == name)
    registry.call(
        ctx, "dashboard_set_displayed", {"dashboard_id": board_id, "block_id": block_id, "displayed": True}
    )
    registry.call(
        ctx,
        "dashboard_set_layout",
        {"dashboard_id": board_id, "rows": [{"blocks": [block_id], "height": height}]},
    )


def test_series_line_chart_80x24(regions_ws: tuple[Workspace, str], snapshot: SnapshotAssertion) -> None:
    ws, board_id = regions_ws
    _show_alone(ws, board_id, "trend", 400)
    assert matches(snapshot, screenshot(make_app(ws, board_id), (80, 24), _settled))


def test_series_line_chart_120x40(regions_ws: tuple[Workspace, str], snapshot: SnapshotAssertion) -> None:
    ws, board_id = regions_ws
    _show_alone(ws, board_id, "trend", 720)
    assert matches(snapshot, screenshot(make_app(ws, board_id), (120, 40), _settled))


def test_stacked_bar_chart_80x24(regions_ws: tuple[Workspace, str], snapshot: SnapshotAssertion) -> None:
    ws, board_id = regions_ws
    _show_alone(ws, board_id, "stacked", 400)
    assert matches(snapshot, screenshot(make_app(ws, board_id), (80, 24), _settled))


def test_stacked_bar_chart_120x40(regions_ws: tuple[Workspace, str], snapshot: SnapshotAssertion) -> None:
    ws, board_id = regions_ws
    _show_alone(ws, board_id, "stacked", 720)
    assert matches(snapshot, screenshot(make_app(ws, board_id), (120, 40), _settled))
