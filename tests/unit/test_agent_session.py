"""An agent's session, in process: its own conversation, compact answers, explained graphs,
actionable refusals, and an audit that names the agent and the person behind it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ballast_tui.agent_session import AGENT_ROWS, AgentSession
from ballast_tui.backend import LocalBackend
from ballast_tui.engine.errors import InvalidRequest, NotFound, ToolError
from ballast_tui.engine.users import User
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import load_registry
from tests.conftest import ToolClient


@pytest.fixture
def agent_user(ws: Workspace, owner: User) -> User:
    """An agent created by the workspace's owner, as `ballast user add bot --agent` does."""
    return ws.users.create("bot", "agent", created_by=owner.id)[0]


@pytest.fixture
async def agent(ws: Workspace, agent_user: User) -> Any:
    session = AgentSession(LocalBackend(ws, agent_user, client="mcp", session_id="mcp-unit"))
    yield session
    await session.close()


def test_every_registry_tool_has_a_description_written_for_a_model() -> None:
    registry = load_registry()
    for tool in registry.tools():
        text = tool.for_agents
        assert tool.agent and "Returns" in tool.agent, tool.name
        example = re.search(r"^Example: (\{.*\})$", text, re.MULTILINE)
        assert example, f"{tool.name} has no one-line JSON example"
        arguments = json.loads(example.group(1))
        if tool.board_argument and tool.board_argument not in arguments:
            arguments[tool.board_argument] = "dash_k3j9x0a1b2c3"  # an agent's working board
        registry.parse(tool.name, arguments)  # the example is a valid call


async def test_calls_without_a_board_work_in_the_sessions_own_conversation(
    agent: AgentSession, ws: Workspace
) -> None:
    pushed = await agent.run("catalog_push", {"name": "sales", "rows": [{"amount": 1}, {"amount": 2}]})
    assert pushed["source"]["row_count"] == 2
    board = (await agent.run("dashboard_get", {}))["dashboard"]
    assert board["kind"] == "conversation" and board["title"] == "Conversation with bot"
    assert agent.conversation_id == agent.board_id == board["id"]
    # The message log goes to the same conversation, and the agent is present in it as an agent.
    await agent.run("conversation_add_message", {"role": "user", "content": "show me sales"})
    board = (await agent.run("dashboard_get", {}))["dashboard"]
    assert [m["content"] for m in board["messages"]] == ["show me sales"]
    [present] = ws.sessions.presence(board["id"])
    assert (present["user"]["name"], present["kind"], present["client"]) == ("bot", "agent", "mcp")


async def test_naming_or_creating_a_board_makes_it_the_working_board(
    agent: AgentSession, call: ToolClient, board: str, ws: Workspace
) -> None:
    call("dashboard_grant", dashboard_id=board, user="bot", role="editor")
    await agent.run("dashboard_get", {"dashboard_id": board})
    added = await agent.run("dashboard_add_block", {"type": "markdown", "config": {"text": "hi"}})
    assert added["block"]["name"] == "markdown_1"
    assert [b["name"] for b in call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]] == [
        "markdown_1"
    ]
    assert [s["user"]["name"] for s in ws.sessions.presence(board)] == ["bot"]
    created = (await agent.run("dashboard_create", {"title": "Agent's own"}))["dashboard"]["id"]
    assert agent.board_id == created
    # It left the first board's presence for the new one.
    assert ws.sessions.presence(board) == []
    # Owner-only tools never fall back on the working board.
    with pytest.raises(InvalidRequest) as refused:
        await agent.run("dashboard_delete", {})
    assert refused.value.extra["field"] == "dashboard_id"
    assert load_registry().get("dashboard_delete").explicit_board


async def test_answers_are_compact_rows_capped_with_their_counts(agent: AgentSession) -> None:
    await agent.run("catalog_push", {"name": "numbers", "rows": [{"n": i} for i in range(300)]})
    block = (await agent.run("dashboard_add_block", {"type": "sql", "config": {"sql": "FROM numbers"}}))[
        "block"
    ]
    run = (await agent.run("dashboard_run_block", {"block_id": block["id"]}))["run"]
    assert len(run["rows"]) == AGENT_ROWS and run["row_count"] == 300
    assert run["rows_shown"] == AGENT_ROWS and "dashboard_block_data" in run["rows_note"]
    data = await agent.run("dashboard_block_data", {"block_id": block["id"]})
    assert len(data["rows"]) == AGENT_ROWS and data["row_count"] == 300
    # A page of the agent's own size is what it asked for.
    page = await agent.run("dashboard_block_data", {"block_id": block["id"], "limit": 100, "offset": 250})
    assert [r["n"] for r in page["rows"]] == list(range(250, 300)) and "rows_shown" not in page
    # A layout's rows are not data: never cut.
    shown = await agent.run("dashboard_set_displayed", {"block_id": block["id"], "displayed": True})
    assert shown["layout"]["rows"][0]["blocks"] == [block["id"]]


