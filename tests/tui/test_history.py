"""A block's run history (h): runs newest first, one run's rows, two runs compared."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from ballast_tui.engine.workspace import Workspace
from ballast_tui.screens.compare import CompareScreen
from ballast_tui.screens.dashboard import DashboardScreen
from ballast_tui.screens.graph import GraphScreen
from ballast_tui.screens.history import HistoryScreen
from ballast_tui.screens.run_view import RunScreen
from ballast_tui.tools.registry import Context, load_registry
from tests.tui.conftest import make_app, settle


def call(ws: Workspace, tool: str, **arguments: Any) -> dict[str, Any]:
    return dict(load_registry().call(Context(ws, ws.users.local()), tool, arguments))


async def wait_until(pilot: Pilot[None], done: Callable[[], bool], rounds: int = 100) -> None:
    for _ in range(rounds):
        await settle(pilot, rounds=1)
        if done():
            return
    raise AssertionError("the app did not get there")


async def pick_next_option(pilot: Pilot[None], block_id: str) -> None:
    """Open the control's drop-down with a click and take the option below the current one."""
    await pilot.click(f"#cell-{block_id} Select")
    await settle(pilot)
    await pilot.press("down", "enter")
    await settle(pilot)


async def history_of(pilot: Pilot[None], name: str) -> HistoryScreen:
    """From the dashboard: the block list (g), the block's row, its history (h)."""
    await pilot.press("g")
    await settle(pilot)
    graph = pilot.app.screen
    assert isinstance(graph, GraphScreen)
    for _ in range(len(graph.blocks)):
        if (graph.selected_block() or {}).get("name") == name:
            break
        await pilot.press("down")
    await pilot.press("h")
    await settle(pilot)
    history = pilot.app.screen
    assert isinstance(history, HistoryScreen) and history.block["name"] == name
    return history


async def changed_region_twice(pilot: Pilot[None], ws: Workspace, board_id: str) -> dict[str, Any]:
    """Pick North, then West, in the dashboard's region control; the filtered block."""
    blocks = {b["name"]: b for b in call(ws, "dashboard_get", dashboard_id=board_id)["dashboard"]["blocks"]}
    region = blocks["region"]["id"]
    await settle(pilot)
    assert isinstance(pilot.app.screen, DashboardScreen)
    for expected in ("North", "West"):
        await pick_next_option(pilot, region)
        await wait_until(
            pilot,
            lambda expected=expected: (
                call(ws, "dashboard_runs", dashboard_id=board_id, block_id=blocks["filtered"]["id"])["runs"][
                    0
                ]["inputs"]["bound"].get("region")
                == expected
            ),
        )
    return dict(blocks["filtered"])


async def test_history_lists_runs_newest_first_after_control_changes(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        filtered = await changed_region_twice(pilot, ws, board_id)
        history = await history_of(pilot, "filtered")
        table = history.query_one("#runs", DataTable)
        stored = call(ws, "dashboard_runs", dashboard_id=board_id, block_id=filtered["id"])["runs"]
        assert table.row_count == len(stored) == 3
        keys = [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]
        assert keys == [r["id"] for r in stored]
        started = [r["started_at"] for r in stored]
        assert started == sorted(started, reverse=True)
        triggers = [str(table.get_row_at(i)[4]) for i in range(table.row_count)]
        assert triggers == ["control", "control", "edit"]
        assert [r["inputs"]["bound"]["region"] for r in stored] == ["West", "North", "All"]
        inputs = history.query_one("#run-inputs", Static).content
        assert isinstance(inputs, Text) and "$region = 'West'" in inputs.plain


async def test_marking_two_runs_and_c_compares_them(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        filtered = await changed_region_twice(pilot, ws, board_id)
        history = await history_of(pilot, "filtered")
        runs = call(ws, "dashboard_runs", dashboard_id=board_id, block_id=filtered["id"])["runs"]
        west, north = runs[0], runs[1]
        await pilot.press("space", "down", "space")
        assert history.marked == [west["id"], north["id"]]
        table = history.query_one("#runs", DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(3)] == ["R", "L", ""]  # older on the left
        await pilot.press("down", "space")  # a third mark is refused
        assert len(history.marked) == 2
        await pilot.press("c")
        await settle(pilot)
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        assert (compare.left_run["id"], compare.right_run["id"]) == (north["id"], west["id"])
        counts = compare.comparison["row_counts"]
        left_rows, right_rows = north["output"]["row_count"], west["output"]["row_count"]
        assert counts == {"left": left_rows, "right": right_rows, "delta": right_rows - left_rows}
        summary = compare.query_one("#compare-summary", Static).content
        assert isinstance(summary, Text)
        assert f"{left_rows:,} → {right_rows:,}  ({right_rows - left_rows:+,})" in summary.plain
        # Different regions: no order is in both, so every row is on one side only.
        assert compare.query_one("#only-left", DataTable).row_count > 0
        assert compare.query_one("#only-right", DataTable).row_count > 0
        assert compare.query_one("#only-left", DataTable).border_title.startswith(f"only left: {left_rows:,}")
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is history


async def test_compare_shows_changed_values_by_key(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await changed_region_twice(pilot, ws, board_id)
        history = await history_of(pilot, "by_product")
        await pilot.press("c")  # the selected (newest) run with the one before it
        await settle(pilot)
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        changed = compare.query_one("#changed", DataTable)
        assert changed.display and changed.row_count > 0
        first = changed.get_row_at(0)
        assert str(first[1]) == "revenue"
        assert compare.comparison["changed"]["key"] == ["product"]
        product = compare.comparison["changed"]["rows"][0]
        assert str(first[0]) == product["key"]["product"]
        assert history.runs[0]["id"] == compare.right_run["id"]


async def test_opening_an_old_run_shows_its_rows(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        filtered = await changed_region_twice(pilot, ws, board_id)
        history = await history_of(pilot, "filtered")
        oldest = history.runs[-1]
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen) and screen.run["id"] == oldest["id"]
        rows = screen.query_one("#run-rows", DataTable)
        old = call(
            ws,
            "dashboard_block_data",
            dashboard_id=board_id,
            block_id=filtered["id"],
            run_id=oldest["id"],
            limit=1000,
        )
        assert rows.row_count == min(1000, old["row_count"]) > 0
        regions = {str(rows.get_row_at(i)[2]) for i in range(rows.row_count)}
        assert len(regions) > 1  # the "All" run, not the current "West" one
        assert [str(c.label) for c in rows.columns.values()][:3] == ["order_id", "day", "region"]
