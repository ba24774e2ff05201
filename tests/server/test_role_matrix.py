"""The contract's access table (section 5), route by route, over HTTP.

Each row of `MATRIX` is one route (a seed route, the export route, a published
link, or a tool through ``POST /api/v1/tools/{name}``) with the status each
role gets: the board's owner, an editor, a viewer, a stranger (a user with no
role on the board) and an anonymous caller (no token). Roles are tried from the
least to the most privileged, so a refusal never sees a state a success made.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import pytest

from tests.server.conftest import Api

ROLES = ("anonymous", "stranger", "viewer", "editor", "owner")
CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found"}

VIEW = {"owner": 200, "editor": 200, "viewer": 200, "stranger": 403, "anonymous": 401}
EDIT = {"owner": 200, "editor": 200, "viewer": 403, "stranger": 403, "anonymous": 401}
MANAGE = {"owner": 200, "editor": 403, "viewer": 403, "stranger": 403, "anonymous": 401}
SIGNED_IN = {"owner": 200, "editor": 200, "viewer": 200, "stranger": 200, "anonymous": 401}
MISSING = {"owner": 404, "editor": 404, "viewer": 404, "stranger": 404, "anonymous": 401}
ANYONE = {"owner": 200, "editor": 200, "viewer": 200, "stranger": 200, "anonymous": 200}

DASHBOARDS = "/api/v1/analytics/dashboards"
UNKNOWN = "dash_000000000000"


@dataclass
class World:
    """A board (and a conversation) with an owner, an editor and a viewer; plus a stranger."""

    tokens: dict[str, str | None]
    board: str
    conversation: str
    sql: str
    control: str
    slug: str | None = None


async def build_world(api: Api, publish: bool) -> World:
    tokens: dict[str, str | None] = {role: api.token(role) for role in ROLES if role != "anonymous"}
    tokens["anonymous"] = None
    owner = tokens["owner"]
    assert owner is not None
    board = (await api.ok("dashboard_create", owner, title="Matrix"))["dashboard"]["id"]
    conversation = (await api.ok("conversation_create", owner, title="Chat"))["conversation"]["id"]
    control = await api.ok(
        "dashboard_add_block",
        owner,
        dashboard_id=board,
        type="param-enum",
        name="pick",
        config={"options": ["a", "b"], "default": "a"},
    )
    sql = await api.ok(
        "dashboard_add_block",
        owner,
        dashboard_id=board,
        type="sql",
        name="q",
        config={"sql": "select $pick as picked, range as n from range(3)", "inputs": ["pick"]},
    )
    world = World(tokens, board, conversation, sql["block"]["id"], control["block"]["id"])
    for block in (world.control, world.sql):
        await api.ok("dashboard_set_displayed", owner, dashboard_id=board, block_id=block, displayed=True)
    for target in (board, conversation):
        for role in ("editor", "viewer"):
            await api.ok("dashboard_grant", owner, dashboard_id=target, user=role, role=role)
    if publish:
        world.slug = (await api.ok("dashboard_publish", owner, dashboard_id=board))["slug"]
    return world


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: Callable[[World], str]
    body: Callable[[World, str], Any] = lambda w, role: None
    expected: dict[str, int] | None = None
    publish: bool = False


def tool(tool_name: str, expected: dict[str, int], /, **arguments: Callable[[World], Any] | Any) -> Route:
    """``POST /api/v1/tools/{tool_name}``; callable arguments are computed from the world."""

    def body(w: World, role: str) -> dict[str, Any]:
        return {k: v(w) if callable(v) else v for k, v in arguments.items()}

    return Route(f"tool:{tool_name}", "POST", lambda w: f"/api/v1/tools/{tool_name}", body, expected)


def board(w: World) -> str:
    return w.board


def sql(w: World) -> str:
    return w.sql


def export(fmt: str, overrides: dict[str, Any] | None = None) -> Callable[[World], str]:
    def path(w: World) -> str:
        query = f"?filter_overrides={quote(json.dumps(overrides))}" if overrides else ""
        return f"/api/v1/dashboards/{w.board}/blocks/{w.sql}/data.{fmt}{query}"

    return path


MATRIX: list[Route] = [
    # The seed's routes.
    Route("seed:list", "GET", lambda w: DASHBOARDS, expected=SIGNED_IN),
    Route(
        "seed:save",
        "POST",
        lambda w: DASHBOARDS,
        lambda w, role: {"conversationId": w.conversation, "title": f"Saved by {role}"},
        VIEW,
    ),
    Route(
        "seed:save-unknown",
        "POST",
        lambda w: DASHBOARDS,
        lambda w, r: {"conversationId": "conv_000000000000", "title": "x"},
        MISSING,
    ),
    Route("seed:publish", "POST", lambda w: f"{DASHBOARDS}/{w.board}/publish", expected=MANAGE),
    Route(
        "seed:publish-password",
        "POST",
        lambda w: f"{DASHBOARDS}/{w.board}/publish",
        lambda w, r: {"password": "pw"},
        MANAGE,
    ),
    Route(
        "seed:unpublish", "DELETE", lambda w: f"{DASHBOARDS}/{w.board}/publish", expected=MANAGE, publish=True
    ),
    Route("seed:clone", "POST", lambda w: f"{DASHBOARDS}/{w.board}/clone", expected=VIEW),
    Route("seed:get-refresh", "GET", lambda w: f"{DASHBOARDS}/{w.board}/refresh", expected=VIEW),
    Route(
        "seed:set-refresh",
        "PUT",
        lambda w: f"{DASHBOARDS}/{w.board}/refresh",
        lambda w, r: {"refreshEnabled": True, "refreshInterval": 900},
        EDIT,
    ),
    Route("seed:refresh", "POST", lambda w: f"{DASHBOARDS}/{w.board}/refresh", expected=EDIT),
    Route("seed:refresh-unknown", "GET", lambda w: f"{DASHBOARDS}/{UNKNOWN}/refresh", expected=MISSING),
    Route("seed:publish-unknown", "POST", lambda w: f"{DASHBOARDS}/{UNKNOWN}/publish", expected=MISSING),
    # A published link: anyone, with or without an account.
    Route("public", "POST", lambda w: f"/api/v1/public/dashboards/{w.slug}", expected=ANYONE, publish=True),
    Route(
        "public-overrides",
        "POST",
        lambda w: f"/api/v1/public/dashboards/{w.slug}",
        lambda w, r: {"filter_overrides": {"pick": "b"}},
        ANYONE,
        publish=True,
    ),
    # Exports.
    Route("export:csv", "GET", export("csv"), expected=VIEW),
    Route("export:parquet", "GET", export("parquet"), expected=VIEW),
    Route("export:json-overrides", "GET", export("json", {"pick": "b"}), expected=VIEW),
    Route(
        "export:unknown-board",
        "GET",
        lambda w: f"/api/v1/dashboards/{UNKNOWN}/blocks/{w.sql}/data.csv",
        expected=MISSING,
    ),
    # A sample of tools: seeing.
    tool("dashboard_get", VIEW, dashboard_id=board),
    tool("dashboard_block_data", VIEW, dashboard_id=board, block_id=sql),
    tool("dashboard_runs", VIEW, dashboard_id=board, block_id=sql),
    tool("dashboard_audit", VIEW, dashboard_id=board),
    tool("catalog_list", VIEW, dashboard_id=board),
    replace(
        tool("dashboard_run_block", VIEW, dashboard_id=board, block_id=sql, filter_overrides={"pick": "b"}),
        name="tool:dashboard_run_block-overrides",
    ),
    tool("dashboard_clone", VIEW, dashboard_id=board),
    tool("dashboard_render", VIEW, dashboard_id=board, block_id=sql, width=60),
    replace(tool("dashboard_get", MISSING, dashboard_id=UNKNOWN), name="tool:dashboard_get-unknown"),
    # Editing.
    tool("dashboard_run_block", EDIT, dashboard_id=board, block_id=sql),
    tool("dashboard_update_block", EDIT, dashboard_id=board, block_id=sql, config={"sql": "select 1 as one"}),
    tool("dashboard_set_control", EDIT, dashboard_id=board, block_id=lambda w: w.control, value="b"),
    tool("dashboard_set_layout", EDIT, dashboard_id=board, rows=lambda w: [{"blocks": [w.control, w.sql]}]),
    tool("dashboard_set_refresh", EDIT, dashboard_id=board, refreshInterval=300),
    tool("dashboard_refresh", EDIT, dashboard_id=board),
    tool("catalog_push", EDIT, dashboard_id=board, name="t", rows=[{"a": 1}], mode="replace"),
    # Managing.
    tool("dashboard_publish", MANAGE, dashboard_id=board),
    tool("dashboard_set_visibility", MANAGE, dashboard_id=board, visibility="link_view"),
    tool("dashboard_grant", MANAGE, dashboard_id=board, user="stranger", role="viewer"),
    tool("dashboard_transfer", MANAGE, dashboard_id=board, user="editor"),
    tool("dashboard_delete", MANAGE, dashboard_id=board),
]


@pytest.mark.parametrize("route", MATRIX, ids=[f"{r.method} {r.name}" for r in MATRIX])
async def test_role_matrix(api: Api, route: Route) -> None:
    world = await build_world(api, publish=route.publish)
    assert route.expected is not None
    got: dict[str, int] = {}
    for role in ROLES:
        token = world.tokens[role]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = route.body(world, role)
        async with api.http.request(
            route.method, api.base + route.path(world), json=body, headers=headers
        ) as response:
            got[role] = response.status
            expected = route.expected[role]
            if response.status == 200:
                data = await response.read()
                if route.name.startswith(("seed", "tool", "public")):
                    assert json.loads(data)["success"] is True
            else:
                answer = await response.json()
                assert answer["success"] is False, (role, answer)
                assert answer["error"] == CODES.get(response.status), (role, answer)
        assert got[role] == expected, (role, got)
    assert got == route.expected
