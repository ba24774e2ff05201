"""The OpenAPI 3.1 document: valid, complete, and true of the live server (checked with schemathesis).

The schemathesis run drives a real server on a real port, authenticated as a
user who owns a seeded dashboard. Generated ids are swapped, half of the time,
for ids that exist (the board, its blocks, runs, a conversation, another user),
so tools get past "not found" and their real code runs. Every answer must be
documented (status, content type, body schema) and none may be a 5xx.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ballast_tui.config import Settings
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Context, load_registry
from server.app import create_app
from server.openapi import OPENAPI_PATH, build_openapi
from server.runner import start_server
from tests.server.conftest import Api

EXAMPLES = int(os.environ.get("BALLAST_FUZZ_EXAMPLES", "12"))
"""Examples per operation and generation mode (raise it locally for a deeper run)."""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Operations that take the seeded board (or its link) away from those fuzzed after them run last;
# the public page runs first, while the board is still published.
DESTRUCTIVE = (
    "dashboard_delete",
    "dashboard_transfer",
    "dashboard_delete_block",
    "dashboard_grant",
    "dashboard_unpublish",
    "dashboard_set_visibility",
)


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
            assert route.method.lower() in paths.get(path, {}), f"{route.method} {path} is not documented"


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


# -- schemathesis against a live server -------------------------------------------


@dataclass
class Seeded:
    base_url: str
    token: str
    ids: dict[str, list[str]] = field(default_factory=dict)


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


def seed(ws: Workspace, ctx: Context) -> dict[str, list[str]]:
    """A dashboard with a source, SQL, a control, a chart and markdown; a conversation; ids of all."""
    registry = load_registry()

    def call(tool: str, /, **arguments: Any) -> dict[str, Any]:
        return registry.call(ctx, tool, arguments)

    board = call("dashboard_create", title="Fuzzed")["dashboard"]["id"]
    call(
        "catalog_push",
        dashboard_id=board,
        name="orders",
        rows=[
            {"day": f"2024-01-0{d}", "region": r, "amount": d * 10} for d in range(1, 6) for r in ("eu", "us")
        ],
    )
    blocks = {}
    for name, kind, config in (
        ("region", "param-enum", {"options": ["eu", "us"], "default": "eu"}),
        (
            "daily",
            "sql",
            {
                "sql": "select day, sum(amount) as total from orders where region = $region "
                "group by 1 order by 1",
                "inputs": ["region"],
            },
        ),
        ("trend", "chart", {"source": "daily", "kind": "line", "x": "day", "y": "total"}),
        ("note", "markdown", {"text": "hello"}),
    ):
        block = call("dashboard_add_block", dashboard_id=board, type=kind, name=name, config=config)["block"]
        blocks[name] = block["id"]
        call("dashboard_set_displayed", dashboard_id=board, block_id=block["id"], displayed=True)
    call("dashboard_set_control", dashboard_id=board, block_id=blocks["region"], value="us")
    runs = [r["id"] for r in call("dashboard_runs", dashboard_id=board, block_id=blocks["daily"])["runs"]]
    published = call("dashboard_publish", dashboard_id=board)
    conversation = call("conversation_create", title="Chat")["conversation"]["id"]
    ws.users.create("bob")
    return {
        "dashboard_id": [board, conversation],
        "id": [board],
        "block_id": list(blocks.values()),
        "run_id": runs,
        "other_run_id": runs,
        "conversation_id": [conversation],
        "conversationId": [conversation],
        "slug": [published["slug"]],
        "user": ["bob"],
        "name": ["orders"],
    }


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Seeded]:
    ws = Workspace(tmp_path / "ws", Settings(query_timeout_s=5))
    user, token = ws.users.create("alice")
    ids = seed(ws, Context(ws, user))
    server = ThreadedServer(ws)
    try:
        yield Seeded(f"http://127.0.0.1:{server.port}", token, ids)
    finally:
        server.stop()
        ws.close()


def _order(label: str) -> tuple[int, str]:
    method, path = label.split(" ", 1)
    if path.startswith("/api/v1/public/"):
        return (0, label)
    if any(path.endswith(f"/{name}") for name in DESTRUCTIVE) or (method == "DELETE" and "publish" in path):
        return (2, label)
    return (1, label)


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(live: Seeded) -> None:
    schema = schemathesis.openapi.from_url(f"{live.base_url}{OPENAPI_PATH}")
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()), key=lambda op: _order(op.label)
    )
    assert len(operations) > 30
    headers = {"Authorization": f"Bearer {live.token}"}
    failures: list[str] = []
    statuses: dict[str, dict[int, int]] = {}
    skipped: list[str] = []
    started = time.monotonic()

    def use_real_ids(case: Any, data: st.DataObject) -> None:
        containers = [case.path_parameters]
        if isinstance(case.body, dict):
            containers.append(case.body)
        for container in containers:
            for key in list(container or {}):
                if key in live.ids and data.draw(st.booleans(), label=f"real {key}"):
                    container[key] = data.draw(st.sampled_from(live.ids[key]), label=key)

    def fuzz(operation: Any, mode: GenerationMode) -> None:
        counts = statuses.setdefault(operation.label, {})

        @given(case=operation.as_strategy(generation_mode=mode, headers=headers), data=st.data())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=not os.environ.get("BALLAST_FUZZ_RANDOM"),
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: Any, data: st.DataObject) -> None:
            use_real_ids(case, data)
            response = case.call_and_validate(
                base_url=live.base_url, headers=headers, checks=CHECKS, timeout=30
            )
            counts[response.status_code] = counts.get(response.status_code, 0) + 1

        exercise()

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode)
            except Unsatisfiable:
                # Nothing to negate (no parameters, no body, or only a free-form path segment).
                assert mode is GenerationMode.NEGATIVE, (
                    f"{operation.label}: no valid request can be generated"
                )
                skipped.append(f"{operation.label} [{mode.value}]")
            except (Exception, BaseExceptionGroup) as error:
                failures.append(f"{operation.label} [{mode.value}]: {type(error).__name__}: {error}")
    elapsed = time.monotonic() - started
    calls = sum(sum(counts.values()) for counts in statuses.values())
    if os.environ.get("BALLAST_FUZZ_REPORT"):
        for label, counts in sorted(statuses.items()):
            print(label, dict(sorted(counts.items())))
        print("skipped:", *skipped, sep="\n  ")
        print(f"{calls} calls in {elapsed:.1f} s")
    assert not failures, "\n\n".join(failures)
    assert calls > 10 * len(operations)
    assert elapsed < 120


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
