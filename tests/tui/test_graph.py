"""The block list (g): every block with what it reads and what reads it; show, hide, edit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Group
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from ballast_tui.engine.workspace import Workspace
from ballast_tui.screens.dashboard import DashboardScreen
from ballast_tui.screens.graph import GraphScreen, tree_order
from ballast_tui.tools.registry import Context, load_registry
from ballast_tui.widgets.grid import Grid
from tests.tui.conftest import make_app, settle


def stored_board(ws: Workspace, board_id: str) -> dict[str, Any]:
    answer = load_registry().call(Context(ws, ws.users.local()), "dashboard_get", {"dashboard_id": board_id})
    return dict(answer["dashboard"])


async def wait_until(pilot: Pilot[None], done: Callable[[], bool], rounds: int = 100) -> None:
    for _ in range(rounds):
        await settle(pilot, rounds=1)
        if done():
            return
    raise AssertionError("the app did not get there")


async def open_graph(pilot: Pilot[None]) -> GraphScreen:
    await settle(pilot)
    await pilot.press("g")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, GraphScreen)
    return screen


async def select(pilot: Pilot[None], screen: GraphScreen, name: str) -> None:
    """Move the cursor to the block called `name`, with the arrow keys."""
    for _ in range(len(screen.blocks) + 1):
        block = screen.selected_block()
        if block is not None and block["name"] == name:
            return
        await pilot.press("down")
    raise AssertionError(f"no row for {name}")


async def test_graph_lists_every_block_under_what_it_reads(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_graph(pilot)
        table = screen.query_one("#blocks", DataTable)
        stored = stored_board(ws, board_id)["blocks"]
        assert table.row_count == len(stored)  # displayed and internal alike
        rows = {
            str(table.get_row_at(i)[0]).strip(" │├└"): table.get_row_at(i) for i in range(table.row_count)
        }
        filtered = rows["filtered"]
        assert [str(c) for c in filtered[1:4]] == ["sql", "hidden", "success"]
        assert str(filtered[4]) == "period, region, sales"
        assert str(rows["daily"][5]) == "daily_revenue, channel_mix"
        order = [str(table.get_row_at(i)[0]).strip(" │├└") for i in range(table.row_count)]
        # Everything a block reads comes before it.
        by_name = {b["name"]: b for b in stored}
        names_by_id = {b["id"]: b["name"] for b in stored}
        for name, block in by_name.items():
            for upstream in block["upstream"]:
                if upstream in names_by_id:
                    assert order.index(names_by_id[upstream]) < order.index(name)
        await select(pilot, screen, "daily")
        shown = screen.query_one("#detail", Static).content
        assert isinstance(shown, Group)
        text = next(str(part) for part in shown.renderables if str(part).startswith("flow"))
        assert "period, region, sales → filtered → daily → daily_revenue, channel_mix" in text


def test_tree_order_puts_each_block_under_its_deepest_reader_once() -> None:
    blocks = [
        {"id": "a", "upstream": []},
        {"id": "b", "upstream": ["a", "src"]},
        {"id": "c", "upstream": ["a", "b"]},
        {"id": "d", "upstream": []},
    ]
    ordered = [(b["id"], prefix, depth) for b, prefix, depth in tree_order(blocks)]
    assert ordered == [("a", "", 0), ("b", "└ ", 1), ("c", "  └ ", 2), ("d", "", 0)]


async def test_space_hides_a_displayed_block(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        screen = await open_graph(pilot)
        await select(pilot, screen, "orders")
        orders = screen.selected_block()
        assert orders is not None and orders["displayed"]
        await pilot.press("space")
        await settle(pilot)
        stored = stored_board(ws, board_id)
        assert orders["id"] not in [b for row in stored["layout"]["rows"] for b in row["blocks"]]
        assert not next(b for b in stored["blocks"] if b["id"] == orders["id"])["displayed"]
        assert screen.by_id[orders["id"]]["displayed"] is False  # the list re-fetched
        assert str(screen.query_one("#blocks", DataTable).get_row(orders["id"])[2]) == "hidden"
        await pilot.press("escape")
        await wait_until(pilot, lambda: dashboard.query_one(Grid).cell(orders["id"]) is None)
        assert app.screen is dashboard


async def test_space_shows_a_hidden_block_at_the_bottom(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        screen = await open_graph(pilot)
        await select(pilot, screen, "kpis")
        kpis = screen.selected_block()
        assert kpis is not None and not kpis["displayed"]
        await pilot.press("space")
        await settle(pilot)
        rows = stored_board(ws, board_id)["layout"]["rows"]
        assert rows[-1]["blocks"] == [kpis["id"]]
        assert screen.selected_block() == screen.by_id[kpis["id"]]  # the cursor stayed on it
        assert screen.by_id[kpis["id"]]["displayed"] is True
        await pilot.press("escape")
        await wait_until(pilot, lambda: dashboard.query_one(Grid).cell(kpis["id"]) is not None)
        assert dashboard.query_one(Grid).cells()[-1].block["id"] == kpis["id"]


async def test_enter_opens_the_block_in_the_editor(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_graph(pilot)
        await select(pilot, screen, "by_region")
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "BlockEditorScreen"
