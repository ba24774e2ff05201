"""Agents over HTTP: the `mcp` SDK's own client against `/mcp` on a real server, beside people using
the API: building a dashboard from nothing, saving the conversation, overrides, locks both ways,
presence."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ballast_server.mcp_http import PRESENCE_IDLE_S, AgentSessions
from ballast_tui.tools.registry import load_registry
from tests.server.conftest import Api
from tests.server.mcp_clients import Agent, over_http, over_http_sessionless


@pytest.fixture
def people(api: Api) -> dict[str, str]:
    """Tokens: the workspace's owner, a colleague (alice), and an agent the owner created."""
    owner = api.ws.users.local()
    _agent, agent_token = api.ws.users.create("bot", "agent", created_by=owner.id)
    return {"owner": api.ws.users.add_token(owner.id), "alice": api.token("alice"), "bot": agent_token}


async def test_every_registry_tool_is_listed_with_its_schema_and_a_token_is_required(
    api: Api, people: dict[str, str]
) -> None:
    async with over_http(api.base, people["bot"]) as agent:
        tools = {tool.name: tool for tool in await agent.tools()}
    registry = load_registry()
    assert sorted(tools) == registry.names()
    add_block = tools["dashboard_add_block"]
    schema = registry.get("dashboard_add_block").args.model_json_schema()
    assert add_block.input_schema["properties"].keys() == schema["properties"].keys()
    assert add_block.input_schema["required"] == ["type", "config"]  # the board falls back on the session's
    assert add_block.input_schema["additionalProperties"] is False
    assert "Example:" in (add_block.description or "")
    assert tools["dashboard_get"].annotations and tools["dashboard_get"].annotations.read_only_hint
    # Without a bearer token: the contract's 401.
    status, body = await api.request("POST", "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert (status, body["error"]) == (401, "unauthorized")


async def build_from_nothing(agent: Agent) -> dict[str, Any]:
    """What an agent does for 'show me sales by day, with a region filter': data, blocks, layout."""
    rows = [
        {"day": f"2026-01-{d:02d}", "region": region, "amount": d * (2 if region == "North" else 1)}
        for d in range(1, 31)
        for region in ("North", "South")
    ]
    pushed = await agent.call("catalog_push", name="sales", rows=rows)
    assert pushed["source"]["row_count"] == 60
    board_id = (await agent.call("dashboard_get"))["dashboard"]["id"]
    assert board_id.startswith("conv_")
    region = (
        await agent.call(
            "dashboard_add_block",
            type="param-enum",
            name="region",
            config={"options": ["North", "South"], "default": "North"},
        )
    )["block"]
    period = (
        await agent.call(
            "dashboard_add_block",
            type="filter-daterange",
            name="period",
            config={"default": {"start": "2026-01-01", "end": "2026-01-10"}},
        )
    )["block"]
    daily = (
        await agent.call(
            "dashboard_add_block",
            type="sql",
            name="daily",
            config={
                "sql": "SELECT day, sum(amount) AS revenue FROM sales WHERE region = $region "
                "AND CAST(day AS DATE) BETWEEN $period_start AND $period_end GROUP BY day ORDER BY day",
                "inputs": ["region", "period"],
            },
        )
    )["block"]
    assert daily["state"] == "success"
    chart = (
        await agent.call(
            "dashboard_add_block",
            type="chart",
            name="trend",
            config={"source": "daily", "kind": "line", "x": "day", "y": "revenue", "title": "Revenue"},
        )
    )["block"]
    for block in (region, period, chart):
        await agent.call("dashboard_set_displayed", block_id=block["id"], displayed=True)
    layout = await agent.call(
        "dashboard_set_layout",
        rows=[
            {"blocks": [region["id"], period["id"]], "cols": [4, 8]},
            {"blocks": [chart["id"]], "height": 300},
        ],
    )
    assert layout["layout"]["rows"][0]["cols"] == [4, 8]
    data = await agent.call("dashboard_block_data", block_id=daily["id"])
    assert data["row_count"] == 10 and data["rows"][0] == {"day": "2026-01-01", "revenue": 2}
    # Before changing the region for everyone, the agent checks the wire: nothing is stored.
    runs_before = await agent.call("dashboard_runs", block_id=daily["id"])
    tried = (
        await agent.call("dashboard_run_block", block_id=daily["id"], filter_overrides={"region": "South"})
    )["run"]
    assert (tried["persisted"], tried["rows"][0]) == (False, {"day": "2026-01-01", "revenue": 1})
    assert await agent.call("dashboard_runs", block_id=daily["id"]) == runs_before
    board = (await agent.call("dashboard_get"))["dashboard"]
    assert next(b for b in board["blocks"] if b["name"] == "region")["value"] == "North"
    assert board["explain"]["affects"]["region"] == ["region", "trend"]
    await agent.call("conversation_add_message", role="user", content="Sales by day, with a region filter")
    await agent.call("conversation_add_message", role="assistant", content="Built: trend, region, period.")
    return board


async def test_an_agent_builds_a_dashboard_from_nothing_and_saves_its_conversation(
    api: Api, people: dict[str, str]
) -> None:
    async with over_http(api.base, people["bot"]) as agent:
        conversation = await build_from_nothing(agent)
    # Saved through the seed's REST route, by the agent's token: blocks, layout and sources come along.
    status, saved = await api.request(
        "POST",
        "/api/v1/analytics/dashboards",
        people["bot"],
        json={"conversationId": conversation["id"], "title": "Revenue by day"},
    )
    assert status == 200, saved
    dashboard_id = saved["dashboard"]["id"]
    board = (await api.ok("dashboard_get", people["bot"], dashboard_id=dashboard_id))["dashboard"]
    assert board["kind"] == "dashboard" and board["title"] == "Revenue by day"
    assert sorted(b["name"] for b in board["blocks"]) == ["daily", "period", "region", "trend"]
    names = {b["id"]: b["name"] for b in board["blocks"]}
    assert [[names[i] for i in row["blocks"]] for row in board["layout"]["rows"]] == [
        ["region", "period"],
        ["trend"],
    ]
    assert board["origin"]["source_id"] == conversation["id"]
    assert board["origin"]["by"]["name"] == "bot"
    catalog = (await api.ok("catalog_list", people["bot"], dashboard_id=dashboard_id))["sources"]
    assert [s["name"] for s in catalog if s["kind"] == "push"] == ["sales"]
    # The audit of the conversation names the agent and the person who created it.
    events = (await api.ok("dashboard_audit", people["bot"], dashboard_id=conversation["id"]))["events"]
    assert {(e["actor_name"], e["actor_kind"], e["actor_created_by"]["name"]) for e in events} == {
        ("bot", "agent", api.ws.users.local().name)
    }


async def test_the_session_less_protocol_works_in_a_conversation_of_its_own(
    api: Api, people: dict[str, str]
) -> None:
    async with over_http_sessionless(api.base, people["bot"]) as agent:
        assert len(await agent.tools()) == len(load_registry().names())
        first = (await agent.call("conversation_create", title="Sessionless"))["conversation"]["id"]
        await agent.call("conversation_add_message", role="user", content="hello")
        board = (await agent.call("dashboard_get"))["dashboard"]
    assert board["id"] == first and [m["content"] for m in board["messages"]] == ["hello"]


async def _presence(api: Api, token: str, board_id: str) -> list[dict[str, Any]]:
    sessions: list[dict[str, Any]] = (await api.ok("dashboard_presence", token, dashboard_id=board_id))[
        "sessions"
    ]
    return sessions


async def test_locks_between_an_agent_and_a_person_refuse_both_ways(api: Api, people: dict[str, str]) -> None:
    board_id = (await api.ok("dashboard_create", people["alice"], title="Shared"))["dashboard"]["id"]
    await api.ok("dashboard_grant", people["alice"], dashboard_id=board_id, user="bot", role="editor")
    note = (
        await api.ok(
            "dashboard_add_block",
            people["alice"],
            dashboard_id=board_id,
            type="markdown",
            config={"text": "a"},
        )
    )["block"]
    other = (
        await api.ok(
            "dashboard_add_block",
            people["alice"],
            dashboard_id=board_id,
            type="markdown",
            config={"text": "b"},
        )
    )["block"]
    async with over_http(api.base, people["bot"]) as agent:
        lock = (await agent.call("block_open", dashboard_id=board_id, block_id=note["id"]))["lock"]
        assert lock["holder"]["kind"] == "agent"
        # The agent is in the board's presence, as an agent, editing that block.
        [present] = await _presence(api, people["alice"], board_id)
        assert (present["user"]["name"], present["kind"], present["client"], present["block_id"]) == (
            "bot",
            "agent",
            "mcp",
            note["id"],
        )
        # A person's edit of the agent's block is refused, naming the agent.
        status, body = await api.call(
            "dashboard_update_block",
            people["alice"],
            session="alice-tui",
            dashboard_id=board_id,
            block_id=note["id"],
            config={"text": "mine"},
        )
        assert (status, body["error"]) == (423, "locked")
        assert "bot" in body["message"] and body["lock"]["holder"]["name"] == "bot"
        # The reverse: a block the person has open refuses the agent, in words the agent can act on.
        await api.call(
            "block_open", people["alice"], session="alice-tui", dashboard_id=board_id, block_id=other["id"]
        )
        refused = await agent.refused(
            "dashboard_update_block", dashboard_id=board_id, block_id=other["id"], config={"text": "x"}
        )
        assert refused["error"] == "locked" and refused["tool"] == "dashboard_update_block"
        assert "alice" in refused["message"] and refused["lock"]["holder"]["kind"] == "human"
        # Closing hands the block back.
        await agent.call("block_close", dashboard_id=board_id, block_id=note["id"])
        await api.ok(
            "dashboard_update_block",
            people["alice"],
            dashboard_id=board_id,
            block_id=note["id"],
            config={"text": "ok"},
        )
    # Ending the MCP session takes the agent out of presence.
    async with asyncio.timeout(10):
        while any(s["kind"] == "agent" for s in await _presence(api, people["alice"], board_id)):
            await asyncio.sleep(0.05)


async def test_a_quiet_http_agent_leaves_presence_and_its_locks_then_comes_back(
    api: Api, people: dict[str, str]
) -> None:
    """The server cannot see a remote agent go: silence past the idle time counts as gone."""
    board_id = (await api.ok("dashboard_create", people["alice"], title="Shared"))["dashboard"]["id"]
    await api.ok("dashboard_grant", people["alice"], dashboard_id=board_id, user="bot", role="editor")
    note = (
        await api.ok(
            "dashboard_add_block",
            people["alice"],
            dashboard_id=board_id,
            type="markdown",
            config={"text": "a"},
        )
    )["block"]
    agents = AgentSessions(api.ws, load_registry())
    session = agents.get(api.ws.users.find("bot"), "mcp-quiet")
    await session.run("block_open", {"dashboard_id": board_id, "block_id": note["id"]})
    await agents.reap()  # calling recently: it stays, with its lock
    assert [s["kind"] for s in await _presence(api, people["alice"], board_id)] == ["agent"]
    session.last_active -= PRESENCE_IDLE_S + 1
    await agents.reap()
    assert await _presence(api, people["alice"], board_id) == []
    await api.ok(
        "dashboard_update_block",
        people["alice"],
        dashboard_id=board_id,
        block_id=note["id"],
        config={"text": "b"},
    )
    # Its next call brings it back, in the same working board.
    await session.run("dashboard_get", {})
    assert [s["user"]["name"] for s in await _presence(api, people["alice"], board_id)] == ["bot"]
    await agents.close()
    assert await _presence(api, people["alice"], board_id) == []
