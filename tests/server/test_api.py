"""The HTTP API against a real server: routes, the tool door, and every error code of the contract."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import ballast_tui
from ballast_tui.config import Settings
from ballast_tui.tools.registry import load_registry
from tests.server.conftest import Api, ServeFactory

SLOW_SQL = "select sum(hash(a.range)) as h from range(1000000000000) a"


def assert_error(status: int, body: dict[str, Any], expected_status: int, code: str) -> None:
    """The contract's error shape, exactly: success false, the code, a non-empty human message."""
    assert status == expected_status, body
    assert body["success"] is False
    assert body["error"] == code
    assert isinstance(body["message"], str)
    assert body["message"].strip()


async def make_board(api: Api, token: str, title: str = "Sales") -> str:
    body = await api.ok("dashboard_create", token, title=title)
    return str(body["dashboard"]["id"])


async def add_sql_block(api: Api, token: str, board: str, sql: str, name: str = "q") -> dict[str, Any]:
    body = await api.ok(
        "dashboard_add_block", token, dashboard_id=board, type="sql", name=name, config={"sql": sql}
    )
    return dict(body["block"])


# -- public and listing routes -------------------------------------------------


async def test_health_answers_without_auth(api: Api) -> None:
    status, body = await api.request("GET", "/api/v1/health")
    assert status == 200
    assert body == {"success": True, "version": ballast_tui.__version__}


async def test_tools_listed_with_a_strict_json_schema_each(api: Api) -> None:
    status, body = await api.request("GET", "/api/v1/tools", api.token("alice"))
    assert status == 200 and body["success"] is True
    tools = {tool["name"]: tool for tool in body["tools"]}
    assert {"dashboard_create", "dashboard_get", "dashboard_update_block", "block_open"} <= set(tools)
    for name, tool in tools.items():
        assert tool["description"], name
        schema = tool["inputSchema"]
        assert schema["type"] == "object", name
        assert schema.get("additionalProperties") is False, name


async def test_tools_listing_requires_a_token(api: Api) -> None:
    status, body = await api.request("GET", "/api/v1/tools")
    assert_error(status, body, 401, "unauthorized")


# -- a whole flow over HTTP ----------------------------------------------------


async def test_full_flow_create_push_add_sql_read_data(api: Api) -> None:
    token = api.token("alice")
    board = await make_board(api, token)
    pushed = await api.ok(
        "catalog_push",
        token,
        dashboard_id=board,
        name="orders",
        rows=[
            {"day": "2024-01-01", "amount": 10},
            {"day": "2024-01-01", "amount": 5},
            {"day": "2024-01-02", "amount": 7},
        ],
    )
    assert pushed["source"]["row_count"] == 3
    block = await add_sql_block(
        api,
        token,
        board,
        "select cast(day as date) as day, sum(amount) as total from orders group by 1 order by 1",
        name="daily",
    )
    assert block["state"] == "success", block
    data = await api.ok("dashboard_block_data", token, dashboard_id=board, block_id=block["id"])
    assert data["row_count"] == 2
    assert [c["name"] for c in data["columns"]] == ["day", "total"]
    # DATE values travel as ISO strings.
    assert [(row["day"], row["total"]) for row in data["rows"]] == [("2024-01-01", 15), ("2024-01-02", 7)]
    got = await api.ok("dashboard_get", token, dashboard_id=board)
    assert [b["name"] for b in got["dashboard"]["blocks"]] == ["daily"]


async def test_empty_body_means_no_arguments(api: Api) -> None:
    token = api.token("alice")
    status, body = await api.request("POST", "/api/v1/tools/dashboard_list", token, data=b"")
    assert status == 200, body
    assert body == {"success": True, "dashboards": []}


