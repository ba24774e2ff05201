"""The app's frame: the dashboards list and the dashboard grid, driven as a person would."""

from __future__ import annotations

from ballast_tui.engine.workspace import Workspace
from ballast_tui.screens.dashboard import DashboardScreen
from ballast_tui.screens.dashboards import DashboardsScreen
from ballast_tui.widgets.block_cell import BlockCell
from tests.tui.conftest import make_app, settle


async def test_dashboards_list_filters_by_typing_and_opens_the_board(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardsScreen)
        await pilot.press("slash", *"zzz")
        await settle(pilot)
        assert app.screen.query_one("#boards").row_count == 0
        await pilot.press(*["backspace"] * 3, *"sales", "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen) and app.screen.dashboard_id == board_id


async def test_grid_shows_every_displayed_block_in_layout_order(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        layout_ids = [b for row in screen.dashboard["layout"]["rows"] for b in row["blocks"]]
        assert [c.block["id"] for c in screen.query(BlockCell)] == layout_ids
        assert all(c.state == "success" for c in screen.query(BlockCell))


async def test_creating_a_dashboard_opens_it(demo_ws: tuple[Workspace, str]) -> None:
    ws, _ = demo_ws
    app = make_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("n", *"Quarterly", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert app.screen.dashboard["title"] == "Quarterly"
