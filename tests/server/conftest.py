"""Fixtures: a REAL server on 127.0.0.1 (a free port) over a real workspace, and a real client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ballast_server.runner import start_server
from ballast_tui.config import Settings
from ballast_tui.engine.workspace import Workspace


class Api:
    """A client of one running server; every call answers (status, JSON body)."""

    def __init__(self, http: aiohttp.ClientSession, base: str, ws: Workspace) -> None:
        self.http = http
        self.base = base
        self.ws = ws

    def token(self, name: str) -> str:
        """A new user named `name`; its API token."""
        _user, token = self.ws.users.create(name)
        return token

    async def request(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        json: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(
            method, self.base + path, json=json, data=data, headers=all_headers
        ) as response:
            assert response.content_type == "application/json", await response.text()
            return response.status, await response.json()

    async def call(
        self, tool: str, token: str | None, session: str | None = None, **arguments: Any
    ) -> tuple[int, dict[str, Any]]:
        """POST /api/v1/tools/{tool} with `arguments` as the JSON body."""
        headers = {"X-Ballast-Session": session} if session else None
        return await self.request("POST", f"/api/v1/tools/{tool}", token, json=arguments, headers=headers)

    async def ok(self, tool: str, token: str, **arguments: Any) -> dict[str, Any]:
        """A call that must succeed; its body."""
        status, body = await self.call(tool, token, **arguments)
        assert status == 200, body
        assert body["success"] is True
        return body


ServeFactory = Callable[[Settings], Awaitable[Api]]


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[ServeFactory]:
    """Factory: start a server over a new workspace with `settings`; all stopped and closed after."""
    started: list[tuple[aiohttp.ClientSession, Any, Workspace]] = []

    async def start(settings: Settings) -> Api:
        ws = Workspace(tmp_path / f"ws{len(started)}", settings)
        runner, port = await start_server(ws, "127.0.0.1", 0)
        http = aiohttp.ClientSession()
        started.append((http, runner, ws))
        return Api(http, f"http://127.0.0.1:{port}", ws)

    yield start
    for http, runner, ws in reversed(started):
        await http.close()
        ws.executor.cancel()
        await runner.cleanup()
        ws.close()


@pytest.fixture
async def api(serve: ServeFactory) -> Api:
    """A server with the default settings."""
    return await serve(Settings())
