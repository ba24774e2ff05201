"""The OpenAPI 3.1 document of the running app, served at ``GET /api/v1/openapi.json``.

It is generated, not written by hand: every route of the app's router when the
document is first asked for (so routes added by any module appear), plus one
path per tool, ``POST /api/v1/tools/{tool}``, whose request body is the tool's
own pydantic JSON Schema. Routes listed in `ROUTE_DOCS` get their exact
answers; any other route gets a generic entry (its handler's docstring as the
summary, path parameters, and an undescribed answer), so nothing goes
unlisted. Errors always have the contract's shape, one schema per status
naming the codes that status may carry.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

import ballast_tui
from ballast_tui.tools.registry import Registry
from server.jsonio import json_response
from server.keys import REGISTRY
from server.middlewares import _PUBLIC_ATTR, public

API = "/api/v1"
OPENAPI_PATH = f"{API}/openapi.json"
TOOL_ROUTE = f"{API}/tools/{{name}}"
JSON = "application/json"
SCHEMAS = "#/components/schemas/"

# The contract's error codes, by the status that carries them.
ERROR_CODES: dict[int, tuple[str, ...]] = {
    400: ("invalid_request",),
    401: ("unauthorized",),
    403: ("forbidden", "password_required"),
    404: ("not_found",),
    405: ("invalid_request",),
    409: ("conflict",),
    413: ("too_large",),
    423: ("locked",),
    429: ("rate_limited",),
    500: ("internal",),
}
_ERROR_DESCRIPTIONS = {
    400: "invalid_request: malformed JSON, an unknown or missing field, a bad value",
    401: "unauthorized: no bearer token, or a wrong one",
    403: "forbidden (the caller's role does not allow this) or password_required",
    404: "not_found: no such board, block, run, slug, tool or route",
    405: "the method is not allowed on this path",
    409: "conflict: a stale version",
    413: "too_large: the request body is over the server's limit",
    423: "locked: another session holds the block's lock",
    429: "rate_limited: too many attempts; see Retry-After",
    500: "internal: an unexpected error (details are logged, never sent)",
}
TOOL_ERRORS = (400, 401, 403, 404, 409, 413, 423, 500)
AUTHED_ERRORS = (401, 500)
BODY_ERRORS = (400, 413)

_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


# -- small schema helpers ------------------------------------------------------


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": SCHEMAS + name}


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {JSON: {"schema": schema}}


def success(properties: Mapping[str, Any] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The schema of a ``{"success": true, …}`` answer with `properties` (more are allowed)."""
    return {
        "type": "object",
        "required": ["success", *required],
        "properties": {"success": {"const": True}, **(properties or {})},
        "additionalProperties": True,
    }


def _ok(schema: dict[str, Any], description: str = "success") -> dict[str, Any]:
    return {"description": description, "content": _json_content(schema)}


def _errors(statuses: tuple[int, ...]) -> dict[str, Any]:
    return {
        str(status): {"$ref": f"#/components/responses/Error{status}"} for status in sorted(set(statuses))
    }


def _json_body(schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"required": required, "content": _json_content(schema)}


ANY_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
ID = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
REFRESH_SETTINGS = {
    "refreshEnabled": {"type": "boolean"},
    "refreshInterval": {"type": "integer", "enum": [300, 900, 3600, 86400]},
    "lastRefreshedAt": NULLABLE_STRING,
}


# -- what is known of the routes beyond their paths ----------------------------

