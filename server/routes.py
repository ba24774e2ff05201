"""The table of routes. Handlers are thin: parse, call the tool registry, answer JSON."""

from __future__ import annotations

import re

from aiohttp import web

import ballast_tui
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.tools.registry import Context
from server.jsonio import json_response, parse_object
from server.keys import REGISTRY, USER, WORKSPACE
from server.middlewares import public

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


def setup_routes(app: web.Application) -> None:
    """Add the API's routes to `app`."""
    app.router.add_routes(
        [
            web.get(f"{API}/health", health, name="health"),
            web.get(f"{API}/tools", list_tools, name="tools"),
            web.post(f"{API}/tools/{{name}}", call_tool, name="tool_call"),
        ]
    )