async def test_session_and_client_headers_reach_the_tool(api: Api) -> None:
    token = api.token("alice")
    board = await make_board(api, token)
    block = await add_sql_block(api, token, board, "select 1 as one")
    headers = {"X-Ballast-Session": "tui-1", "X-Ballast-Client": "tui"}
    path = "/api/v1/tools/block_open"
    args = {"dashboard_id": board, "block_id": block["id"]}
    status, body = await api.request("POST", path, token, json=args, headers=headers)
    assert status == 200, body
    assert body["lock"]["session"] == "tui-1"
    presence = await api.ok("dashboard_presence", token, dashboard_id=board)
    assert [(s["session"], s["client"]) for s in presence["sessions"]] == [("tui-1", "tui")]


# -- 400 invalid_request -------------------------------------------------------


async def test_400_malformed_json(api: Api) -> None:
    status, body = await api.request(
        "POST", "/api/v1/tools/dashboard_create", api.token("alice"), data=b'{"title": "x",'
    )
    assert_error(status, body, 400, "invalid_request")
    assert "JSON" in body["message"]


async def test_400_body_not_an_object(api: Api) -> None:
    status, body = await api.request("POST", "/api/v1/tools/dashboard_create", api.token("alice"), json=["x"])
    assert_error(status, body, 400, "invalid_request")


async def test_400_unknown_field(api: Api) -> None:
    status, body = await api.call("dashboard_create", api.token("alice"), title="x", colour="red")
    assert_error(status, body, 400, "invalid_request")
    assert "colour" in body["message"]


async def test_400_missing_field(api: Api) -> None:
    status, body = await api.call("dashboard_create", api.token("alice"))
    assert_error(status, body, 400, "invalid_request")
    assert "title" in body["message"]


async def test_400_bad_value(api: Api) -> None:
    token = api.token("alice")
    board = await make_board(api, token)
    status, body = await api.call(
        "dashboard_set_visibility", token, dashboard_id=board, visibility="everyone"
    )
    assert_error(status, body, 400, "invalid_request")
    status, body = await api.call("dashboard_create", token, title=42)
    assert_error(status, body, 400, "invalid_request")


async def test_400_bad_session_header(api: Api) -> None:
    token = api.token("alice")
    headers = {"X-Ballast-Session": "has spaces"}
    status, body = await api.request("POST", "/api/v1/tools/dashboard_list", token, json={}, headers=headers)
    assert_error(status, body, 400, "invalid_request")


# -- 401 unauthorized ----------------------------------------------------------


async def test_401_without_token(api: Api) -> None:
    status, body = await api.call("dashboard_list", None)
    assert_error(status, body, 401, "unauthorized")


async def test_401_with_bad_token(api: Api) -> None:
    api.token("alice")
    for token in ("nonsense", "blt_000000000000_wrongsecret"):
        status, body = await api.call("dashboard_list", token)
        assert_error(status, body, 401, "unauthorized")


async def test_401_with_wrong_scheme(api: Api) -> None:
    token = api.token("alice")
    headers = {"Authorization": f"Basic {token}"}
    status, body = await api.request("POST", "/api/v1/tools/dashboard_list", json={}, headers=headers)
    assert_error(status, body, 401, "unauthorized")


# -- 403 forbidden -------------------------------------------------------------


async def test_403_viewer_may_not_update_a_block(api: Api) -> None:
    owner, viewer = api.token("alice"), api.token("bob")
    board = await make_board(api, owner)
    block = await add_sql_block(api, owner, board, "select 1 as one")
    await api.ok("dashboard_grant", owner, dashboard_id=board, user="bob", role="viewer")
    await api.ok("dashboard_get", viewer, dashboard_id=board)  # a viewer may look
    status, body = await api.call(
        "dashboard_update_block", viewer, dashboard_id=board, block_id=block["id"], config={"sql": "select 2"}
    )
    assert_error(status, body, 403, "forbidden")


async def test_403_stranger_may_not_see_a_board(api: Api) -> None:
    owner, stranger = api.token("alice"), api.token("mallory")
    board = await make_board(api, owner)
    status, body = await api.call("dashboard_get", stranger, dashboard_id=board)
    assert_error(status, body, 403, "forbidden")