async def test_overrides_answer_without_storing_anything(agent: AgentSession) -> None:
    await agent.run("catalog_push", {"name": "sales", "rows": [{"region": r, "amount": 1} for r in "NNS"]})
    await agent.run(
        "dashboard_add_block",
        {"type": "param-enum", "name": "region", "config": {"options": ["N", "S"]}},
    )
    total = (
        await agent.run(
            "dashboard_add_block",
            {
                "type": "sql",
                "name": "total",
                "config": {
                    "sql": "SELECT count(*) AS n FROM sales WHERE region = $region",
                    "inputs": ["region"],
                },
            },
        )
    )["block"]
    before = await agent.run("dashboard_runs", {"block_id": "total"})
    tried = (
        await agent.run("dashboard_run_block", {"block_id": "total", "filter_overrides": {"region": "S"}})
    )["run"]
    assert (tried["id"], tried["persisted"], tried["rows"]) == (None, False, [{"n": 1}])
    assert await agent.run("dashboard_runs", {"block_id": "total"}) == before
    assert (await agent.run("dashboard_block_data", {"block_id": total["id"]}))["rows"] == [{"n": 2}]
    board = (await agent.run("dashboard_get", {}))["dashboard"]
    assert next(b for b in board["blocks"] if b["name"] == "region")["value"] == "N"


def test_dashboard_get_explains_what_each_displayed_block_depends_on(call: ToolClient, board: str) -> None:
    call(
        "catalog_push", dashboard_id=board, name="sales", rows=[{"day": "2026-01-01", "region": "N", "x": 1}]
    )
    call("catalog_push", dashboard_id=board, name="targets", rows=[{"t": 5}])

    def add(block_type: str, name: str, config: dict[str, Any], shown: bool = True) -> None:
        block = call("dashboard_add_block", dashboard_id=board, type=block_type, name=name, config=config)
        if shown:
            call("dashboard_set_displayed", dashboard_id=board, block_id=block["block"]["id"], displayed=True)

    add("param-enum", "region", {"options": ["N", "S"]})
    add(
        "sql",
        "daily",
        {
            "sql": "SELECT day, sum(x) AS x FROM sales WHERE region = $region GROUP BY day",
            "inputs": ["region"],
        },
        shown=False,
    )
    add("chart", "trend", {"source": "daily", "kind": "line", "x": "day", "y": "x"})
    add("metric", "goal", {"source": "targets", "column": "t"})
    explain = call("dashboard_get", dashboard_id=board)["dashboard"]["explain"]
    by_name = {d["name"]: d for d in explain["displayed"]}
    assert by_name["trend"]["reads"] == ["daily"]
    assert by_name["trend"]["depends_on"] == {
        "blocks": ["daily"],
        "controls": ["region"],
        "sources": ["sales"],
    }
    assert by_name["goal"]["depends_on"] == {"blocks": [], "controls": [], "sources": ["targets"]}
    assert explain["hidden"] == ["daily"]
    # What a change reaches: the control and the source reach the chart, not the metric.
    assert explain["affects"]["region"] == ["region", "trend"]
    assert explain["affects"]["sales"] == ["trend"]
    assert explain["affects"]["daily"] == ["trend"]
    assert explain["affects"]["targets"] == ["goal"]
    assert "trend (chart) <- daily; through them also: region, sales [source]" in explain["lines"]


