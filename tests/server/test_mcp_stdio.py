"""`ballast mcp` as an agent's MCP client starts it: a real subprocess spoken to over stdio with the
`mcp` SDK's own client, on a workspace of its own and beside a running server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ballast_server.runner import server_info, start_server
from ballast_tui.config import remove_server_json, write_server_json
from ballast_tui.engine.workspace import Workspace
from ballast_tui.server_lock import ServerLock
from ballast_tui.tools.registry import Context, load_registry
from tests.server.conftest import Api
from tests.server.mcp_clients import over_stdio
from tests.server.test_mcp_http import build_from_nothing


async def test_ballast_mcp_on_its_own_lists_the_tools_builds_and_saves_a_dashboard(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace(root).close()  # `ballast mcp` opens a workspace; it never creates one
    async with over_stdio(root) as agent:
        tools = {tool.name: tool for tool in await agent.tools()}
        assert sorted(tools) == load_registry().names()
        assert all(tool.description and "Example:" in tool.description for tool in tools.values())
        conversation = await build_from_nothing(agent)
        saved = (await agent.call("dashboard_save_conversation", title="Revenue"))["dashboard"]
        # A refusal says which field and what is accepted.
        refused = await agent.refused("dashboard_set_refresh", refreshInterval=60)
        assert (refused["error"], refused["field"], refused["accepted"]) == (
            "invalid_request",
            "refreshInterval",
            [300, 900, 3600, 86400],
        )
    # The engine ran in that process, on the workspace: everything is there for the next one.
    with Workspace(root) as ws:
        ctx = Context(ws, ws.users.local())
        board = load_registry().call(ctx, "dashboard_get", {"dashboard_id": saved["id"]})["dashboard"]
        assert sorted(b["name"] for b in board["blocks"]) == ["daily", "period", "region", "trend"]
        assert board["origin"]["source_id"] == conversation["id"]
        assert len(board["layout"]["rows"]) == 2


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Api]:
    """A real server on the workspace, holding its server lock and announced in its `server.json`
    as `ballast` would."""
    import aiohttp

    ws = Workspace(tmp_path / "served")
    ws.users.local()
    lock = ServerLock(ws.paths.root)
    assert lock.acquire()
    runner, port = await start_server(ws, "127.0.0.1", 0)
    write_server_json(ws.paths, server_info("127.0.0.1", port))
    http = aiohttp.ClientSession()
    try:
        yield Api(http, f"http://127.0.0.1:{port}", ws)
    finally:
        remove_server_json(ws.paths)
        await http.close()
        await runner.cleanup()
        lock.release()
        ws.close()


async def _wait_for(check: Any, timeout: float = 15) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := await check()):
            await asyncio.sleep(0.05)
    return found


async def test_ballast_mcp_joins_the_running_server_as_an_agent_sharing_locks_and_presence(
    served: Api,
) -> None:
    ws = served.ws
    owner = ws.users.local()
    _bot, bot_token = ws.users.create("bot", "agent", created_by=owner.id)
    person = ws.users.add_token(owner.id)
    board_id = (await served.ok("dashboard_create", person, title="Team board"))["dashboard"]["id"]
    await served.ok("dashboard_grant", person, dashboard_id=board_id, user="bot", role="editor")
    note = (
        await served.ok(
            "dashboard_add_block", person, dashboard_id=board_id, type="markdown", config={"text": "a"}
        )
    )["block"]

    async def agent_present() -> list[dict[str, Any]]:
        sessions = (await served.ok("dashboard_presence", person, dashboard_id=board_id))["sessions"]
        return [s for s in sessions if s["kind"] == "agent"]

    async with over_stdio(ws.paths.root, bot_token) as agent:
        await agent.call("dashboard_get", dashboard_id=board_id)
        # Presence, through the server's API: the agent, marked as one, over MCP.
        [present] = await _wait_for(agent_present)
        assert (present["user"]["name"], present["client"]) == ("bot", "mcp")
        # Its lock, taken through the server, refuses a person's edit, naming it.
        await agent.call("block_open", block_id=note["id"])
        status, body = await served.call(
            "dashboard_update_block",
            person,
            session="tui-1",
            dashboard_id=board_id,
            block_id=note["id"],
            config={"text": "b"},
        )
        assert (status, body["error"], body["lock"]["holder"]["name"]) == (423, "locked", "bot")
        await agent.call("block_close", block_id=note["id"])
        # And the reverse: the person's lock refuses the agent.
        await served.call("block_open", person, session="tui-1", dashboard_id=board_id, block_id=note["id"])
        refused = await agent.refused("dashboard_update_block", block_id=note["id"], config={"text": "c"})
        assert refused["error"] == "locked" and owner.name in refused["message"]
        await served.call("block_close", person, session="tui-1", dashboard_id=board_id, block_id=note["id"])
        changed = await agent.call(
            "dashboard_update_block", block_id=note["id"], config={"text": "from the agent"}
        )
        assert changed["block"]["version"] == 2
    # Its change is in the audit, by the agent, created by the person; and the agent has left.
    events = (await served.ok("dashboard_audit", person, dashboard_id=board_id))["events"]
    update = next(e for e in events if e["action"] == "block_update")
    assert (update["actor_name"], update["actor_kind"], update["actor_created_by"]["name"]) == (
        "bot",
        "agent",
        owner.name,
    )
    assert update["details"]["via"] == "mcp"
    await _wait_for(lambda: _none(agent_present))


async def _none(check: Any) -> bool:
    return not await check()


def test_ballast_mcp_refuses_a_token_it_does_not_know(tmp_path: Path) -> None:
    Workspace(tmp_path / "ws").close()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ballast_tui.cli",
            "mcp",
            "--workspace",
            str(tmp_path / "ws"),
            "--token",
            "blt_x_y",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "unauthorized" in result.stderr and result.stdout == ""
