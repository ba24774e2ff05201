"""The app's frame: the dashboards list and the dashboard grid, driven as a person would."""

from __future__ import annotations

from textual.widgets import Select
from textual.widgets._footer import FooterKey
from textual.widgets._select import SelectOverlay

from ballast_tui.engine.workspace import Workspace
from ballast_tui.screens.dashboard import DashboardScreen
from ballast_tui.screens.dashboards import DashboardsScreen
from ballast_tui.widgets.block_cell import BlockCell
from ballast_tui.widgets.chart_view import REFETCH_RATIO, ChartView
from ballast_tui.widgets.footer import Footer
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


async def test_cloning_and_deleting_from_the_list_with_confirmation(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardsScreen)
        await pilot.press("c")
        await settle(pilot)
        titles = sorted(b["title"] for b in screen.boards)
        assert titles == ["Sales overview", "Sales overview (Copy)"]
        copy_id = next(b["id"] for b in screen.boards if b["title"].endswith("(Copy)"))
        table = screen.query_one("#boards")
        table.move_cursor(row=table.get_row_index(copy_id))
        # The delete worker waits for the answer: pause for the dialog, don't wait for the worker.
        await pilot.press("d")
        await pilot.pause(0.3)
        await pilot.press("n")  # "no" keeps it
        await settle(pilot)
        assert len(screen.boards) == 2
        await pilot.press("d")
        await pilot.pause(0.3)
        await pilot.press("y")
        await settle(pilot)
        assert [b["id"] for b in screen.boards] == [board_id]
        assert not (ws.paths.data / copy_id).exists()


async def test_an_app_opened_on_a_board_goes_back_to_the_list(demo_ws: tuple[Workspace, str]) -> None:
    """`ballast open ID` draws the board alone first; leaving it shows the list, which opens it again."""
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert not any(isinstance(s, DashboardsScreen) for s in app.screen_stack)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardsScreen)
        assert [b["id"] for b in app.screen.boards] == [board_id]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen) and app.screen.dashboard_id == board_id
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardsScreen)
        assert len(app.screen_stack) == 2


async def test_the_first_paint_reduces_each_chart_for_its_real_width(demo_ws: tuple[Workspace, str]) -> None:
    """The board's data is asked for before the grid is laid out (at the widths the layout plans):
    each chart still gets points for the width it is drawn at, and shows its data at once."""
    ws, board_id = demo_ws
    for size in ((120, 40), (80, 24)):
        app = make_app(ws, board_id)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            charts = list(app.screen.query(ChartView))
            assert len(charts) == 6
            for chart in charts:
                width = chart.size.width
                assert width and abs(width - chart.asked_width) <= REFETCH_RATIO * chart.asked_width
                assert chart.series and chart.series["points"] > 0


async def test_the_footer_keeps_the_boards_keys_while_a_drop_down_is_open(
    demo_ws: tuple[Workspace, str],
) -> None:
    """Opening a control's list does not swap the footer's keys (and rebuild it) for a moment."""
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)

        def keys() -> list[str]:
            return [key.description for key in app.screen.query_one(Footer).query(FooterKey)]

        board_keys = keys()
        assert "Edit" in board_keys and "Back" in board_keys
        region = next(c for c in app.screen.query(BlockCell) if c.block["name"] == "region")
        region.query_one(Select).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen.focused, SelectOverlay)
        assert keys() == board_keys
        await pilot.press("escape")
        await settle(pilot)
        assert keys() == board_keys
