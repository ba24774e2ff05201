"""What is known of the HTTP routes beyond their paths: their bodies, parameters and answers."""

from __future__ import annotations

from typing import Any

from ballast_server.openapi.protocols import PROTOCOL_DOCS
from ballast_server.openapi.schema import (
    ANY_OBJECT,
    API,
    JSON,
    OPENAPI_PATH,
    REFRESH_SETTINGS,
    TOOL_ERRORS,
    json_body,
    ok,
    success,
)
from ballast_tui.tools.catalog import ImportArgs
from ballast_tui.tools.conversations import SaveArgs
from ballast_tui.tools.dashboards import RefreshSettingsArgs
from ballast_tui.tools.exports import ExportArgs
from ballast_tui.tools.public import PublicArgs

_REFRESH = RefreshSettingsArgs.model_json_schema()["properties"]
"""The refresh settings, as `dashboard_set_refresh` takes them."""
_EXPORT = ExportArgs.model_json_schema()["properties"]
"""The export's formats, as `export_block` takes them."""
_SAVE_TITLE = SaveArgs.model_json_schema()["properties"]["title"]
"""The title as `dashboard_save_conversation` takes it (the route is a door onto that tool)."""
_IMPORT = ImportArgs.model_json_schema()["properties"]
"""The upload's query parameters, as `catalog_import` (the tool behind it) takes them."""
_PUBLIC = PublicArgs.model_json_schema()["properties"]
"""The public route's body fields, as `public_dashboard` (the tool behind it) takes them."""
INCLUDE_PATTERN = r"^\s*(conversations)?\s*(,\s*(conversations)?\s*)*$"
"""`?include=`: `conversations`, comma-separated, blanks ignored."""

# Keyed by (METHOD, path as OpenAPI writes it). Only routes the router really has
# are documented; an entry here for a route that is absent is simply unused.
ROUTE_DOCS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", f"{API}/health"): {
        "summary": "The server is up (no auth)",
        "responses": {"200": ok(success({"version": {"type": "string"}}, ("version",)))},
    },
    ("GET", f"{API}/tools"): {
        "summary": "Every tool with the JSON Schema of its arguments",
        "responses": {
            "200": ok(
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
    ("GET", OPENAPI_PATH): {
        "summary": "This document (no auth)",
        "responses": {
            "200": ok(
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
        "requestBody": json_body(
            {
                "type": "object",
                "required": ["conversationId", "title"],
                "properties": {"conversationId": {"type": "string"}, "title": _SAVE_TITLE},
                "additionalProperties": False,
            },
            required=True,
        ),
        "responses": {"200": ok(success({"dashboard": ANY_OBJECT}, ("dashboard",)))},
        "errors": TOOL_ERRORS,
    },
    ("GET", f"{API}/analytics/dashboards"): {
        "summary": "The dashboards the caller may see (conversations too with ?include=conversations)",
        "parameters": [
            {
                "name": "include",
                "in": "query",
                "required": False,
                "description": "`conversations` to list them too (comma-separated, repeatable)",
                "schema": {"type": "string", "pattern": INCLUDE_PATTERN},
            },
        ],
        "responses": {
            "200": ok(success({"dashboards": {"type": "array", "items": ANY_OBJECT}}, ("dashboards",)))
        },
        "errors": (400, 401, 500),
    },
    ("POST", f"{API}/analytics/dashboards/{{id}}/publish"): {
        "summary": "Publish a dashboard at a link (optionally behind a password)",
        "requestBody": json_body(
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
            "200": ok(
                success({"slug": {"type": "string"}, "publicUrl": {"type": "string"}}, ("slug", "publicUrl"))
            )
        },
        "errors": TOOL_ERRORS,
    },
    ("DELETE", f"{API}/analytics/dashboards/{{id}}/publish"): {
        "summary": "Unpublish a dashboard",
        "responses": {"200": ok(success())},
        "errors": TOOL_ERRORS,
    },
    ("POST", f"{API}/analytics/dashboards/{{id}}/clone"): {
        "summary": "Copy a dashboard as a private one the caller owns",
        "responses": {"200": ok(success({"dashboard": ANY_OBJECT}, ("dashboard",)))},
        "errors": TOOL_ERRORS,
    },
    ("GET", f"{API}/analytics/dashboards/{{id}}/refresh"): {
        "summary": "The auto-refresh settings",
        "responses": {"200": ok(success(REFRESH_SETTINGS))},
        "errors": TOOL_ERRORS,
    },
    ("PUT", f"{API}/analytics/dashboards/{{id}}/refresh"): {
        "summary": "Change the auto-refresh settings (the intervals `dashboard_set_refresh` takes)",
        "requestBody": json_body(
            {
                "type": "object",
                "properties": {key: _REFRESH[key] for key in ("refreshEnabled", "refreshInterval")},
                "additionalProperties": False,
            }
        ),
        "responses": {"200": ok(success(REFRESH_SETTINGS))},
        "errors": TOOL_ERRORS,
    },
    ("POST", f"{API}/analytics/dashboards/{{id}}/refresh"): {
        "summary": "Refresh now: every displayed block and what it depends on runs again",
        "responses": {"200": ok(success({"cascade": ANY_OBJECT}))},
        "errors": TOOL_ERRORS,
    },
    ("POST", f"{API}/public/dashboards/{{slug}}"): {
        "summary": "A published dashboard's displayed blocks and data (no auth)",
        "requestBody": json_body(
            {
                "type": "object",
                "properties": {key: _PUBLIC[key] for key in ("password", "filter_overrides")},
                "additionalProperties": False,
            }
        ),
        "responses": {"200": ok(success({"dashboard": ANY_OBJECT}, ("dashboard",)))},
        "errors": (400, 403, 404, 413, 429, 500),
        "refuses": "a `filter_overrides` naming no displayed control, or a value the control does not allow",
    },
    ("GET", f"{API}/dashboards/{{id}}/blocks/{{block_id}}/data.{{fmt}}"): {
        "summary": "A block's whole current output as a file (never truncated)",
        "path_params": {"fmt": {"type": "string", "enum": _EXPORT["format"]["enum"]}},
        "parameters": [
            {
                "name": "filter_overrides",
                "in": "query",
                "required": False,
                "description": "control values for this call alone, as a JSON object "
                "(`{control name: value}`; each must be a control of the board, with a value it allows)",
                "content": {JSON: {"schema": {"type": "object"}}},
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
        "refuses": "a `filter_overrides` naming no control of the board, or a value it does not allow",
    },
    ("POST", f"{API}/dashboards/{{id}}/imports"): {
        "summary": "A file streamed in as a source of the board's catalog (the body is the file itself)",
        "parameters": [
            {"name": key, "in": "query", "required": True, "schema": _IMPORT[key]}
            for key in ("name", "format")
        ],
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        },
        "responses": {"200": ok(success({"source": ANY_OBJECT}, ("source",)))},
        "errors": (400, 403, 404, 413),
        "refuses": "a file that is not of that format; a name one of the board's sources has",
    },
    **PROTOCOL_DOCS,
}
