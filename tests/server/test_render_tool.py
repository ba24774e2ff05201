"""`dashboard_render` over HTTP, against a real server: what an agent reads to look at a board."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import ToolClient
from tests.drawn_board import CHART_TITLE, METRIC_NAME, build_drawn_board, has_chart_drawing
from tests.server.conftest import Api
from tests.server.mcp_clients import over_http


def owned_by(api: Api, name: str) -> tuple[ToolClient, str]:
    """A user `name` calling tools on the server's workspace, and its token."""
    user, token = api.ws.users.create(name)
    return ToolClient(api.ws, user), token


async def test_a_viewer_reads_the_board_and_one_block_as_text(api: Api) -> None:
    owner, _ = owned_by(api, "olga")
    built = build_drawn_board(owner)
    _viewer, token = owned_by(api, "vic")
    owner("dashboard_grant", dashboard_id=built.board, user="vic", role="viewer")

    whole = await api.ok("dashboard_render", token, dashboard_id=built.board, width=100)
    assert whole["title"] == "Sales" and "block" not in whole
    assert CHART_TITLE in whole["text"] and METRIC_NAME in whole["text"]
    assert has_chart_drawing(whole["text"]) and "\x1b[" not in whole["text"]
    assert max(len(line) for line in whole["text"].splitlines()) <= 100

    one = await api.ok(
        "dashboard_render", token, dashboard_id=built.board, block_id=built.chart, width=50, height=15
    )
    assert one["block"] == {"id": built.chart, "name": "trend", "type": "chart"}
    assert CHART_TITLE in one["text"] and METRIC_NAME not in one["text"]
    assert len(one["text"].splitlines()) <= 15 and max(map(len, one["text"].splitlines())) <= 50

    coloured = await api.ok(
        "dashboard_render", token, dashboard_id=built.board, block_id=METRIC_NAME, ansi=True
    )
    assert "\x1b[" in coloured["text"]


async def test_the_tool_is_listed_read_only_for_viewers_with_its_bounds(api: Api) -> None:
    _user, token = owned_by(api, "lister")
    status, body = await api.request("GET", "/api/v1/tools", token)
    assert status == 200
    [tool] = [t for t in body["tools"] if t["name"] == "dashboard_render"]
    assert tool["role"] == "viewer" and tool["readOnly"] is True
    properties = tool["inputSchema"]["properties"]
    assert properties["width"]["minimum"] == 20 and properties["width"]["maximum"] == 400
    assert properties["height"]["anyOf"][0]["maximum"] == 600


@pytest.mark.parametrize(
    ("arguments", "status", "code", "field"),
    [
        ({"width": 10}, 400, "invalid_request", "width"),
        ({"width": 401}, 400, "invalid_request", "width"),
        ({"height": 0}, 400, "invalid_request", "height"),
        ({"width": "wide"}, 400, "invalid_request", "width"),
        ({"colour": True}, 400, "invalid_request", "colour"),
        ({"block_id": "nope"}, 404, "not_found", None),
        ({"dashboard_id": "dash_000000000000"}, 404, "not_found", None),
    ],
    ids=["narrow", "too-wide", "flat", "not-a-number", "unknown-field", "unknown-block", "unknown-board"],
)
async def test_bad_arguments_are_refused_with_the_contract_shape(
    api: Api, arguments: dict[str, Any], status: int, code: str, field: str | None
) -> None:
    owner, token = owned_by(api, "olga")
    built = build_drawn_board(owner)
    got, body = await api.call("dashboard_render", token, **{"dashboard_id": built.board, **arguments})
    assert (got, body["success"], body["error"]) == (status, False, code), body
    assert body["message"]
    if field is not None:
        assert field in body["message"] or body.get("field") == field, body


async def test_another_boards_block_is_not_found_and_nothing_of_it_is_drawn(api: Api) -> None:
    owner, token = owned_by(api, "olga")
    mine = build_drawn_board(owner, title="Mine")
    theirs = build_drawn_board(owner, title="Theirs")
    got, body = await api.call("dashboard_render", token, dashboard_id=mine.board, block_id=theirs.chart)
    assert (got, body["error"]) == (404, "not_found")
    assert "text" not in body
    _stranger, stranger = owned_by(api, "sam")
    got, body = await api.call("dashboard_render", stranger, dashboard_id=mine.board)
    assert (got, body["error"]) == (403, "forbidden")


async def test_an_agent_over_mcp_looks_at_the_chart_it_just_made(api: Api) -> None:
    owner = api.ws.users.local()
    _bot, token = api.ws.users.create("bot", "agent", created_by=owner.id)
    async with over_http(api.base, token) as agent:
        # In its own conversation: no board named anywhere.
        await agent.call("catalog_push", name="sales", rows=[{"day": d, "amount": d % 7} for d in range(30)])
        await agent.call(
            "dashboard_add_block",
            type="chart",
            name="sales_chart",
            config={"source": "sales", "kind": "bar", "x": "day", "y": "amount", "title": "Sales by day"},
        )
        drawn = await agent.call("dashboard_render", block_id="sales_chart", width=70, height=14)
        refused = await agent.refused("dashboard_render", block_id="sales_chart", width=1000)
    assert "Sales by day" in drawn["text"] and "\x1b[" not in drawn["text"]
    assert any(c in drawn["text"] for c in "▁▂▃▄▅▆▇█")  # the bars
    assert refused["error"] == "invalid_request" and "width" in json.dumps(refused)
