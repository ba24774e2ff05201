"""The document itself, and the route that serves it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

import ballast_tui
from ballast_server.jsonio import json_response
from ballast_server.keys import REGISTRY
from ballast_server.middlewares import public
from ballast_server.openapi.links import add_links
from ballast_server.openapi.router import path_parameters, route_operation
from ballast_server.openapi.schema import METHODS, OPENAPI_PATH, TOOL_ROUTE, error_components
from ballast_server.openapi.tools import tool_operation, tool_schemas


def build_openapi(app: web.Application) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route of `app` and every tool of its registry."""
    registry = app[REGISTRY]
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        method = route.method.upper()
        if method in ("HEAD", "*") or route.resource is None or method.lower() not in METHODS:
            continue  # HEAD twins of GET routes, catch-all methods
        path, params = path_parameters(route.resource)
        paths.setdefault(path, {})[method.lower()] = route_operation(route, path, params)

    error_schemas, error_responses = error_components()
    component_schemas = dict(error_schemas)
    if "post" in paths.get(TOOL_ROUTE, {}):
        # The tool door is documented once per tool (its own body and answers), not as a template
        # whose body would depend on the name in the path.
        del paths[TOOL_ROUTE]["post"]
        if not paths[TOOL_ROUTE]:
            del paths[TOOL_ROUTE]
        bodies, defs = tool_schemas(registry)
        component_schemas.update(defs)
        prefix = TOOL_ROUTE.removesuffix("{name}")
        for tool in registry.tools():
            paths[prefix + tool.name] = {"post": tool_operation(tool, bodies[tool.name])}
    add_links(paths, component_schemas)

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Ballast TUI",
            "version": ballast_tui.__version__,
            "description": (
                "Reactive, collaborative dashboards. Every action is a tool: "
                "`POST /api/v1/tools/{tool}` with a JSON object of arguments answers "
                '`{"success": true, …}`; every error answers '
                '`{"success": false, "error": CODE, "message": TEXT}`.'
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": component_schemas,
            "responses": error_responses,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "token_query": {"type": "apiKey", "in": "query", "name": "token"},
            },
        },
        "security": [{"bearer": []}],
    }


# -- the route -------------------------------------------------------------------

_CACHE = web.AppKey("openapi_cache", dict)
"""The document, built once at the first request (every route is registered by then)."""


@public
async def openapi_json(request: web.Request) -> web.Response:
    """``GET /api/v1/openapi.json``: this API's OpenAPI 3.1 document; no auth."""
    cache: dict[str, Any] = request.app[_CACHE]
    document = cache.get("document")
    if document is None:
        document = cache["document"] = build_openapi(request.app)
    return json_response(document)


def setup_openapi(app: web.Application) -> None:
    """Serve the document of `app` at ``GET /api/v1/openapi.json``."""
    app[_CACHE] = {}
    app.router.add_get(OPENAPI_PATH, openapi_json, name="openapi")