# Keyed by (METHOD, path as OpenAPI writes it). Only routes the router really has
# are documented; an entry here for a route that is absent is simply unused.
ROUTE_DOCS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", f"{API}/health"): {
        "summary": "The server is up (no auth)",
        "responses": {"200": _ok(success({"version": {"type": "string"}}, ("version",)))},
    },
    ("GET", f"{API}/tools"): {
        "summary": "Every tool with the JSON Schema of its arguments",
        "responses": {
            "200": _ok(
                success(
                    {
                        "tools": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name", "description", "inputSchema"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "description": {"type": "string"},
                                    "inputSchema": ANY_OBJECT,
                                },
                            },
                        }
                    },
                    ("tools",),
                )
            )
        },
    },
    ("POST", TOOL_ROUTE): {
        "summary": "Run any tool by name (each tool also has its own path below)",
        "requestBody": _json_body(ANY_OBJECT),
        "responses": {"200": _ok(success())},
        "errors": TOOL_ERRORS,
    },
    ("GET", OPENAPI_PATH): {
        "summary": "This document (no auth)",
        "responses": {
            "200": _ok(
                {
                    "type": "object",
                    "required": ["openapi", "info", "paths"],
                    "properties": {"openapi": {"type": "string"}},
                }
            )
        },
    },
    # The seed's REST routes: thin doors onto the tools of the same meaning.
    ("POST", f"{API}/analytics/dashboards"): {
        "summary": "Save a conversation as a dashboard",
        "requestBody": _json_body(
            {
                "type": "object",
                "required": ["conversationId", "title"],
                "properties": {"conversationId": {"type": "string"}, "title": {"type": "string"}},
                "additionalProperties": False,
            },
            required=True,
        ),
        "responses": {"200": _ok(success({"dashboard": ANY_OBJECT}, ("dashboard",)))},
        "errors": TOOL_ERRORS,
    },
    ("GET", f"{API}/analytics/dashboards"): {
        "summary": "The dashboards the caller may see (conversations too with ?include=conversations)",
        "parameters": [
            {"name": "include", "in": "query", "required": False, "schema": {"type": "string"}},
        ],
        "responses": {
            "200": _ok(success({"dashboards": {"type": "array", "items": ANY_OBJECT}}, ("dashboards",)))
        },
        "errors": (400, 401, 500),
    },
    ("POST", f"{API}/analytics/dashboards/{{id}}/publish"): {
        "summary": "Publish a dashboard at a link (optionally behind a password)",
        "requestBody": _json_body(
            {
                "type": "object",
                "properties": {
                    "password": {
                        "type": ["string", "null"],
                        "maxLength": 1024,
                        "description": 'Absent: the current password stays; null or "": none; '
                        "a string: the new password (access given with the old one stops working)",
                    }
                },
                "additionalProperties": False,
            }
        ),
        "responses": {
            "200": _ok(
                success({"slug": {"type": "string"}, "publicUrl": {"type": "string"}}, ("slug", "publicUrl"))
            )
        },
        "errors": TOOL_ERRORS,
    },
    ("DELETE", f"{API}/analytics/dashboards/{{id}}/publish"): {
        "summary": "Unpublish a dashboard",
        "responses": {"200": _ok(success())},
        "errors": TOOL_ERRORS,
    },
    ("POST", f"{API}/analytics/dashboards/{{id}}/clone"): {
        "summary": "Copy a dashboard as a private one the caller owns",
        "responses": {"200": _ok(success({"dashboard": ANY_OBJECT}, ("dashboard",)))},
        "errors": TOOL_ERRORS,
    },
    ("GET", f"{API}/analytics/dashboards/{{id}}/refresh"): {
        "summary": "The auto-refresh settings",
        "responses": {"200": _ok(success(REFRESH_SETTINGS))},
        "errors": TOOL_ERRORS,
    },
    ("PUT", f"{API}/analytics/dashboards/{{id}}/refresh"): {
        "summary": "Change the auto-refresh settings (intervals 300, 900, 3600, 86400 only)",
        "requestBody": _json_body(
            {
                "type": "object",
                "properties": {
                    "refreshEnabled": {"type": ["boolean", "null"]},
                    "refreshInterval": {"type": ["integer", "null"], "enum": [300, 900, 3600, 86400, None]},
                },
                "additionalProperties": False,
            }
        ),
        "responses": {"200": _ok(success(REFRESH_SETTINGS))},
        "errors": TOOL_ERRORS,
    },
    ("POST", f"{API}/analytics/dashboards/{{id}}/refresh"): {
        "summary": "Refresh now: every displayed block and what it depends on runs again",
        "responses": {"200": _ok(success({"cascade": ANY_OBJECT}))},
        "errors": TOOL_ERRORS,
    },
    ("POST", f"{API}/public/dashboards/{{slug}}"): {
        "summary": "A published dashboard's displayed blocks and data (no auth)",
        "requestBody": _json_body(
            {
                "type": "object",
                "properties": {
                    "password": {"type": ["string", "null"], "maxLength": 1024},
                    "filter_overrides": {"type": ["object", "null"], "additionalProperties": True},
                },
                "additionalProperties": False,
            }
        ),
        "responses": {"200": _ok(success({"dashboard": ANY_OBJECT}, ("dashboard",)))},
        "errors": (400, 403, 404, 413, 429, 500),
    },
    ("GET", f"{API}/dashboards/{{id}}/blocks/{{block_id}}/data.{{fmt}}"): {
        "summary": "A block's whole current output as a file (never truncated)",
        "path_params": {"fmt": {"type": "string", "enum": ["csv", "parquet", "json"]}},
        "parameters": [
            {
                "name": "filter_overrides",
                "in": "query",
                "required": False,
                "description": "control values for this call alone, as a JSON object",
                "schema": {"type": "string"},
            },
        ],
        "responses": {
            "200": {
                "description": "the rows, streamed",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
                    JSON: {"schema": {"type": "array", "items": ANY_OBJECT}},
                },
            }
        },
        "errors": (400, 403, 404),
    },
}


