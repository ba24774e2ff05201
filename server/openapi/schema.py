"""The OpenAPI document's building blocks: constants, schema helpers and the contract's errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

API = "/api/v1"
OPENAPI_PATH = f"{API}/openapi.json"
TOOL_ROUTE = f"{API}/tools/{{name}}"
JSON = "application/json"
SCHEMAS = "#/components/schemas/"
REFUSES = "x-ballast-refuses"
"""An operation's extension naming what it refuses (400) that its schema cannot say: values checked
against what is stored (SQL that does not parse, a name no source has, a value a control does not allow)."""

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
ERROR_DESCRIPTIONS = {
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

METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


# -- small schema helpers ------------------------------------------------------


def ref(name: str) -> dict[str, Any]:
    return {"$ref": SCHEMAS + name}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {JSON: {"schema": schema}}


def success(properties: Mapping[str, Any] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The schema of a ``{"success": true, …}`` answer with `properties` (more are allowed)."""
    return {
        "type": "object",
        "required": ["success", *required],
        "properties": {"success": {"const": True}, **(properties or {})},
        "additionalProperties": True,
    }


def ok(schema: dict[str, Any], description: str = "success") -> dict[str, Any]:
    return {"description": description, "content": json_content(schema)}


def errors(statuses: tuple[int, ...]) -> dict[str, Any]:
    return {
        str(status): {"$ref": f"#/components/responses/Error{status}"} for status in sorted(set(statuses))
    }


def json_body(schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"required": required, "content": json_content(schema)}


ANY_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
ID = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
REFRESH_SETTINGS = {
    "refreshEnabled": {"type": "boolean"},
    "refreshInterval": {"type": "integer"},
    "lastRefreshedAt": NULLABLE_STRING,
}


def error_components() -> tuple[dict[str, Any], dict[str, Any]]:
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
            "allOf": [ref("Error"), {"properties": {"error": {"enum": list(codes)}}}],
        }
        responses[f"Error{status}"] = {
            "description": ERROR_DESCRIPTIONS[status],
            "content": json_content(ref(f"Error{status}")),
        }
    return schemas, responses
