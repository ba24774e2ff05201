"""`ballast mcp`: the tool registry served to an agent over MCP, built on the official `mcp` SDK.

`build_server` makes the low-level MCP `Server`: every registry tool with its own pydantic JSON
Schema and the description written for a model that was declared with it; a call runs in the caller's
`AgentSession`. The same server is mounted on the HTTP server at `/mcp` (`server/mcp_http.py`).

`run_stdio` serves one agent over stdin/stdout. When the workspace's server is running, the agent
acts through it (HTTP tool calls and a WebSocket, as a session of kind `agent`), so its presence and
locks are the ones people see; otherwise this process opens the workspace and runs the engine.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

import ballast_tui
from ballast_tui.agent_docs import BOARD_DEFAULT_NOTE, INSTRUCTIONS
from ballast_tui.agent_session import AgentSession
from ballast_tui.backend import HEARTBEAT_S
from ballast_tui.engine.errors import ToolError
from ballast_tui.engine.ids import random_base36
from ballast_tui.engine.sessions import AGENT_CLIENT
from ballast_tui.opening import open_backend
from ballast_tui.tools.registry import Registry, load_registry

log = logging.getLogger("ballast.mcp")

Resolve = Callable[[ServerRequestContext[Any, Any]], AgentSession]
"""Finds the agent session of an MCP request (one per stdio process; one per HTTP session)."""


def new_session_id() -> str:
    """A fresh MCP session id, as presence shows it."""
    return f"mcp-{random_base36(12)}"


def agent_schema(registry: Registry, name: str) -> dict[str, Any]:
    """A tool's pydantic JSON Schema as MCP publishes it.

    The one difference from `GET /api/v1/tools`: the board argument is optional (said in its
    description), because an MCP session has a working board to fall back on.
    """
    tool = registry.get(name)
    schema = tool.args.model_json_schema()
    key = tool.board_argument
    if key is None or tool.explicit_board:
        return schema
    properties = dict(schema["properties"])
    properties[key] = {**properties[key], "description": BOARD_DEFAULT_NOTE}
    required = [field for field in schema.get("required", []) if field != key]
    published = {**schema, "properties": properties}
    if required:
        published["required"] = required
    else:
        published.pop("required", None)
    return published


def mcp_tools(registry: Registry) -> list[types.Tool]:
    """Every registry tool as MCP lists it: name, description for a model, schema, and the hints
    declared with the tool."""
    return [
        types.Tool(
            name=tool.name,
            description=tool.for_agents,
            input_schema=agent_schema(registry, tool.name),
            annotations=types.ToolAnnotations(
                title=tool.name.replace("_", " "),
                read_only_hint=tool.read_only,
                destructive_hint=None if tool.read_only else tool.destructive,
                idempotent_hint=None if tool.read_only else tool.idempotent,
                open_world_hint=False,
            ),
        )
        for tool in registry.tools()
    ]


def _text(value: dict[str, Any]) -> list[types.ContentBlock]:
    return [types.TextContent(type="text", text=json.dumps(value, separators=(",", ":"), default=str))]


def tool_result(answer: dict[str, Any]) -> types.CallToolResult:
    """A tool's answer: the JSON as text (what a model reads) and as structured content."""
    return types.CallToolResult(content=_text(answer), structured_content=answer)


def error_result(tool: str, error: ToolError) -> types.CallToolResult:
    """A refusal the model can act on: the contract's error body, naming the tool."""
    body = {**error.to_dict(), "tool": tool}
    return types.CallToolResult(content=_text(body), structured_content=body, is_error=True)


def build_server(resolve: Resolve, registry: Registry | None = None) -> Server[Any]:
    """The MCP server of the tool registry; each call runs in the session `resolve` finds."""
    registry = registry or load_registry()
    listed = types.ListToolsResult(tools=mcp_tools(registry))

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return listed

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        try:
            return tool_result(await resolve(ctx).run(params.name, params.arguments))
        except ToolError as error:
            return error_result(params.name, error)
        except Exception:
            log.exception("tool %s failed", params.name)
            return error_result(params.name, ToolError("internal error; the server log has the details"))

    return Server(
        "ballast",
        version=ballast_tui.__version__,
        title="Ballast dashboards",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def _serve(session: AgentSession) -> None:
    server = build_server(lambda _ctx: session)
    beat = asyncio.create_task(_heartbeats(session))
    try:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
    finally:
        beat.cancel()
        await session.close()


async def _heartbeats(session: AgentSession) -> None:
    """A stdio agent's process is its session: its locks last as long as it runs."""
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        if session.present:
            session.backend.heartbeat()


def run_stdio(root: Path, token: str | None) -> int:
    """Serve MCP on stdin/stdout until the client closes them; the exit status.

    Acts as the token's user (else the local OS user's account): through the workspace's running
    server when there is one, else on the workspace opened here (`open_backend`).
    """
    logging.basicConfig(level=logging.WARNING)  # stderr: stdout carries the protocol
    opened = open_backend(root, token, client=AGENT_CLIENT, session_id=new_session_id())
    try:
        asyncio.run(_serve(AgentSession(opened.backend)))
    finally:
        opened.close()
    return 0
