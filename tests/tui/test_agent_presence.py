"""An agent beside a person in the app: in the presence bar as an agent, its open block locked for the
person, its changes appearing live. The agent is the `mcp` SDK's client on the real server's `/mcp`."""

from __future__ import annotations

import asyncio
from typing import Any

from syrupy import SnapshotAssertion
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from ballast_server.runner import start_server
from ballast_tui.agent_session import AgentSession
from ballast_tui.app import BallastApp
from ballast_tui.backend import LocalBackend
from ballast_tui.engine.workspace import Workspace
from ballast_tui.screens.audit import AuditScreen
from ballast_tui.screens.dashboard import DashboardScreen
from ballast_tui.screens.editor import BlockEditorScreen
from ballast_tui.tools.registry import Context, load_registry
from ballast_tui.widgets.block_cell import BlockCell
from tests.server.mcp_clients import over_http
from tests.tui.conftest import make_app, settle
from tests.tui.snapshots import matches, screenshot


def agent_token(ws: Workspace, board_id: str) -> str:
    """An agent the local user created (`ballast user add bot --agent`), editor of the board."""
    owner = ws.users.local()
    _bot, token = ws.users.create("bot", "agent", created_by=owner.id)
    load_registry().call(
        Context(ws, owner), "dashboard_grant", {"dashboard_id": board_id, "user": "bot", "role": "editor"}
    )
    return token


def cell(app: BallastApp, name: str) -> BlockCell:
    return next(c for c in app.screen.query(BlockCell) if c.block["name"] == name)


def presence(app: BallastApp) -> str:
    return str(app.screen.query_one("#presence", Static).render())


async def wait_until(check: Any, pilot: Pilot[None], timeout: float = 15) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await pilot.pause(0.05)


async def test_an_agent_is_present_its_block_locked_and_its_changes_live(
    demo_ws: tuple[Workspace, str],
) -> None:
    ws, board_id = demo_ws
    token = agent_token(ws, board_id)
    runner, port = await start_server(ws, "127.0.0.1", 0)
    app = make_app(ws, board_id)
    try:
        async with (
            app.run_test(size=(120, 40)) as pilot,
            over_http(f"http://127.0.0.1:{port}", token) as agent,
        ):
            await settle(pilot)
            assert isinstance(app.screen, DashboardScreen)
            board = (await agent.call("dashboard_get", dashboard_id=board_id))["dashboard"]
            chart = next(b for b in board["blocks"] if b["name"] == "daily_revenue")

            # The agent is in the presence bar, marked as an agent.
            await wait_until(lambda: "bot (agent)" in presence(app), pilot)

            # Its open block is locked for the person, naming the agent.
            await agent.call("block_open", block_id=chart["id"])
            await wait_until(lambda: cell(app, "daily_revenue").locked_by == "bot (agent)", pilot)
            assert "bot (agent) editing daily_revenue" in presence(app)
            assert "locked by bot (agent)" in cell(app, "daily_revenue").title_text
            editor = BlockEditorScreen(board_id, app.screen.blocks[chart["id"]])  # type: ignore[attr-defined]
            await app.push_screen(editor)
            await settle(pilot)
            assert editor.read_only and not editor.holds_lock
            assert "Read-only: bot (agent, session mcp-" in str(
                editor.query_one("#lock-status", Static).render()
            )
            await pilot.press("escape")
            await settle(pilot)

            # Its change appears without a keypress.
            config = {**chart["config"], "title": "Revenue per day (by the agent)"}
            await agent.call("dashboard_update_block", block_id=chart["id"], config=config)
            await wait_until(lambda: "by the agent" in cell(app, "daily_revenue").title_text, pilot)

            # Closing the block hands it back.
            await agent.call("block_close", block_id=chart["id"])
            await wait_until(lambda: cell(app, "daily_revenue").locked_by == "", pilot)

            # The audit names the agent and the person who created it.
            await pilot.press("u")
            await settle(pilot)
            assert isinstance(app.screen, AuditScreen)
            newest = app.screen.query_one("#events", DataTable).get_row_at(0)
            assert [str(c) for c in newest[1:3]] == [
                f"bot (agent of {ws.users.local().name})",
                "block_update",
            ]
    finally:
        await runner.cleanup()


def test_dashboard_with_an_agent_120x40(demo_ws: tuple[Workspace, str], snapshot: SnapshotAssertion) -> None:
    """What the person sees while an agent edits the revenue metric."""
    ws, board_id = demo_ws
    agent_token(ws, board_id)
    bot = ws.users.find("bot")
    session = AgentSession(LocalBackend(ws, bot, client="mcp", session_id="mcp-snapshot"))

    async def agent_opens_revenue(pilot: Pilot[Any]) -> None:
        await settle(pilot, rounds=5)
        await session.run("block_open", {"dashboard_id": board_id, "block_id": "revenue"})
        await wait_until(lambda: cell(pilot.app, "revenue").locked_by != "", pilot)
        await settle(pilot, rounds=3)

    assert matches(snapshot, screenshot(make_app(ws, board_id), (120, 40), agent_opens_revenue))