# -- 404 not_found and 405 -----------------------------------------------------


async def test_404_unknown_tool(api: Api) -> None:
    status, body = await api.call("no_such_tool", api.token("alice"))
    assert_error(status, body, 404, "not_found")
    assert "no_such_tool" in body["message"]


async def test_404_unknown_board(api: Api) -> None:
    status, body = await api.call("dashboard_get", api.token("alice"), dashboard_id="dash_000000000000")
    assert_error(status, body, 404, "not_found")


async def test_404_unknown_route(api: Api) -> None:
    status, body = await api.request("GET", "/api/v1/nope", api.token("alice"))
    assert_error(status, body, 404, "not_found")
    assert "/api/v1/nope" in body["message"]


async def test_405_wrong_method_in_contract_shape(api: Api) -> None:
    status, body = await api.request("POST", "/api/v1/health", json={})
    assert_error(status, body, 405, "invalid_request")


# -- 409 conflict --------------------------------------------------------------


async def test_409_stale_version_on_update_block(api: Api) -> None:
    token = api.token("alice")
    board = await make_board(api, token)
    block = await add_sql_block(api, token, board, "select 1 as one")
    assert block["version"] == 1
    updated = await api.ok(
        "dashboard_update_block",
        token,
        dashboard_id=board,
        block_id=block["id"],
        config={"sql": "select 2 as two"},
        version=1,
    )
    assert updated["block"]["version"] == 2
    status, body = await api.call(
        "dashboard_update_block",
        token,
        dashboard_id=board,
        block_id=block["id"],
        config={"sql": "select 3 as three"},
        version=1,
    )
    assert_error(status, body, 409, "conflict")


# -- 413 too_large -------------------------------------------------------------


async def test_413_body_larger_than_max_body(serve: ServeFactory) -> None:
    api = await serve(Settings(max_body=1024))
    token = api.token("alice")
    status, body = await api.call("dashboard_create", token, title="x" * 2048)
    assert_error(status, body, 413, "too_large")
    assert "1024" in body["message"]
    # A body under the limit still works on the same server.
    await api.ok("dashboard_create", token, title="small")


# -- 423 locked ----------------------------------------------------------------


async def test_423_block_opened_by_another_session(api: Api) -> None:
    alice, bob = api.token("alice"), api.token("bob")
    board = await make_board(api, alice)
    block = await add_sql_block(api, alice, board, "select 1 as one")
    await api.ok("dashboard_grant", alice, dashboard_id=board, user="bob", role="editor")
    status, body = await api.call(
        "block_open", alice, session="sess-a", dashboard_id=board, block_id=block["id"]
    )
    assert status == 200, body
    status, body = await api.call(
        "dashboard_update_block",
        bob,
        session="sess-b",
        dashboard_id=board,
        block_id=block["id"],
        config={"sql": "select 2 as two"},
    )
    assert_error(status, body, 423, "locked")
    assert "alice" in body["message"]
    # The holder's own session may still edit.
    status, body = await api.call(
        "dashboard_update_block",
        alice,
        session="sess-a",
        dashboard_id=board,
        block_id=block["id"],
        config={"sql": "select 3 as three"},
    )
    assert status == 200, body


# -- 500 internal --------------------------------------------------------------


