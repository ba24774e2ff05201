"""`ballast mcp`: the tool registry served to an agent over MCP, built on the official `mcp` SDK.

`build_server` makes the low-level MCP `Server`: every registry tool with its own pydantic JSON
Schema and a description written for a model (`agent_docs`); a call runs in the caller's
`AgentSession`. The same server is mounted on the HTTP server at `/mcp` (`server/mcp_http.py`).

`run_stdio` serves one agent over stdin/stdout. When the workspace's server is running, the agent
acts through it (HTTP tool calls and a WebSocket, as a session of kind `agent`), so its presence and
locks are the ones people see; otherwise this process opens the workspace and runs the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

import ballast_tui
from ballast_tui.agent_docs import (
    BOARD_DEFAULT_NOTE,
    DESTRUCTIVE,
    EXPLICIT_BOARD,
    IDEMPOTENT,
    INSTRUCTIONS,
    READ_ONLY,
    description,
)
from ballast_tui.agent_session import HEARTBEAT_S, AgentSession, LocalCaller, board_argument
from ballast_tui.config import WorkspacePaths, live_server
from ballast_tui.engine.errors import ToolError
from ballast_tui.engine.ids import random_base36
from ballast_tui.engine.sessions import AGENT_CLIENT
from ballast_tui.engine.users import Users
from ballast_tui.engine.workspace import Workspace
from ballast_tui.remote import RemoteBackend, keep_alive
from ballast_tui.storage.db import Database
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
    schema = registry.get(name).args.model_json_schema()
    key = board_argument(registry, name)
    if key is None or name in EXPLICIT_BOARD:
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
    """Every registry tool as MCP lists it: name, description for a model, schema, hints."""
    tools = []
    for tool in registry.describe():
        name = tool["name"]
        read_only = name in READ_ONLY
        tools.append(
            types.Tool(
                name=name,
                description=description(name, tool["description"]),
                input_schema=agent_schema(registry, name),
                annotations=types.ToolAnnotations(
                    title=name.replace("_", " "),
                    read_only_hint=read_only,
                    destructive_hint=None if read_only else name in DESTRUCTIVE,
                    idempotent_hint=None if read_only else name in IDEMPOTENT,
                    open_world_hint=False,
                ),
            )
        )
    return tools


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


class RemoteCaller:
    """Tools through the workspace's running server, as one session of kind `agent`: HTTP tool calls
    and one WebSocket (presence and heartbeats) under the same session id."""

    def __init__(self, backend: RemoteBackend) -> None:
        self.backend = backend
        self.board_id: str | None = None
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def user_name(self) -> str:
        return self.backend.session.user_name

    async def start(self) -> RemoteCaller:
        """Check the token (`Unauthorized` when refused) and open the session's WebSocket."""
        await self.backend.start()
        self._task = asyncio.create_task(self._connected())
        return self

    async def _connected(self) -> None:
        """Keep the session's WebSocket open (reconnecting), in the working board."""
        delay = 0.5
        while True:
            with contextlib.suppress(TimeoutError, aiohttp.ClientError, OSError):
                async with self.backend.http.ws_connect(
                    self.backend.ws_url(), heartbeat=HEARTBEAT_S
                ) as socket:
                    self._socket, delay = socket, 0.5
                    if self.board_id is not None:
                        await socket.send_json({"type": "join", "dashboard_id": self.board_id})
                    beat = asyncio.create_task(keep_alive(socket))
                    try:
                        async for _frame in socket:
                            pass  # the board's events: an agent reads state with tools instead
                    finally:
                        beat.cancel()
                        self._socket = None
            await asyncio.sleep(delay)
            delay = min(10.0, delay * 2)

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self.backend.call(tool, **arguments)
        except (aiohttp.ClientError, OSError) as error:
            unreachable = ToolError(
                f"cannot reach the Ballast server at {self.backend.url} ({error}); "
                "it may have stopped: try again once it runs"
            )
            unreachable.status, unreachable.code = 503, "unavailable"
            raise unreachable from None

    async def follow(self, board_id: str | None) -> None:
        self.board_id = board_id
        if self._socket is not None and not self._socket.closed:
            message = {"type": "join", "dashboard_id": board_id} if board_id else {"type": "leave"}
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self._socket.send_json(message)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.backend.close()


async def _serve(session: AgentSession) -> None:
    server = build_server(lambda _ctx: session)
    try:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
    finally:
        await session.close()


async def _through_server(url: str, token: str) -> None:
    backend = RemoteBackend(url, token, client=AGENT_CLIENT, session_id=new_session_id())
    caller = await RemoteCaller(backend).start()
    await _serve(AgentSession(caller))


def run_stdio(root: Path, token: str | None) -> int:
    """Serve MCP on stdin/stdout until the client closes them; the exit status.

    Acts as the token's user (else the local OS user's account): through the workspace's running
    server when there is one, else on the workspace opened here.
    """
    logging.basicConfig(level=logging.WARNING)  # stderr: stdout carries the protocol
    paths = WorkspacePaths(root)
    info = live_server(paths) if paths.db.exists() else None
    if info is not None and info.get("pid") != os.getpid():
        url = str(info["url"])
        if token is not None:
            asyncio.run(_through_server(url, token))
            return 0
        users = Users(Database(paths.db))
        minted = users.add_token(users.local().id)
        try:
            asyncio.run(_through_server(url, minted))
        finally:
            users.revoke(minted)
            users.db.close()
        return 0
    with Workspace(root) as ws:
        user = ws.users.authenticate(token) if token else ws.users.local()

        async def in_process() -> None:
            caller = LocalCaller(ws, user, new_session_id(), heartbeat_s=HEARTBEAT_S)
            await _serve(AgentSession(caller))

        asyncio.run(in_process())
    return 0
