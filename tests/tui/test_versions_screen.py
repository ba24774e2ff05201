"""A board's versions in the app: listed newest first, two compared side by side, one restored
behind a confirmation, and the restore seen at once by someone else in the board."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.widgets import DataTable, Static

from ballast_server.runner import start_server
from ballast_tui.app import BallastApp
from ballast_tui.engine.workspace import Workspace
from ballast_tui.remote import RemoteBackend
from ballast_tui.screens.dashboard import DashboardScreen
from ballast_tui.screens.dialogs import ConfirmDialog
from ballast_tui.screens.version_diff import VersionDiffScreen
from ballast_tui.screens.versions import VersionsScreen
from ballast_tui.tools.registry import Context, load_registry
from ballast_tui.widgets.block_cell import BlockCell
from tests.tui.conftest import make_app, settle


def retitle(ws: Workspace, board_id: str, name: str, title: str) -> None:
    """Change one chart's title as the local user: one new version of the board."""
    ctx = Context(ws, ws.users.local())
    registry = load_registry()
    blocks = registry.call(ctx, "dashboard_get", {"dashboard_id": board_id})["dashboard"]["blocks"]
    block = next(b for b in blocks if b["name"] == name)
    registry.call(
        ctx,
        "dashboard_update_block",
        {"dashboard_id": board_id, "block_id": block["id"], "config": {**block["config"], "title": title}},
    )


def rows(screen: VersionsScreen) -> list[list[str]]:
    table = screen.query_one("#versions", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def side_text(screen: VersionDiffScreen, side: str) -> str:
    return "\n".join(str(part.render()) for part in screen.query(f"#diff-{side} Static").results(Static))


async def test_versions_list_compare_and_restore(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    retitle(ws, board_id, "daily_revenue", "Daily takings")
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, VersionsScreen)
        listed = rows(screen)
        newest, previous = int(listed[0][1]), int(listed[1][1])
        assert newest == previous + 1
        assert "daily_revenue" in listed[0][-1] and listed[0][4] == ws.users.local().name

        # Mark the newest two and compare them: the old title on the left, the new on the right.
        await pilot.press("space", "down", "space")
        await settle(pilot)
        assert [r[0] for r in rows(screen)[:2]] == ["●", "●"]
        await pilot.press("d")
        await settle(pilot)
        diff = app.screen
        assert isinstance(diff, VersionDiffScreen)
        left, right = side_text(diff, "left"), side_text(diff, "right")
        assert "Revenue per day" in left and "Daily takings" not in left
        assert "Daily takings" in right and "daily_revenue" in right
        await pilot.press("escape")
        await settle(pilot)

        # Restore the highlighted (previous) version: asked first, then a new version on top.
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is screen
        after = rows(screen)
        assert int(after[0][1]) == newest + 1 and f"version {previous}" in after[0][-1].lower()
        assert chart_title(ws, board_id, "daily_revenue") == "Revenue per day"


async def test_declining_the_restore_changes_nothing(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    retitle(ws, board_id, "daily_revenue", "Daily takings")
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, VersionsScreen)
        before = rows(screen)
        await pilot.press("down", "r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(pilot)
        assert rows(screen) == before
        assert chart_title(ws, board_id, "daily_revenue") == "Daily takings"


async def test_a_restore_reaches_another_person_in_the_board_live(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    owner = ws.users.local()
    _bob, bob_token = ws.users.create("bob")
    load_registry().call(
        Context(ws, owner), "dashboard_grant", {"dashboard_id": board_id, "user": "bob", "role": "viewer"}
    )
    retitle(ws, board_id, "daily_revenue", "Daily takings")
    runner, port = await start_server(ws, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    try:
        first = BallastApp(await RemoteBackend(url, ws.users.add_token(owner.id)).start(), board_id)
        second = BallastApp(await RemoteBackend(url, bob_token).start(), board_id)
        async with first.run_test(size=(120, 40)) as p1, second.run_test(size=(120, 40)) as p2:
            await settle(p1)
            await settle(p2)
            assert isinstance(second.screen, DashboardScreen)
            assert "Daily takings" in cell(second, "daily_revenue").title_text
            await p1.press("v")
            await settle(p1)
            assert isinstance(first.screen, VersionsScreen)
            await p1.press("down", "r")
            await p1.pause()
            await p1.press("y")
            await wait_until(lambda: "Revenue per day" in cell(second, "daily_revenue").title_text, [p1, p2])
            # Bob's view has the restore's version in its list too, without reopening anything.
            await p2.press("v")
            await settle(p2)
            assert isinstance(second.screen, VersionsScreen)
            assert "restored" in rows(second.screen)[0][-1].lower()
    finally:
        await runner.cleanup()


def cell(app: BallastApp, name: str) -> BlockCell:
    return next(c for c in app.screen.query(BlockCell) if c.block["name"] == name)


async def wait_until(check: Any, pilots: list[Any], timeout: float = 15) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            for pilot in pilots:
                await pilot.pause(0.05)


def chart_title(ws: Workspace, board_id: str, name: str) -> str:
    ctx = Context(ws, ws.users.local())
    blocks = load_registry().call(ctx, "dashboard_get", {"dashboard_id": board_id})["dashboard"]["blocks"]
    return str(next(b for b in blocks if b["name"] == name)["config"]["title"])