async def test_500_unexpected_error_is_logged_not_leaked(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = api.token("alice")
    registry = load_registry()  # the very registry the server's app holds

    def explode(*_args: object) -> dict[str, Any]:
        raise RuntimeError("secret detail /etc/passwd")

    monkeypatch.setattr(registry, "call", explode)
    with caplog.at_level(logging.ERROR, logger="ballast.server"):
        status, body = await api.call("dashboard_list", token)
    assert status == 500
    assert body == {"success": False, "error": "internal", "message": "internal error"}
    logged = [r for r in caplog.records if r.name == "ballast.server" and r.exc_info]
    assert logged
    assert "secret detail" in logged[0].getMessage() + str(logged[0].exc_info)


# -- access log ----------------------------------------------------------------


async def test_access_log_line_per_request(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    token = api.token("alice")
    with caplog.at_level(logging.INFO, logger="ballast.server.access"):
        await api.ok("dashboard_list", token)
        await api.request("GET", "/api/v1/health")
    records = [r for r in caplog.records if r.name == "ballast.server.access"]
    by_path = {r.__dict__["path"]: r.__dict__ for r in records}
    tool = by_path["/api/v1/tools/dashboard_list"]
    assert tool["method"] == "POST" and tool["status"] == 200 and tool["user_id"].startswith("usr_")
    assert isinstance(tool["duration_ms"], float)
    assert by_path["/api/v1/health"]["user_id"] is None


# -- a runaway query does not stall the server ---------------------------------


async def test_runaway_query_does_not_stall_other_requests(serve: ServeFactory) -> None:
    api = await serve(Settings(query_timeout_s=3))
    token = api.token("alice")
    board = await make_board(api, token)
    # Adding the block runs it at once: it hits the time limit, which proves it really runs > 3 s.
    block = await add_sql_block(api, token, board, SLOW_SQL, name="slow")
    assert block["state"] == "error"
    assert "time limit" in block["error"]

    started = time.perf_counter()
    run = asyncio.create_task(
        api.call("dashboard_run_block", token, dashboard_id=board, block_id=block["id"])
    )
    await asyncio.sleep(0.5)
    assert not run.done()
    for _ in range(3):
        t0 = time.perf_counter()
        status, body = await api.request("GET", "/api/v1/health")
        assert status == 200 and body["success"] is True
        assert time.perf_counter() - t0 < 0.5
        t0 = time.perf_counter()
        got = await api.ok("dashboard_get", token, dashboard_id=board)
        assert got["dashboard"]["id"] == board
        assert time.perf_counter() - t0 < 0.5
        assert not run.done()
    status, body = await run
    elapsed = time.perf_counter() - started
    assert elapsed >= 2.9
    assert status == 200, body
    assert body["run"]["status"] == "error"
    assert "time limit" in body["run"]["error"]


# -- run_server: one line once listening, graceful stop on a signal -------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_run_server_announces_itself_and_stops_on_signal(tmp_path: Path, sig: signal.Signals) -> None:
    script = (
        "import sys\n"
        "from ballast_tui.engine.workspace import Workspace\n"
        "from server.runner import run_server\n"
        "with Workspace(sys.argv[1]) as ws:\n"
        "    run_server(ws, '127.0.0.1', 0)\n"
        "print('stopped', flush=True)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, str(tmp_path / "ws"), stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        match = re.fullmatch(r"Ballast serving http://127\.0\.0\.1:(\d+)\n", line)
        assert match, line
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{match[1]}/api/v1/health") as response,
        ):
            assert response.status == 200
        proc.send_signal(sig)
        rest = await asyncio.wait_for(proc.stdout.read(), 20)
        assert await proc.wait() == 0
        assert rest.decode() == "stopped\n"
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_another_user_cannot_borrow_a_session_id_to_edit_a_locked_block(api: Any) -> None:
    owner = api.token("olga")
    board = (await api.ok("dashboard_create", owner, title="Shared"))["dashboard"]["id"]
    added = await api.ok(
        "dashboard_add_block", owner, dashboard_id=board, type="markdown", config={"text": "hi"}
    )
    block_id = added["block"]["id"]
    mallory = api.token("mallory")
    await api.ok("dashboard_grant", owner, dashboard_id=board, user="mallory", role="editor")
    status, _ = await api.call("block_open", owner, session="tui-1", dashboard_id=board, block_id=block_id)
    assert status == 200
    status, body = await api.call(
        "dashboard_update_block",
        mallory,
        session="tui-1",
        dashboard_id=board,
        block_id=block_id,
        config={"text": "changed"},
    )
    assert (status, body["error"]) == (423, "locked")
    assert "olga" in body["message"]
