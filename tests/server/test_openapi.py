"""The OpenAPI 3.1 document: valid, complete, generated from the routes and the tool registry.

What each tool declared at registration (summary, agent description, example,
role, read-only, destructive, idempotent, what it refuses beyond its schema)
is what the document says; links join an answer's id to the operations that
take it. `test_openapi_schemathesis.py` holds the document to the live server.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from openapi_spec_validator import validate

from ballast_server.app import create_app
from ballast_server.openapi import OPENAPI_PATH, build_openapi
from ballast_server.runner import start_server
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import load_registry
from tests.server.conftest import Api

# -- the document itself ----------------------------------------------------------


async def test_document_is_valid_openapi_3_1_and_served_without_auth(api: Api) -> None:
    status, document = await api.request("GET", OPENAPI_PATH)
    assert status == 200
    assert document["openapi"].startswith("3.1")
    validate(document)  # openapi-spec-validator: the 3.1 schema and its JSON Schema dialect
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert document["security"] == [{"bearer": []}]


async def test_document_lists_every_route_and_every_tool(api: Api, tmp_path: Path) -> None:
    _status, document = await api.request("GET", OPENAPI_PATH)
    paths = document["paths"]
    registry = load_registry()
    for name in registry.names():
        operation = paths[f"/api/v1/tools/{name}"]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        # The body is the tool's own pydantic schema, written once under components.
        ref = schema["$ref"].removeprefix("#/components/schemas/")
        assert (
            document["components"]["schemas"][ref]["properties"]
            == (registry.get(name).args.model_json_schema()["properties"])
        )
        assert {"200", "400", "401", "403", "404", "500"} <= set(operation["responses"])
    # Every route the app has (HEAD twins aside), whoever added it.
    with Workspace(tmp_path / "other") as ws:
        app = create_app(ws)
        for route in app.router.routes():
            if route.method in ("HEAD", "*"):
                continue
            info = route.resource.get_info() if route.resource else {}
            path = info.get("path") or info.get("formatter") or ""
            if path == "/api/v1/tools/{name}":
                continue  # the tool door: one path per tool, above, with that tool's own body
            assert route.method.lower() in paths.get(path, {}), f"{route.method} {path} is not documented"


async def test_what_each_tool_declared_is_what_the_document_says(api: Api) -> None:
    _status, document = await api.request("GET", OPENAPI_PATH)
    registry = load_registry()
    for tool in registry.tools():
        operation = document["paths"][f"/api/v1/tools/{tool.name}"]["post"]
        assert operation["summary"] == tool.summary
        assert operation["description"] == (tool.agent or tool.summary)
        assert operation["x-ballast-tool"] == {
            "role": tool.role if isinstance(tool.role, str) else sorted(tool.roles()),
            "readOnly": not tool.writes,
            "destructive": tool.destructive,
            "idempotent": tool.idempotent,
        }
        body = operation["requestBody"]
        assert body["content"]["application/json"]["example"] == tool.example
        # A tool with required arguments says its body is required (an empty one answers 400).
        assert body["required"] == bool(tool.args.model_json_schema().get("required"))
        assert operation.get("x-ballast-refuses", "") == tool.refuses
    # The document's enums are the registry's: a block type the tools take is one the document lists.
    add_block = document["components"]["schemas"]["AddBlockArgs"]["properties"]["type"]
    assert "param-enum" in add_block["enum"]


async def test_links_join_an_answers_id_to_the_operations_that_take_it(api: Api) -> None:
    _status, document = await api.request("GET", OPENAPI_PATH)
    paths = document["paths"]
    operation_ids = {op["operationId"] for methods in paths.values() for op in methods.values()}
    create = paths["/api/v1/tools/dashboard_create"]["post"]["responses"]["200"]["links"]
    assert create["tool_dashboard_get"] == {
        "operationId": "tool_dashboard_get",
        "requestBody": {"dashboard_id": "$response.body#/dashboard/id"},
    }
    # The seed routes take the same id in their path.
    assert create["dashboard_get_refresh"]["parameters"] == {"path.id": "$response.body#/dashboard/id"}
    add_block = paths["/api/v1/tools/dashboard_add_block"]["post"]["responses"]["200"]["links"]
    assert add_block["tool_dashboard_runs"]["requestBody"] == {
        "dashboard_id": "$request.body#/dashboard_id",
        "block_id": "$response.body#/block/id",
    }
    publish = paths["/api/v1/tools/dashboard_publish"]["post"]["responses"]["200"]["links"]
    assert "public_dashboard" in publish and "tool_public_board_view" in publish
    for methods in paths.values():
        for operation in methods.values():
            for link in operation["responses"].get("200", {}).get("links", {}).values():
                assert link["operationId"] in operation_ids


async def test_the_websocket_and_mcp_say_what_they_accept(api: Api) -> None:
    _status, document = await api.request("GET", OPENAPI_PATH)
    ws = document["paths"]["/api/v1/ws"]["get"]
    headers = {p["name"]: p for p in ws["parameters"] if p["in"] == "header"}
    assert headers["Upgrade"]["schema"]["enum"] == ["websocket"]
    assert {"101", "400", "401", "403"} <= set(ws["responses"])
    # A plain GET is refused with the contract's error, as the document says.
    status, body = await api.request("GET", "/api/v1/ws", api.token("alice"))
    assert (status, body["error"]) == (400, "invalid_request")
    mcp = document["paths"]["/mcp"]
    for method in ("get", "post", "delete"):
        names = {p["name"] for p in mcp[method]["parameters"]}
        assert "Mcp-Session-Id" in names
        assert {"400", "404"} <= set(mcp[method]["responses"])
    # An Accept that cannot take MCP's answers is refused before the session is looked up.
    async with api.http.get(
        api.base + "/mcp",
        headers={
            "Authorization": f"Bearer {api.token('bob')}",
            "Mcp-Session-Id": "0" * 32,
            "Accept": "text/html",
        },
    ) as answer:
        assert answer.status == 406
        assert (await answer.json())["error"]["code"] == -32600


async def test_public_routes_need_no_token_and_errors_have_the_contract_shape(api: Api) -> None:
    _status, document = await api.request("GET", OPENAPI_PATH)
    assert document["paths"]["/api/v1/health"]["get"]["security"] == []
    assert document["paths"][OPENAPI_PATH]["get"]["security"] == []
    assert "security" not in document["paths"]["/api/v1/tools/dashboard_get"]["post"]
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["success", "error", "message"]
    assert set(error["properties"]["error"]["enum"]) >= {
        "invalid_request",
        "unauthorized",
        "password_required",
        "forbidden",
        "not_found",
        "conflict",
        "too_large",
        "locked",
        "rate_limited",
    }


def test_a_route_without_a_description_still_gets_an_entry(tmp_path: Path) -> None:
    from aiohttp import web

    async def undocumented(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    with Workspace(tmp_path / "ws") as ws:
        app = create_app(ws)
        app.router.add_get("/api/v1/things/{thing_id}", undocumented)
        document = build_openapi(app)
    operation = document["paths"]["/api/v1/things/{thing_id}"]["get"]
    assert operation["summary"] == "GET /api/v1/things/{thing_id}"
    assert operation["parameters"][0]["name"] == "thing_id"
    assert "default" in operation["responses"]
    validate(document)


# -- a live server for schemathesis ----------------------------------------------


class ThreadedServer:
    """A real server on its own event loop thread (schemathesis calls it synchronously)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-server", daemon=True)
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(start_server(ws, "127.0.0.1", 0), self.loop)
        self.runner, self.port = future.result(30)

    def stop(self) -> None:
        self.ws.executor.cancel()
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


