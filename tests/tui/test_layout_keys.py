"""Keyboard layout editing on the dashboard: move a block, make its row taller, widen it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from ballast_tui.engine.workspace import Workspace
from ballast_tui.screens.dashboard import DashboardScreen
from ballast_tui.tools.registry import Context, load_registry
from ballast_tui.widgets.block_cell import BlockCell
from ballast_tui.widgets.grid import Grid, GridRow
from tests.tui.conftest import make_app, settle


def stored_board(ws: Workspace, board_id: str) -> dict[str, Any]:
    """The board as the registry has it now (not as the screen last drew it)."""
    answer = load_registry().call(Context(ws, ws.users.local()), "dashboard_get", {"dashboard_id": board_id})
    return dict(answer["dashboard"])


def grid_rows(screen: DashboardScreen) -> list[list[str]]:
    """The block ids of each row of the grid as drawn."""
    return [[c.block["id"] for c in row.query(BlockCell)] for row in screen.query_one(Grid).query(GridRow)]


async def wait_until(pilot: Pilot[None], done: Callable[[], bool], rounds: int = 100) -> None:
    """Let the app run until `done()` holds (the board's events arrive on their own schedule)."""
    for _ in range(rounds):
        await settle(pilot, rounds=1)
        if done():
            return
    raise AssertionError("the app did not get there")


async def test_layout_keys_edit_the_stored_layout_and_keep_the_block_focused(
    demo_ws: tuple[Workspace, str],
) -> None:
    ws, board_id = demo_ws
    ids = {b["name"]: b["id"] for b in stored_board(ws, board_id)["blocks"]}
    intro, period, region = ids["intro"], ids["period"], ids["region"]
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await pilot.click(f"#cell-{period}", offset=(2, 0))  # on its title border: the cell itself
        await settle(pilot)
        assert (screen.focused_block() or {}).get("id") == period

        async def press(key: str, expected_rows: list[dict[str, Any]]) -> None:
            await pilot.press(key)
            expected_ids = [row["blocks"] for row in expected_rows]
            await wait_until(pilot, lambda: grid_rows(screen) == expected_ids)
            assert stored_board(ws, board_id)["layout"]["rows"] == expected_rows
            assert (screen.focused_block() or {}).get("id") == period, f"focus lost after {key}"

        rest = stored_board(ws, board_id)["layout"]["rows"][2:]
        assert stored_board(ws, board_id)["layout"]["rows"][:2] == [
            {"blocks": [intro], "height": 120},
            {"blocks": [period, region], "cols": [6, 6], "height": 60},
        ]
        await press(
            "ctrl+right",
            [
                {"blocks": [intro], "height": 120},
                {"blocks": [region, period], "cols": [6, 6], "height": 60},
                *rest,
            ],
        )
        await press(
            "right_square_bracket",
            [
                {"blocks": [intro], "height": 120},
                {"blocks": [region, period], "cols": [5, 7], "height": 60},
                *rest,
            ],
        )
        await press(
            "plus",
            [
                {"blocks": [intro], "height": 120},
                {"blocks": [region, period], "cols": [5, 7], "height": 80},
                *rest,
            ],
        )
        # Up out of a shared row: a row of its own just above it.
        await press(
            "ctrl+up",
            [
                {"blocks": [intro], "height": 120},
                {"blocks": [period]},
                {"blocks": [region], "height": 80},
                *rest,
            ],
        )
        # Up again, from a row of its own: joins the row above.
        await press(
            "ctrl+up", [{"blocks": [intro, period], "height": 120}, {"blocks": [region], "height": 80}, *rest]
        )
        await press(
            "ctrl+up",
            [
                {"blocks": [period]},
                {"blocks": [intro], "height": 120},
                {"blocks": [region], "height": 80},
                *rest,
            ],
        )
        assert [c.block["id"] for c in screen.query(BlockCell)][:3] == [period, intro, region]


async def test_tab_moves_the_focus_from_block_to_block(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    names = [b["name"] for b in stored_board(ws, board_id)["blocks"]]
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        seen = []
        for _ in range(6):
            seen.append((screen.focused_block() or {}).get("name"))
            await pilot.press("tab")
            await settle(pilot)
        assert seen[0] == "intro"
        assert {"period", "region"} <= set(seen), seen
        assert all(name in names for name in seen)


async def test_a_move_at_the_edge_changes_nothing(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    before = stored_board(ws, board_id)
    intro = next(b["id"] for b in before["blocks"] if b["name"] == "intro")
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        assert (screen.focused_block() or {}).get("id") == intro  # the first block, alone in the top row
        audit_before = len(
            load_registry().call(
                Context(ws, ws.users.local()), "dashboard_audit", {"dashboard_id": board_id}
            )["events"]
        )
        for key in ("ctrl+up", "ctrl+left", "ctrl+right", "right_square_bracket", "left_square_bracket"):
            await pilot.press(key)
            await settle(pilot)
        after = stored_board(ws, board_id)
        assert after["layout"] == before["layout"]
        assert after["updatedAt"] == before["updatedAt"]
        audit_after = load_registry().call(
            Context(ws, ws.users.local()), "dashboard_audit", {"dashboard_id": board_id}
        )["events"]
        assert len(audit_after) == audit_before
        assert grid_rows(screen) == [row["blocks"] for row in before["layout"]["rows"]]
        assert (screen.focused_block() or {}).get("id") == intro