@pytest.mark.parametrize(
    ("tool", "arguments", "field", "accepted"),
    [
        (
            "dashboard_add_block",
            {"type": "markdown", "config": {"text": "x"}, "colour": "red"},
            "colour",
            ["dashboard_id", "type", "name", "config"],
        ),
        (
            "dashboard_add_block",
            {"type": "chart", "config": {"source": "s", "kind": "pie", "x": "a", "y": "b"}},
            "config.kind",
            ["line", "bar", "scatter", "area", "histogram"],
        ),
        (
            "dashboard_add_block",
            {"type": "pie", "config": {}},
            "type",
            ["sql", "chart", "table", "metric", "markdown", "filter-daterange", "param-enum"],
        ),
        ("dashboard_set_refresh", {"refreshInterval": 60}, "refreshInterval", [300, 900, 3600, 86400]),
        ("catalog_push", {"name": "s", "rows": [], "mode": "upsert"}, "mode", ["replace", "append"]),
    ],
)
def test_refusals_name_the_field_why_and_what_is_accepted(
    call: ToolClient, board: str, tool: str, arguments: dict[str, Any], field: str, accepted: list[Any]
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        call(tool, dashboard_id=board, **arguments)
    assert refused.value.extra["field"] == field
    assert refused.value.extra["accepted"] == accepted
    assert field.split(".")[-1] in refused.value.message


def test_unknown_names_are_refused_with_the_names_there_are(call: ToolClient, board: str) -> None:
    call("catalog_push", dashboard_id=board, name="sales", rows=[{"x": 1}])
    call("dashboard_add_block", dashboard_id=board, type="markdown", name="note", config={"text": "x"})
    with pytest.raises(NotFound) as missing:
        call("dashboard_run_block", dashboard_id=board, block_id="nope")
    assert missing.value.extra["accepted"] == ["note"] and "note" in missing.value.message
    with pytest.raises(InvalidRequest) as unknown:
        call("dashboard_add_block", dashboard_id=board, type="sql", config={"sql": "FROM sale"})
    assert unknown.value.extra["accepted"] == ["note", "sales"]
    assert "it has: note, sales" in unknown.value.message


async def test_the_audit_names_the_agent_and_the_person_who_created_it(
    agent: AgentSession, owner: User, ws: Workspace, call: ToolClient
) -> None:
    await agent.run("dashboard_add_block", {"type": "markdown", "name": "note", "config": {"text": "x"}})
    events = (await agent.run("dashboard_audit", {}))["events"]
    added = next(e for e in events if e["action"] == "block_add")
    assert (added["actor_name"], added["actor_kind"]) == ("bot", "agent")
    assert added["actor_created_by"] == {"id": owner.id, "name": owner.name}
    assert added["details"]["via"] == "mcp"
    # A person's own changes name only them.
    board = call("dashboard_create", title="mine")["dashboard"]["id"]
    [created] = call("dashboard_audit", dashboard_id=board)["events"]
    assert (created["actor_kind"], created["actor_created_by"]) == ("human", None)
    assert "via" not in created["details"]


async def test_a_saved_conversation_records_where_it_came_from(agent: AgentSession) -> None:
    await agent.run("catalog_push", {"name": "sales", "rows": [{"x": 1}]})
    block = (await agent.run("dashboard_add_block", {"type": "table", "config": {"source": "sales"}}))[
        "block"
    ]
    await agent.run("dashboard_set_displayed", {"block_id": block["id"], "displayed": True})
    saved = (await agent.run("dashboard_save_conversation", {"title": "Sales"}))["dashboard"]
    assert saved["origin"]["action"] == "save"
    assert saved["origin"]["source_id"] == agent.conversation_id
    assert saved["origin"]["source_title"] == "Conversation with bot"
    # The conversation says what it became; the working board stays the conversation.
    conversation = (await agent.run("dashboard_get", {}))["dashboard"]
    assert conversation["saved_as"] == saved["id"] and conversation["origin"] is None
    dashboard = (await agent.run("dashboard_get", {"dashboard_id": saved["id"]}))["dashboard"]
    assert dashboard["origin"] == saved["origin"] and dashboard["kind"] == "dashboard"
    assert [b["name"] for b in dashboard["blocks"]] == ["table_1"]
    assert dashboard["layout"]["rows"][0]["blocks"] == [dashboard["blocks"][0]["id"]]
    sources = (await agent.run("catalog_list", {}))["sources"]
    assert [s["name"] for s in sources if s["kind"] == "push"] == ["sales"]


async def test_an_agents_lock_refuses_a_person_and_names_the_agent(
    agent: AgentSession, call: ToolClient, board: str, make_client: Any
) -> None:
    call("dashboard_grant", dashboard_id=board, user="bot", role="editor")
    note = call("dashboard_add_block", dashboard_id=board, type="markdown", name="note", config={"text": "x"})
    await agent.run("block_open", {"dashboard_id": board, "block_id": "note"})
    person = ToolClient(call.ws, call.user, "tui-person")
    with pytest.raises(ToolError) as refused:
        person(
            "dashboard_update_block", dashboard_id=board, block_id=note["block"]["id"], config={"text": "y"}
        )
    assert refused.value.code == "locked" and "bot" in refused.value.message
    assert refused.value.extra["lock"]["holder"] == {
        "id": agent.backend.session.user_id,
        "name": "bot",
        "kind": "agent",
    }  # type: ignore[attr-defined]
    # Leaving (the MCP session ends) lets the person in.
    await agent.close()
    person("dashboard_update_block", dashboard_id=board, block_id=note["block"]["id"], config={"text": "y"})


async def test_a_person_working_through_mcp_is_present_as_an_agent(
    ws: Workspace, owner: User, board: str
) -> None:
    """`ballast mcp` without a token acts as the local person; their session is still an agent's."""
    session = AgentSession(LocalBackend(ws, owner, client="mcp", session_id="mcp-person"))
    await session.run("dashboard_get", {"dashboard_id": board})
    [present] = ws.sessions.presence(board)
    assert (present["kind"], present["user"]["kind"], present["client"]) == ("agent", "human", "mcp")
    await session.close()
    assert ws.sessions.presence(board) == []
