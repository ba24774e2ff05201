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


def test_markup_looking_titles_are_shown_as_written(
    demo_ws: tuple[Workspace, str], snapshot: SnapshotAssertion
) -> None:
    """A title that looks like Rich markup is drawn as typed: no bold, no crash, brackets kept."""
    ws, _ = demo_ws
    owner = Context(ws, ws.users.local())
    load_registry().call(owner, "dashboard_create", {"title": "Q3 [b]plan[/b] [/i] [red]"})
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


def test_a_failed_block_and_an_empty_chart_80x24(
    regions_ws: tuple[Workspace, str], snapshot: SnapshotAssertion
) -> None:
    """A block whose query fails shows its error above its view; a chart whose source has no rows
    says so (both lines are made only when first needed)."""
    ws, board_id = regions_ws
    registry, ctx = load_registry(), Context(ws, ws.users.local())

    def add(name: str, block_type: str, config: dict[str, Any]) -> str:
        answer = registry.call(
            ctx,
            "dashboard_add_block",
            {"dashboard_id": board_id, "type": block_type, "name": name, "config": config},
        )
        return str(answer["block"]["id"])

    failing = add("failing", "sql", {"sql": "SELECT error('the warehouse said no') AS x"})
    add("nothing", "sql", {"sql": "SELECT * FROM sales WHERE false"})
    empty = add("empty", "chart", {"source": "nothing", "kind": "line", "x": "day", "y": "revenue"})
    for block_id in (failing, empty):
        registry.call(
            ctx,
            "dashboard_set_displayed",
            {"dashboard_id": board_id, "block_id": block_id, "displayed": True},
        )
    registry.call(
        ctx,
        "dashboard_set_layout",
        {"dashboard_id": board_id, "rows": [{"blocks": [failing, empty], "height": 300}]},
    )
    assert matches(snapshot, screenshot(make_app(ws, board_id), (80, 24), _settled))
