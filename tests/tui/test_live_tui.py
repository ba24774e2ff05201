"""Two apps on one real server, as two people in two SSH logins: changes and locks cross over live."""

from __future__ import annotations

import asyncio
from typing import Any

from ballast_server.runner import start_server
from ballast_tui.app import BallastApp
from ballast_tui.engine.workspace import Workspace
from ballast_tui.remote import RemoteBackend
from ballast_tui.screens.dashboard import DashboardScreen
from ballast_tui.tools.registry import Context, load_registry
from ballast_tui.widgets.block_cell import BlockCell
from tests.tui.conftest import settle


async def remote_app(url: str, token: str, board_id: str) -> BallastApp:
    backend = await RemoteBackend(url, token).start()
    return BallastApp(backend, board_id)


def cell(app: BallastApp, name: str) -> BlockCell:
    return next(c for c in app.screen.query(BlockCell) if c.block["name"] == name)


async def wait_until(check: Any, pilots: list[Any], timeout: float = 15) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            for pilot in pilots:
                await pilot.pause(0.05)


async def test_a_change_in_one_app_appears_in_the_other_and_an_open_block_shows_locked(
    demo_ws: tuple[Workspace, str],
) -> None:
    ws, board_id = demo_ws
    owner = ws.users.local()
    _bob, bob_token = ws.users.create("bob")
    load_registry().call(
        Context(ws, owner), "dashboard_grant", {"dashboard_id": board_id, "user": "bob", "role": "editor"}
    )
    runner, port = await start_server(ws, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    try:
        first = await remote_app(url, ws.users.add_token(owner.id), board_id)
        second = await remote_app(url, bob_token, board_id)
        async with first.run_test(size=(120, 40)) as p1, second.run_test(size=(120, 40)) as p2:
            await settle(p1)
            await settle(p2)
            assert isinstance(first.screen, DashboardScreen) and isinstance(second.screen, DashboardScreen)
            revenue_before = load_metric(ws, board_id)

            # A change made in the first app…
            await first.backend.call(
                "dashboard_set_control", dashboard_id=board_id, block_id="region", value="North"
            )
            # …reaches the second without a keypress: its control shows the value, its metric reloads.
            await wait_until(
                lambda: (
                    second.screen.blocks[cell(second, "region").block["id"]].get("value") == "North"
                    and cell(second, "revenue").state == "success"
                    and not cell(second, "revenue").running
                ),
                [p1, p2],
            )
            assert load_metric(ws, board_id) != revenue_before

            # The second sees who else is here.
            await wait_until(
                lambda: (
                    "root" in str(second.screen.query_one("#presence").render())
                    or owner.name in str(second.screen.query_one("#presence").render())
                ),
                [p1, p2],
            )

            # A block opened in the first shows locked, with its holder, in the second.
            first.screen.query_one(f"#cell-{cell(first, 'revenue').block['id']}", BlockCell).focus()
            await p1.press("e")
            await wait_until(lambda: cell(second, "revenue").locked_by == owner.name, [p1, p2])
            await p1.press("escape")
            await wait_until(lambda: cell(second, "revenue").locked_by == "", [p1, p2])
    finally:
        await runner.cleanup()


def load_metric(ws: Workspace, board_id: str) -> Any:
    ctx = Context(ws, ws.users.local())
    registry = load_registry()
    blocks = registry.call(ctx, "dashboard_get", {"dashboard_id": board_id})["dashboard"]["blocks"]
    revenue = next(b for b in blocks if b["name"] == "revenue")
    return registry.call(ctx, "dashboard_block_data", {"dashboard_id": board_id, "block_id": revenue["id"]})[
        "rows"
    ]
