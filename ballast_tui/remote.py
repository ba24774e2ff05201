"""`RemoteBackend`: the same Backend, reached over HTTP (tools) and a WebSocket (events).

Used when the workspace is already served (another `ballast` runs it: its
`server.json` names a live process) and by `ballast connect URL`. Tool calls
carry this session's id, so locks taken by HTTP calls and by the WebSocket
are one session's. A dropped WebSocket is reopened with the last `seq` seen;
the app is told with synthetic ``connection`` events (``lost``, ``resumed``)
and a ``reload`` when too much was missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from ballast_tui.backend import SessionInfo
from ballast_tui.engine import errors
from ballast_tui.engine.events import Event
from ballast_tui.engine.ids import random_base36

ERRORS: dict[str, type[errors.ToolError]] = {
    cls.code: cls
    for cls in (
        errors.InvalidRequest,
        errors.Unauthorized,
        errors.PasswordRequired,
        errors.Forbidden,
        errors.NotFound,
        errors.Conflict,
        errors.TooLarge,
        errors.Locked,
        errors.RateLimited,
    )
}
HEARTBEAT_S = 10.0
RECONNECT_MAX_S = 10.0
CHUNK = 1 << 16


def error_from(status: int, body: dict[str, Any]) -> errors.ToolError:
    """The ToolError an error answer stands for (the same class the engine raises)."""
    cls = ERRORS.get(str(body.get("error")), errors.ToolError)
    extra = {k: v for k, v in body.items() if k not in ("success", "error", "message")}
    error = cls(str(body.get("message") or f"the server answered {status}"), **extra)
    if cls is errors.ToolError:
        error.status, error.code = status, str(body.get("error", "internal"))
    return error


async def keep_alive(socket: aiohttp.ClientWebSocketResponse) -> None:
    """Send heartbeats while the socket is open: a session's locks last as long as they come."""
    with contextlib.suppress(ConnectionError, RuntimeError):
        while not socket.closed:
            await socket.send_json({"type": "heartbeat"})
            await asyncio.sleep(HEARTBEAT_S)


class RemoteBackend:
    """Tools over `/api/v1/tools/*`, events over `/api/v1/ws`."""

    def __init__(self, url: str, token: str, client: str = "tui", session_id: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.client = client
        self.session = SessionInfo(session_id or f"tui-{random_base36(10)}", "", "", "human", self.url)
        self._http: aiohttp.ClientSession | None = None
        self._headers = {
            "Authorization": f"Bearer {token}",
            "X-Ballast-Session": self.session.session_id,
            "X-Ballast-Client": client,
        }

    async def start(self) -> RemoteBackend:
        """Connect once to learn who we are; raises Unauthorized for a bad token, OSError if unreachable.

        Uses a client of its own, so it can run on another loop than the app's.
        """
        try:
            async with (
                aiohttp.ClientSession(headers=self._headers) as http,
                http.ws_connect(self.ws_url(), heartbeat=HEARTBEAT_S) as socket,
            ):
                frame = await socket.receive(timeout=10)
        except aiohttp.WSServerHandshakeError as refused:
            if refused.status == 401:
                raise errors.Unauthorized("the server refused the token") from None
            raise
        if frame.type != aiohttp.WSMsgType.TEXT:
            raise errors.Unauthorized("the server refused the token")
        user = json.loads(frame.data)["user"]
        self.session = SessionInfo(self.session.session_id, user["id"], user["name"], user["kind"], self.url)
        return self

    def ws_url(self) -> str:
        """The WebSocket address of this session."""
        base = self.url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return f"{base}/api/v1/ws?session={self.session.session_id}&client={self.client}"

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(headers=self._headers)
        return self._http

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        async with self.http.post(f"{self.url}/api/v1/tools/{tool}", json=arguments) as response:
            body = await response.json(content_type=None)
        if response.status != 200 or not body.get("success"):
            raise error_from(response.status, body)
        return body  # type: ignore[no-any-return]

    async def events(self, dashboard_id: str) -> AsyncIterator[Event]:
        """The board's events; reconnects on its own, resuming from the last `seq`."""
        last_seq: int | None = None
        delay = 0.5
        lost = False
        while True:
            try:
                async with self.http.ws_connect(self.ws_url(), heartbeat=HEARTBEAT_S) as socket:
                    join: dict[str, Any] = {"type": "join", "dashboard_id": dashboard_id}
                    if last_seq is not None:
                        join["last_seq"] = last_seq
                    await socket.send_json(join)
                    beat = asyncio.create_task(keep_alive(socket))
                    try:
                        async for frame in socket:
                            if frame.type != aiohttp.WSMsgType.TEXT:
                                continue
                            event = json.loads(frame.data)
                            if event.get("type") == "joined":
                                if lost:
                                    yield {
                                        "type": "connection",
                                        "state": "resumed",
                                        "dashboard_id": dashboard_id,
                                    }
                                    lost, delay = False, 0.5
                                last_seq = last_seq if last_seq is not None else event.get("seq", 0)
                                continue
                            if event.get("type") == "error" and event.get("request") == "join":
                                raise error_from(403, event)
                            if "seq" in event and event.get("dashboard_id") == dashboard_id:
                                last_seq = event["seq"]
                            if event.get("type") not in ("welcome", "heartbeat"):
                                yield event
                    finally:
                        beat.cancel()
            except (TimeoutError, aiohttp.ClientError, OSError):
                pass
            if not lost:
                lost = True
                yield {"type": "connection", "state": "lost", "dashboard_id": dashboard_id}
            await asyncio.sleep(delay)
            delay = min(RECONNECT_MAX_S, delay * 2)

    async def export(self, dashboard_id: str, block_id: str, fmt: str, target: Path) -> int:
        """Stream a block's whole output to `target`; the number of bytes written."""
        url = f"{self.url}/api/v1/dashboards/{dashboard_id}/blocks/{block_id}/data.{fmt}"
        written = 0
        async with self.http.get(url) as response:
            if response.status != 200:
                raise error_from(response.status, await response.json(content_type=None))
            with open(target, "wb") as sink:
                async for chunk in response.content.iter_chunked(CHUNK):
                    sink.write(chunk)
                    written += len(chunk)
        return written

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
