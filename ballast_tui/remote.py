"""`RemoteBackend`: the same Backend, reached over HTTP (tools) and a WebSocket (events).

Used when the workspace is already served (another `ballast` runs it: its
`server.json` names a live process) and by `ballast connect URL`. Tool calls
carry this session's id, so locks taken by HTTP calls and by the WebSocket
are one session's. A dropped WebSocket is reopened with the last `seq` seen;
the app is told with `Connection` events (``lost``, ``resumed``) and a
`Reload` when too much was missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from ballast_tui.backend import SessionInfo, import_staged
from ballast_tui.engine import errors
from ballast_tui.engine.events import AccessLost, Connection, Event, event_from_dict
from ballast_tui.engine.exports import ROWS_HEADER, ExportSink, FileSink
from ballast_tui.engine.ids import random_base36
from ballast_tui.engine.staging import UPLOADED, Progress, renamed_in

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

    def __init__(
        self,
        url: str,
        token: str,
        client: str = "tui",
        session_id: str | None = None,
        staging: Path | None = None,
    ) -> None:
        """`staging`: the workspace's import directory, when this client runs on the server's box (files
        to import are then copied there rather than uploaded)."""
        self.staging = staging
        self.url = url.rstrip("/")
        self.token = token
        self.client = client
        self.session = SessionInfo(session_id or f"tui-{random_base36(10)}", "", "", "human", self.url)
        self._http: aiohttp.ClientSession | None = None
        self._following: str | None = None
        self._presence: asyncio.Task[None] | None = None
        self._socket: aiohttp.ClientWebSocketResponse | None = None
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
        """The board's events; reconnects on its own, resuming from the last `seq`. Ends after an
        `AccessLost`."""
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
                            message = json.loads(frame.data)
                            kind = message.get("type")
                            if kind == "joined":
                                if lost:
                                    yield Connection(dashboard_id=dashboard_id, state="resumed")
                                    lost, delay = False, 0.5
                                last_seq = last_seq if last_seq is not None else message.get("seq", 0)
                                continue
                            if kind == "error" and message.get("request") == "join":
                                raise error_from(403, message)
                            event = event_from_dict(message)
                            if event is None or event.dashboard_id != dashboard_id:
                                continue
                            if event.seq:
                                last_seq = event.seq
                            yield event
                            if isinstance(event, AccessLost):
                                return
                    finally:
                        beat.cancel()
            except (TimeoutError, aiohttp.ClientError, OSError):
                pass
            if not lost:
                lost = True
                yield Connection(dashboard_id=dashboard_id, state="lost")
            await asyncio.sleep(delay)
            delay = min(RECONNECT_MAX_S, delay * 2)

    async def follow(self, dashboard_id: str | None) -> None:
        """Be present in `dashboard_id` through a WebSocket of this session (kept open, reconnecting,
        until `close`); None leaves."""
        self._following = dashboard_id
        if self._presence is None:
            self._presence = asyncio.create_task(self._present())
        elif self._socket is not None and not self._socket.closed:
            message = {"type": "join", "dashboard_id": dashboard_id} if dashboard_id else {"type": "leave"}
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self._socket.send_json(message)

    def heartbeat(self) -> None:
        """Nothing to do: the session's WebSockets send heartbeats while they are open."""

    async def _present(self) -> None:
        """Keep the session's WebSocket open (reconnecting), in the board it follows."""
        delay = 0.5
        while True:
            with contextlib.suppress(TimeoutError, aiohttp.ClientError, OSError):
                async with self.http.ws_connect(self.ws_url(), heartbeat=HEARTBEAT_S) as socket:
                    self._socket, delay = socket, 0.5
                    if self._following is not None:
                        await socket.send_json({"type": "join", "dashboard_id": self._following})
                    beat = asyncio.create_task(keep_alive(socket))
                    try:
                        async for _frame in socket:
                            pass  # an agent reads state with tools, not events
                    finally:
                        beat.cancel()
                        self._socket = None
            await asyncio.sleep(delay)
            delay = min(RECONNECT_MAX_S, delay * 2)

    async def export(self, dashboard_id: str, block_id: str, fmt: str, target: Path) -> int:
        """Stream a block's whole output to `target` (written beside it, renamed over it once the
        whole export arrived); the number of bytes written."""
        sink = FileSink(target)
        try:
            rows = await self.stream_export(dashboard_id, block_id, fmt, sink)
            sink.commit()
            return rows
        finally:
            sink.discard()

    async def stream_export(self, dashboard_id: str, block_id: str, fmt: str, sink: ExportSink) -> int:
        """Stream a block's whole output into `sink` (asked for its file once the server accepted the
        export); the number of rows."""
        url = f"{self.url}/api/v1/dashboards/{dashboard_id}/blocks/{block_id}/data.{fmt}"
        async with self.http.get(url) as response:
            if response.status != 200:
                raise error_from(response.status, await response.json(content_type=None))
            rows = int(response.headers.get(ROWS_HEADER, "0"))
            out = sink.begin(block_id, fmt, rows)
            try:
                async for chunk in response.content.iter_chunked(CHUNK):
                    out.write(chunk)
            except aiohttp.ClientPayloadError:
                raise errors.ToolError(
                    "the export broke off: the server failed after it started sending (its log says why); "
                    "nothing was written"
                ) from None
        return rows

    async def import_file(
        self,
        dashboard_id: str,
        path: Path,
        name: str,
        fmt: str,
        progress: Progress | None = None,
        sheet: str | None = None,
    ) -> dict[str, Any]:
        """Import a file of this machine: copied into the workspace's import directory when the server
        is on this box, else streamed to the server's upload route."""
        if self.staging is not None:
            return await import_staged(self, self.staging, dashboard_id, path, name, fmt, progress, sheet)
        total = path.stat().st_size

        async def chunks() -> AsyncIterator[bytes]:
            done = 0
            with open(path, "rb") as reader:
                while chunk := await asyncio.to_thread(reader.read, CHUNK):
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
                    yield chunk

        url = f"{self.url}/api/v1/dashboards/{quote(dashboard_id)}/imports"
        params = {"name": name, "format": fmt, **({"sheet": sheet} if sheet is not None else {})}
        async with self.http.post(url, params=params, data=chunks()) as response:
            body = await response.json(content_type=None)
        if response.status != 200 or not body.get("success"):
            raise renamed_in(error_from(response.status, body), UPLOADED, str(path))
        return body  # type: ignore[no-any-return]

    async def close(self) -> None:
        if self._presence is not None:
            self._presence.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._presence
            self._presence = None
        if self._http is not None:
            await self._http.close()
            self._http = None