# -- from the router -------------------------------------------------------------


def _group_body(pattern: str, start: int) -> str:
    """The text of the regex group whose body begins at `start` (up to its closing parenthesis)."""
    depth, index, in_class = 1, start, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return pattern[start:index]
        index += 1
    return pattern[start:]


def _path_parameters(resource: web.AbstractResource) -> tuple[str, dict[str, dict[str, Any]]]:
    """The OpenAPI path of a resource and the schema of each of its path parameters."""
    info = resource.get_info()
    if "path" in info:
        return str(info["path"]), {}
    if "formatter" in info:
        pattern = info["pattern"].pattern
        params: dict[str, dict[str, Any]] = {}
        for match in re.finditer(r"\(\?P<(\w+)>", pattern):
            body = _group_body(pattern, match.end())
            params[match[1]] = {"type": "string", "pattern": f"^(?:{body})$"}
        return str(info["formatter"]), params
    if "prefix" in info:  # a static directory
        prefix = str(info["prefix"]).rstrip("/")
        return f"{prefix}/{{filename}}", {"filename": {"type": "string"}}
    return resource.canonical, {}


def _summary(handler: Any, method: str, path: str) -> tuple[str, str | None]:
    """The first line of the handler's docstring (and the rest), else ``METHOD path``."""
    doc = inspect.getdoc(handler)
    if not doc:
        return f"{method} {path}", None
    first, _, rest = doc.partition("\n")
    return first.strip(), rest.strip() or None


def _operation_id(method: str, path: str, name: str | None) -> str:
    if name:
        return name
    slug = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")
    return f"{method.lower()}_{slug}"


