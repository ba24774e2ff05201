"""The `mcp` SDK's own clients, as an agent would use them against `ballast mcp` and `/mcp`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import mcp.types as types
from mcp import Client, ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client


def answer(result: types.CallToolResult) -> dict[str, Any]:
    """A successful call's answer, as the model reads it (the text), checked against the structure."""
    assert not result.is_error, result.content
    text = result.content[0]
    assert isinstance(text, types.TextContent)
    parsed: dict[str, Any] = json.loads(text.text)
    assert parsed == result.structured_content
    return parsed


def refusal(result: types.CallToolResult) -> dict[str, Any]:
    """A refused call's error body."""
    assert result.is_error, result.content
    text = result.content[0]
    assert isinstance(text, types.TextContent)
    parsed: dict[str, Any] = json.loads(text.text)
    return parsed


class Agent:
    """An MCP client session with shorthands for calling tools."""

    def __init__(self, session: ClientSession | Client) -> None:
        self.session = session

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        return answer(await self.session.call_tool(tool, arguments))

    async def refused(self, tool: str, **arguments: Any) -> dict[str, Any]:
        return refusal(await self.session.call_tool(tool, arguments))

    async def tools(self) -> list[types.Tool]:
        return list((await self.session.list_tools()).tools)


def _http(token: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=300)
    )


@asynccontextmanager
async def over_http(base_url: str, token: str) -> AsyncIterator[Agent]:
    """An MCP session over streamable HTTP at `/mcp` (the initialize handshake, a session id)."""
    async with (
        _http(token) as http,
        streamable_http_client(f"{base_url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield Agent(session)


@asynccontextmanager
async def over_http_sessionless(base_url: str, token: str) -> AsyncIterator[Agent]:
    """The SDK's default `Client` over HTTP: it negotiates the newest protocol (no MCP session)."""
    async with (
        _http(token) as http,
        Client(streamable_http_client(f"{base_url}/mcp", http_client=http)) as client,
    ):
        yield Agent(client)


@asynccontextmanager
async def over_stdio(workspace: Path, token: str | None = None) -> AsyncIterator[Agent]:
    """`ballast mcp` in a subprocess, spoken to over its stdin and stdout."""
    args = ["-m", "ballast_tui.cli", "mcp", "--workspace", str(workspace)]
    if token is not None:
        args += ["--token", token]
    env = {key: value for key, value in os.environ.items() if key != "BALLAST_TOKEN"}
    parameters = StdioServerParameters(command=sys.executable, args=args, env=env)
    async with stdio_client(parameters) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield Agent(session)