async def test_inputs_fuzzing_found_answer_400_not_500(api: Api) -> None:
    """Inputs that once crashed a tool (500): each is a 400 `invalid_request` now."""
    token = api.token("alice")
    board = (await api.ok("dashboard_create", token, title="Found"))["dashboard"]["id"]
    refused = [
        # An empty object as a value: a struct without fields, which Parquet cannot store.
        ("catalog_push", {"name": "empty_struct", "rows": [{"a": {}}]}),
        ("catalog_push", {"name": "nested_empty", "rows": [{"a": {"b": {}}}]}),
        # Server-side import paths the file system refuses outright.
        ("catalog_import", {"name": "nul", "format": "csv", "path": "a\u0000b"}),
        ("catalog_import", {"name": "long", "format": "csv", "path": "a" * 5000}),
    ]
    for tool, arguments in refused:
        status, body = await api.call(tool, token, dashboard_id=board, **arguments)
        assert status == 400, (tool, body)
        assert body["error"] == "invalid_request"
    # A chart of a column against itself answers its series (it failed on a duplicate column).
    await api.ok("catalog_push", token, dashboard_id=board, name="nums", rows=[{"n": i} for i in range(10)])
    chart = await api.ok(
        "dashboard_add_block",
        token,
        dashboard_id=board,
        type="chart",
        config={"source": "nums", "kind": "line", "x": "n", "y": "n"},
    )
    for max_points in (2, 100):
        data = await api.ok(
            "dashboard_block_data",
            token,
            dashboard_id=board,
            block_id=chart["block"]["id"],
            max_points=max_points,
        )
        assert data["series"]["x"][:2] == data["series"]["y"]["n"][:2]


async def test_a_multipart_form_without_its_boundary_answers_400(api: Api) -> None:
    """Found by schemathesis: it answered 500 once; the password form of a published board."""
    token = api.token("alice")
    board = (await api.ok("dashboard_create", token, title="Shared"))["dashboard"]["id"]
    slug = (await api.ok("dashboard_publish", token, dashboard_id=board, password="s3cret"))["slug"]
    async with api.http.post(
        f"{api.base}/public/dashboards/{slug}",
        data=b"password=s3cret",
        headers={"Content-Type": "multipart/form-data"},
    ) as answer:
        assert answer.status == 400
        body = await answer.json()
    assert body["success"] is False and body["error"] == "invalid_request"
    assert "boundary" in body["message"]
    # A form that reads is still a form: a wrong password (without the page's token) is refused.
    async with api.http.post(f"{api.base}/public/dashboards/{slug}", data={"password": "no"}) as answer:
        assert answer.status == 403


async def test_a_whole_number_written_with_a_point_is_an_integer(api: Api) -> None:
    """JSON Schema's `integer` takes 2.0, so the tools do too (schemathesis sent one); 2.5 is refused."""
    token = api.token("alice")
    board = (await api.ok("dashboard_create", token, title="Numbers"))["dashboard"]["id"]
    assert (await api.ok("dashboard_versions", token, dashboard_id=board, limit=1.0))["versions"]
    status, body = await api.call("dashboard_versions", token, dashboard_id=board, limit=1.5)
    assert (status, body["error"], body["field"]) == (400, "invalid_request", "limit")
    # Past what SQLite stores: refused, not a 500.
    status, body = await api.call(
        "dashboard_version_diff", token, dashboard_id=board, version=1, other_version=2**70
    )
    assert (status, body["error"]) == (400, "invalid_request")