def _route_operation(
    route: web.AbstractRoute, path: str, params: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    method = route.method.upper()
    is_public = bool(getattr(route.handler, _PUBLIC_ATTR, False))
    known = ROUTE_DOCS.get((method, path))
    summary, description = _summary(route.handler, method, path)
    operation: dict[str, Any] = {
        "operationId": _operation_id(method, path, route.name),
        "summary": summary,
        "tags": ["public" if is_public else "api"],
    }
    if description:
        operation["description"] = description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": schema} for name, schema in params.items()
    ]
    errors: tuple[int, ...]
    if known is not None:
        operation["summary"] = known.get("summary", summary)
        for name, schema in known.get("path_params", {}).items():
            parameters = [
                {**param, "schema": schema} if param["name"] == name else param for param in parameters
            ]
        parameters.extend(known.get("parameters", []))
        if "requestBody" in known:
            operation["requestBody"] = known["requestBody"]
        responses = dict(known["responses"])
        errors = tuple(known.get("errors", ()))
        errors += (500,) if is_public else AUTHED_ERRORS
        if "requestBody" in known:
            errors += BODY_ERRORS
        responses.update(_errors(errors))
    else:
        # Not described in detail: any answer is allowed, but the entry exists.
        if method in ("POST", "PUT", "PATCH"):
            operation["requestBody"] = _json_body(ANY_OBJECT)
        responses = {"default": {"description": "the route's answer (not described in detail)"}}
    if parameters:
        operation["parameters"] = parameters
    operation["responses"] = responses
    if is_public:
        operation["security"] = []
    return operation


# -- the tools -------------------------------------------------------------------


def _tool_schemas(registry: Registry) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Each tool's request-body schema (a reference) and the component schemas they use.

    pydantic writes every model once under a collision-free name, with references
    pointing into ``#/components/schemas`` instead of a local ``$defs``.
    """
    tools = {name: registry.get(name) for name in registry.names()}
    models: list[type[BaseModel]] = list(dict.fromkeys(tool.args for tool in tools.values()))
    by_model, defs = models_json_schema(
        [(model, "validation") for model in models], ref_template=SCHEMAS + "{model}"
    )
    bodies = {name: by_model[(tool.args, "validation")] for name, tool in tools.items()}
    return bodies, dict(defs.get("$defs", {}))


def _tool_operation(name: str, description: str, body_schema: dict[str, Any]) -> dict[str, Any]:
    responses = {"200": _ok(success(), "the tool's answer: `success` true and its fields")}
    responses.update(_errors(TOOL_ERRORS))
    return {
        "operationId": f"tool_{name}",
        "summary": description.split(". ")[0][:200] or name,
        "description": description,
        "tags": ["tools"],
        # An empty body means no arguments; tools with required arguments answer 400 then.
        "requestBody": _json_body(body_schema),
        "responses": responses,
    }


# -- the document ----------------------------------------------------------------


def _error_components() -> tuple[dict[str, Any], dict[str, Any]]:
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["success", "error", "message"],
            "properties": {
                "success": {"const": False},
                "error": {
                    "type": "string",
                    "enum": sorted({c for codes in ERROR_CODES.values() for c in codes}),
                },
                "message": {"type": "string"},
            },
            "additionalProperties": True,
        }
    }
    responses: dict[str, Any] = {}
    for status, codes in ERROR_CODES.items():
        schemas[f"Error{status}"] = {
            "allOf": [_ref("Error"), {"properties": {"error": {"enum": list(codes)}}}],
        }
        responses[f"Error{status}"] = {
            "description": _ERROR_DESCRIPTIONS[status],
            "content": _json_content(_ref(f"Error{status}")),
        }
    return schemas, responses


def build_openapi(app: web.Application) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route of `app` and every tool of its registry."""
    registry = app[REGISTRY]
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        method = route.method.upper()
        if method in ("HEAD", "*") or route.resource is None or method.lower() not in _METHODS:
            continue  # HEAD twins of GET routes, catch-all methods
        path, params = _path_parameters(route.resource)
        paths.setdefault(path, {})[method.lower()] = _route_operation(route, path, params)

    error_schemas, error_responses = _error_components()
    component_schemas = dict(error_schemas)
    if "post" in paths.get(TOOL_ROUTE, {}):
        bodies, defs = _tool_schemas(registry)
        component_schemas.update(defs)
        prefix = TOOL_ROUTE.removesuffix("{name}")
        for tool in registry.describe():
            name = tool["name"]
            paths[prefix + name] = {"post": _tool_operation(name, tool["description"], bodies[name])}

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
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
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
