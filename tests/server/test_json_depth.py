"""JSON nested deeper than `MAX_JSON_DEPTH` is a 400 `invalid_request` at every door, found before
parsing; the server answers it fast and keeps serving. Real server on a free port, real clients."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import pytest

from ballast_server.jsonio import MAX_JSON_DEPTH, too_deep
from tests.server.conftest import Api
from tests.server.test_ws import connect, join, next_of

DEEP = 100_000
QUICK_S = 2.0


def nested(levels: int, inner: Any = 1) -> Any:
    """`inner` inside `levels` arrays."""
    for _ in range(levels):
        inner = [inner]
    return inner


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        (b"{}", False),
        (b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, False),
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), True),
        (b'{"a":' * MAX_JSON_DEPTH + b"1" + b"}" * MAX_JSON_DEPTH, False),
        (b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1), True),
        (b'["' + b"[" * 1000 + b'"]', False),  # brackets in a string do not count
        (b'["\\"' + b"[" * 1000 + b'"]', False),  # nor after an escaped quote
        (b'["\\\\", ' + b"[" * 100 + b"]" * 100 + b"]", True),  # an escaped backslash ends no string
        (b'["]]]]", ' + b"[" * 70 + b"]" * 70 + b"]", True),  # closing brackets in a string do not count
        (b"[" + b"[1]," * 10_000 + b"[2]]", False),  # wide, not deep
        (b"[" * DEEP, True),
    ],
)
def test_depth_is_measured_over_the_bytes(text: bytes, deep: bool) -> None:
    assert too_deep(text) is deep
    if not deep and text.strip().endswith((b"]", b"}")):
        assert depth(json.loads(text)) <= MAX_JSON_DEPTH


async def board_of(api: Api, token: str) -> str:
    return str((await api.ok("dashboard_create", token, title="Deep"))["dashboard"]["id"])


async def test_a_body_nested_to_the_limit_is_accepted(api: Api) -> None:
    token = api.token("alice")
    board = await board_of(api, token)
    body = {
        "dashboard_id": board,
        "name": "deep",
        "rows": [{"v": nested(MAX_JSON_DEPTH - 3)}],
        "mode": "replace",
    }
    assert depth(body) == MAX_JSON_DEPTH
    status, answer = await api.request("POST", "/api/v1/tools/catalog_push", token, json=body)
    assert status == 200, answer
    assert answer["source"]["row_count"] == 1


async def test_a_body_one_level_past_the_limit_is_400(api: Api) -> None:
    token = api.token("alice")
    board = await board_of(api, token)
    body = {
        "dashboard_id": board,
        "name": "deep",
        "rows": [{"v": nested(MAX_JSON_DEPTH - 2)}],
        "mode": "replace",
    }
    assert depth(body) == MAX_JSON_DEPTH + 1
    status, answer = await api.request("POST", "/api/v1/tools/catalog_push", token, json=body)
    assert (status, answer["success"], answer["error"]) == (400, False, "invalid_request"), answer
    assert f"deeper than {MAX_JSON_DEPTH} levels" in answer["message"]
    assert (await api.call("catalog_list", token, dashboard_id=board))[1]["sources"] == []


@pytest.mark.parametrize(
    "body",
    [b"[" * DEEP + b"]" * DEEP, b'{"a":' * DEEP + b"1" + b"}" * DEEP, b"[" * DEEP],
    ids=["arrays", "objects", "unclosed"],
)
async def test_a_100000_deep_body_answers_400_quickly_and_the_server_keeps_serving(
    api: Api, body: bytes
) -> None:
    token = api.token("alice")
    started = time.perf_counter()
    status, answer = await api.request("POST", "/api/v1/tools/dashboard_create", token, data=body)
    assert time.perf_counter() - started < QUICK_S
    assert (status, answer) == (
        400,
        {
            "success": False,
            "error": "invalid_request",
            "message": f"the body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels",
        },
    )
    status, health = await api.request("GET", "/api/v1/health")
    assert status == 200 and health["success"] is True
    assert (await api.ok("dashboard_create", token, title="Still here"))["dashboard"]["title"] == "Still here"


async def test_the_public_route_refuses_a_deep_body(api: Api) -> None:
    status, answer = await api.request(
        "POST", "/api/v1/public/dashboards/no-such-slug", data=b'{"filter_overrides":' + b"[" * DEEP
    )
    assert (status, answer["error"]) == (400, "invalid_request"), answer


async def test_a_deep_filter_overrides_parameter_is_400(api: Api) -> None:
    token = api.token("alice")
    board = await board_of(api, token)
    add = {"dashboard_id": board, "type": "sql", "name": "t", "config": {"sql": "select 1 as x"}}
    block = await api.ok("dashboard_add_block", token, **add)
    # 1,100 levels: past what `json.loads` recurses through, within aiohttp's longest request line.
    deep = quote('{"a":' + "[" * 1100 + "]" * 1100 + "}")
    path = f"/api/v1/dashboards/{board}/blocks/{block['block']['id']}/data.json?filter_overrides={deep}"
    status, answer = await api.request("GET", path, token)
    assert (status, answer["error"]) == (400, "invalid_request"), answer
    assert "filter_overrides nests" in answer["message"]


async def test_mcp_over_http_refuses_a_deep_message(api: Api) -> None:
    token = api.token("agent")
    message = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":' + b"[" * DEEP + b"]" * DEEP + b"}"
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    status, answer = await api.request("POST", "/mcp", token, data=message, headers=headers)
    assert status == 400
    assert answer["error"]["code"] == -32700 and "deeper than" in answer["error"]["message"]
    status, _ = await api.request("GET", "/api/v1/health")
    assert status == 200


async def test_a_deep_websocket_message_is_answered_with_an_error_and_the_socket_stays_usable(
    api: Api,
) -> None:
    token = api.token("alice")
    board = await board_of(api, token)
    async with connect(api, token, "tui-deep") as socket:
        await socket.send_str('{"type": "join", "dashboard_id": ' + "[" * DEEP + "]" * DEEP + "}")
        error = await next_of(socket, "error")
        assert error["error"] == "invalid_request" and "a message nests" in error["message"]
        assert "request" not in error
        await socket.send_str("[1, 2]")  # valid JSON, not an object
        error = await next_of(socket, "error")
        assert error["error"] == "invalid_request" and "JSON object" in error["message"]
        await socket.send_json({"type": "heartbeat"})
        assert (await next_of(socket, "heartbeat"))["type"] == "heartbeat"
        assert (await join(socket, board))["dashboard_id"] == board
