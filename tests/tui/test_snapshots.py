"""What a person sees, kept from regressing: SVG snapshots of the real app on the demo workspace."""

from __future__ import annotations

from typing import Any

from syrupy import SnapshotAssertion
from textual.pilot import Pilot

from ballast_tui.engine.workspace import Workspace
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


def test_version_diff_120x40(demo_ws: tuple[Workspace, str], snapshot: SnapshotAssertion) -> None:
    """Two versions side by side: a chart retitled, the old title left, the new right."""
    from tests.tui.test_versions_screen import retitle

    ws, board_id = demo_ws
    retitle(ws, board_id, "daily_revenue", "Daily takings")

    async def open_diff(pilot: Pilot[Any]) -> None:
        await _settled(pilot)
        await pilot.press("v")
        await _settled(pilot)
        await pilot.press("down", "d")
        await _settled(pilot)

    assert matches(snapshot, screenshot(make_app(ws, board_id), (120, 40), open_diff))


def test_own_view_80x24(demo_ws: tuple[Workspace, str], snapshot: SnapshotAssertion) -> None:
    """An editor's own view: the reversed "your view" line, the blocks it reaches marked on their border."""
    from textual.widgets import Select

    from ballast_tui.widgets.block_cell import BlockCell

    ws, board_id = demo_ws

    async def own_view(pilot: Pilot[Any]) -> None:
        await _settled(pilot)
        await pilot.press("o")
        region = next(c for c in pilot.app.screen.query(BlockCell) if c.block["name"] == "region")
        region.query_one(Select).focus()
        await pilot.press("enter", "down", "enter")
        await _settled(pilot)
        pilot.app.clear_notifications()
        await _settled(pilot)

    assert matches(snapshot, screenshot(make_app(ws, board_id), (80, 24), own_view))
