"""The table of routes. Handlers are thin: parse, call the tool registry, answer JSON.

Besides health and the tool door, the seed's REST routes under
``/api/v1/analytics/dashboards``: each maps the seed's camelCase body fields
onto the arguments of the tool of the same meaning, explicitly, and refuses
any other field (400 `invalid_request`). Roles are the tools' business.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from aiohttp import web

import ballast_tui
from ballast_server.jsonio import json_response, parse_object
from ballast_server.keys import REGISTRY, USER, WORKSPACE
from ballast_server.middlewares import public
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.tools.registry import Context

API = "/api/v1"
SESSION_HEADER = "X-Ballast-Session"
CLIENT_HEADER = "X-Ballast-Client"
# Session ids and client names: printable ASCII without spaces, bounded.
_HEADER_VALUE = re.compile(r"[!-~]{1,128}")


def _header(request: web.Request, name: str) -> str | None:
    """An optional identity header, refused (400) when it is not a short printable token."""
    value = request.headers.get(name)
    if value is None:
        return None
    if not _HEADER_VALUE.fullmatch(value):
        raise InvalidRequest(f"the {name} header must be 1 to 128 printable characters without spaces")
    return value


def tool_context(request: web.Request) -> Context:
    """The registry's `Context` for an authenticated request."""
    return Context(
        request.app[WORKSPACE],
        request[USER],
        session_id=_header(request, SESSION_HEADER),
        client=_header(request, CLIENT_HEADER) or "api",
    )


@public
async def health(request: web.Request) -> web.Response:
    """``GET /api/v1/health``: the server is up; no auth."""
    return json_response({"success": True, "version": ballast_tui.__version__})


async def list_tools(request: web.Request) -> web.Response:
    """``GET /api/v1/tools``: every tool with the JSON Schema of its arguments."""
    return json_response({"success": True, "tools": request.app[REGISTRY].describe()})


async def call_tool(request: web.Request) -> web.Response:
    """``POST /api/v1/tools/{name}``: run one tool with a JSON object of arguments."""
    registry = request.app[REGISTRY]
    name = request.match_info["name"]
    registry.get(name)  # 404 for an unknown tool before reading the body
    arguments = parse_object(await request.read())
    return json_response(await registry.acall(tool_context(request), name, arguments))


# -- the seed's routes -----------------------------------------------------------


def _no_query(request: web.Request, allowed: Collection[str] = ()) -> None:
    """400 for a query parameter the route does not take."""
    unknown = sorted(set(request.query) - set(allowed))
    if unknown:
        takes = f"it takes {', '.join(sorted(allowed))}" if allowed else "it takes none"
        raise InvalidRequest(f"unknown query parameter {', '.join(unknown)} on {request.path}; {takes}")


async def _seed_body(
    request: web.Request, fields: Mapping[str, str], required: Collection[str] = ()
) -> dict[str, Any]:
    """The JSON body (empty means ``{}``) with the seed's field names mapped onto tool arguments.

    `fields` maps each accepted body field to its tool argument; any other field
    and any missing `required` one is refused with the seed's own names.
    """
    _no_query(request)
    body = parse_object(await request.read())
    unknown = sorted(set(body) - set(fields))
    if unknown:
        accepted = ", ".join(fields) if fields else "no fields"
        raise InvalidRequest(f"unknown field {', '.join(unknown)}; this route accepts {accepted}")
    missing = [name for name in required if name not in body]
    if missing:
        raise InvalidRequest(f"missing field {', '.join(missing)}")
    return {fields[name]: value for name, value in body.items()}


async def _call(request: web.Request, tool: str, arguments: dict[str, Any]) -> web.Response:
    return json_response(await request.app[REGISTRY].acall(tool_context(request), tool, arguments))


async def save_dashboard(request: web.Request) -> web.Response:
    """``POST /analytics/dashboards`` ``{conversationId, title}``: save a conversation as a dashboard."""
    fields = {"conversationId": "conversation_id", "title": "title"}
    arguments = await _seed_body(request, fields, required=fields)
    return await _call(request, "dashboard_save_conversation", arguments)


async def list_dashboards(request: web.Request) -> web.Response:
    """``GET /analytics/dashboards[?include=conversations]``: the dashboards the caller may see."""
    _no_query(request, ("include",))
    include = {part.strip() for value in request.query.getall("include", []) for part in value.split(",")}
    include.discard("")
    if include - {"conversations"}:
        raise InvalidRequest(f"unknown include {', '.join(sorted(include - {'conversations'}))}")
    return await _call(request, "dashboard_list", {"include_conversations": "conversations" in include})


def _board(request: web.Request) -> dict[str, Any]:
    return {"dashboard_id": request.match_info["id"]}


async def publish_dashboard(request: web.Request) -> web.Response:
    """``POST /analytics/dashboards/{id}/publish`` ``{password?}``: answers `slug` and `publicUrl`."""
    arguments = await _seed_body(request, {"password": "password"})
    return await _call(request, "dashboard_publish", {**_board(request), **arguments})


async def unpublish_dashboard(request: web.Request) -> web.Response:
    """``DELETE /analytics/dashboards/{id}/publish``: the link answers 404 from now on."""
    await _seed_body(request, {})
    return await _call(request, "dashboard_unpublish", _board(request))


async def clone_dashboard(request: web.Request) -> web.Response:
    """``POST /analytics/dashboards/{id}/clone``: a private copy the caller owns."""
    await _seed_body(request, {})
    return await _call(request, "dashboard_clone", _board(request))


async def get_refresh(request: web.Request) -> web.Response:
    """``GET /analytics/dashboards/{id}/refresh``: the auto-refresh settings."""
    _no_query(request)
    return await _call(request, "dashboard_get_refresh", _board(request))


async def set_refresh(request: web.Request) -> web.Response:
    """``PUT /analytics/dashboards/{id}/refresh`` ``{refreshEnabled?, refreshInterval?}``."""
    fields = {"refreshEnabled": "refreshEnabled", "refreshInterval": "refreshInterval"}
    arguments = await _seed_body(request, fields)
    return await _call(request, "dashboard_set_refresh", {**_board(request), **arguments})


async def refresh_now(request: web.Request) -> web.Response:
    """``POST /analytics/dashboards/{id}/refresh``: re-run every chart of the dashboard now."""
    await _seed_body(request, {})
    return await _call(request, "dashboard_refresh", _board(request))


def setup_routes(app: web.Application) -> None:
    """Add the API's routes to `app`: health, the tool door and the seed's routes."""
    dashboards = f"{API}/analytics/dashboards"
    app.router.add_routes(
        [
            web.get(f"{API}/health", health, name="health"),
            web.get(f"{API}/tools", list_tools, name="tools"),
            web.post(f"{API}/tools/{{name}}", call_tool, name="tool_call"),
            web.post(dashboards, save_dashboard, name="dashboards_save"),
            web.get(dashboards, list_dashboards, name="dashboards_list"),
            web.post(f"{dashboards}/{{id}}/publish", publish_dashboard, name="dashboard_publish"),
            web.delete(f"{dashboards}/{{id}}/publish", unpublish_dashboard, name="dashboard_unpublish"),
            web.post(f"{dashboards}/{{id}}/clone", clone_dashboard, name="dashboard_clone"),
            web.get(f"{dashboards}/{{id}}/refresh", get_refresh, name="dashboard_get_refresh"),
            web.put(f"{dashboards}/{{id}}/refresh", set_refresh, name="dashboard_set_refresh"),
            web.post(f"{dashboards}/{{id}}/refresh", refresh_now, name="dashboard_refresh"),
        ]
    )
