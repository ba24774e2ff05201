"""The two routes that speak another protocol over HTTP: the WebSocket and MCP (streamable HTTP).

OpenAPI cannot describe their messages (the contract does, §7 and the MCP
specification), so their entries say what a request must carry to be accepted
(the upgrade handshake; MCP's `Accept`, session header and JSON-RPC body) and
what answers a request that does not.
"""

from __future__ import annotations

from typing import Any

from ballast_server.openapi.schema import JSON

API = "/api/v1"
EVENT_STREAM = "text/event-stream"


def _header(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": True, "description": description, "schema": schema}


JSONRPC_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["jsonrpc", "error"],
    "properties": {
        "jsonrpc": {"const": "2.0"},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
        },
    },
}
"""MCP's own error answer (a JSON-RPC error), as the MCP SDK writes it."""


def _mcp_refusal(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": JSONRPC_ERROR}}}


def _any_answer(description: str) -> dict[str, Any]:
    return {"description": description}


SESSION = _header(
    "Mcp-Session-Id",
    {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    "the session `initialize` answered with (an unknown one answers 404)",
)
MCP_RESPONSES = {
    "400": _mcp_refusal("a JSON-RPC message that is not valid, or no session id where one is needed"),
    "404": _mcp_refusal("no such MCP session (it ended, or the server restarted): initialize again"),
    "406": _mcp_refusal("the Accept header does not take the answers MCP sends"),
    "415": _any_answer("the body is not application/json"),
}

PROTOCOL_DOCS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", f"{API}/ws"): {
        "summary": "The live WebSocket: join a board, heartbeat; presence, locks and changes pushed",
        "description": "Only a WebSocket handshake is accepted (RFC 6455); the messages are JSON, as the "
        'contract\'s §7 says (`{"type": "join", "dashboard_id": …}`, `{"type": "heartbeat"}`; events with '
        "`dashboard_id` and `seq`). A page of another origin is refused.",
        "parameters": [
            _header("Upgrade", {"type": "string", "enum": ["websocket"]}, "the upgrade to WebSocket"),
            _header("Connection", {"type": "string", "enum": ["Upgrade"]}, "the upgrade to WebSocket"),
            _header("Sec-WebSocket-Version", {"type": "string", "enum": ["13"]}, "the WebSocket version"),
            _header(
                "Sec-WebSocket-Key",
                {"type": "string", "pattern": "^[A-Za-z0-9+/]{21}[AQgw]==$"},
                "16 random bytes, base64",
            ),
        ],
        "responses": {"101": {"description": "switching to the WebSocket protocol"}},
        "errors": (400, 401, 403),
        # A browser cannot set a header on a WebSocket: the token may come as `?token=` instead.
        "security": [{"bearer": []}, {"token_query": []}],
    },
    ("GET", "/mcp"): {
        "summary": "MCP (streamable HTTP): the server's stream of messages to a session",
        "parameters": [
            _header("Accept", {"type": "string", "enum": [EVENT_STREAM]}, "the answer is an event stream"),
            SESSION,
        ],
        "responses": {
            "200": {
                "description": "server-sent events",
                "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
            },
            **MCP_RESPONSES,
        },
    },
    ("DELETE", "/mcp"): {
        "summary": "MCP (streamable HTTP): end a session",
        "parameters": [SESSION],
        "responses": {"200": _any_answer("the session ended"), **MCP_RESPONSES},
    },
    ("POST", "/mcp"): {
        "summary": "MCP (streamable HTTP): one JSON-RPC message from the client",
        "description": "`initialize` (without a session id) starts a session; every other message carries "
        "the session's `Mcp-Session-Id`. The tools are the registry's, as listed here.",
        "parameters": [
            _header(
                "Accept",
                {"type": "string", "enum": [f"{JSON}, {EVENT_STREAM}"]},
                "both: MCP answers JSON or an event stream",
            ),
            SESSION,
        ],
        "requestBody": {
            "required": True,
            "content": {
                JSON: {
                    "schema": {
                        "type": "object",
                        "required": ["jsonrpc", "method"],
                        "properties": {
                            "jsonrpc": {"const": "2.0"},
                            "id": {"type": ["string", "integer"]},
                            "method": {"type": "string", "minLength": 1},
                            "params": {"type": "object"},
                        },
                    }
                }
            },
        },
        "responses": {
            "200": {
                "description": "the JSON-RPC answer, as JSON or as an event stream",
                "content": {
                    JSON: {"schema": {"type": "object"}},
                    EVENT_STREAM: {"schema": {"type": "string"}},
                },
            },
            "202": _any_answer("a notification or a response, accepted"),
            **MCP_RESPONSES,
        },
    },
}
