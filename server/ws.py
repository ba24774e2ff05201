"""`GET /api/v1/ws`: live sessions. Presence, block locks, and the bus fanned out.

A client authenticates with `Authorization: Bearer` or `?token=`, names its
session with `?session=` (or `X-Ballast-Session`; the same id its HTTP tool
calls send, so locks taken either way are one session's), then sends:

- ``{"type": "join", "dashboard_id": …, "last_seq": n?}``: follow a board; with
  `last_seq`, the events missed since are sent first, or ``{"type": "reload"}``
  when too many were missed;
- ``{"type": "heartbeat"}``: keeps its locks (answered with a heartbeat);
- ``{"type": "open" | "close", "dashboard_id", "block_id"}``: take or release
  a block's lock (the tools `block_open` / `block_close`);
- ``{"type": "leave"}``.

The server pushes the board's events (each with `dashboard_id` and `seq`),
answers `welcome` on connect, and `error` (the contract's error shape) when a
message is refused. Roles are checked by the tools, as everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from ballast_tui.engine.errors import Forbidden, InvalidRequest, ToolError, Unauthorized
from ballast_tui.engine.events import Event
from ballast_tui.engine.ids import random_base36
from ballast_tui.engine.sessions import announce_released
from ballast_tui.engine.users import User
from ballast_tui.tools.registry import Context
from server.jsonio import dumps
from server.keys import AUTH_POOL, REGISTRY, WEBSOCKETS, WORKSPACE
from server.middlewares import public

log = logging.getLogger("ballast.server.ws")

HEARTBEAT_S = 10.0  # aiohttp pings; a client that stops answering is dropped within ~15 s
MAX_MESSAGE = 1024 * 1024
SEND_QUEUE = 10_000


def _same_origin(request: web.Request) -> bool:
    """A browser page of another origin may not open a WebSocket here; non-browser clients send no Origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.host.lower()


def _token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if header and scheme.lower() == "bearer" and token.strip():
        return token.strip()
    query = request.query.get("token", "")
    if query:
        return query
    raise Unauthorized("a bearer token is required (Authorization header or ?token=)")


async def _authenticate(request: web.Request) -> User:
    loop = asyncio.get_running_loop()
    users = request.app[WORKSPACE].users
    return await loop.run_in_executor(request.app[AUTH_POOL], users.authenticate, _token(request))


class LiveSession:
    """One WebSocket connection: its session, the board it follows, and its outgoing queue."""

    def __init__(
        self, request: web.Request, socket: web.WebSocketResponse, user: User, session_id: str
    ) -> None:
        self.app = request.app
        self.ws = request.app[WORKSPACE]
        self.socket = socket
        self.user = user
        client = request.query.get("client") or request.headers.get("X-Ballast-Client") or "api"
        self.context = Context(self.ws, user, session_id, client=client[:64])
        self.dashboard_id: str | None = None
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=SEND_QUEUE)
        self._unsubscribe: Any = None
        self._loop = asyncio.get_running_loop()

    @property
    def key(self) -> str:
        return self.context.session_key

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message; a client too slow to keep up is closed rather than let memory grow."""
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("closing a WebSocket that fell %d messages behind", SEND_QUEUE)
            self._loop.create_task(self.socket.close(message=b"too slow"))

    def _deliver(self, event: Event) -> None:
        # Called on whichever thread published: hop onto the loop.
        self._loop.call_soon_threadsafe(self.send, event)

    async def writer(self) -> None:
        while True:
            message = await self.outbox.get()
            await self.socket.send_str(dumps(message))

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        return await self.app[REGISTRY].acall(self.context, tool, arguments)

    def publish_presence(self, dashboard_id: str) -> None:
        self.ws.bus.publish(dashboard_id, "presence", sessions=self.ws.sessions.presence(dashboard_id))

    async def join(self, message: dict[str, Any]) -> None:
        dashboard_id = message.get("dashboard_id")
        if not isinstance(dashboard_id, str):
            raise InvalidRequest("join needs a dashboard_id")
        await self.call("dashboard_presence", dashboard_id=dashboard_id)  # the role check, and presence
        self.leave()
        self.dashboard_id = dashboard_id
        last_seq = message.get("last_seq")
        if last_seq is not None:
            if not isinstance(last_seq, int):
                raise InvalidRequest("last_seq must be an integer")
            missed = self.ws.bus.since(dashboard_id, last_seq)
            if missed is None:
                self.send(
                    {
                        "type": "reload",
                        "dashboard_id": dashboard_id,
                        "seq": self.ws.bus.last_seq(dashboard_id),
                    }
                )
            else:
                for event in missed:
                    self.send(event)
        self._unsubscribe = self.ws.bus.subscribe(dashboard_id, self._deliver)
        self.ws.sessions.join(self.key, dashboard_id)
        self.send({"type": "joined", "dashboard_id": dashboard_id, "seq": self.ws.bus.last_seq(dashboard_id)})
        self.publish_presence(dashboard_id)

    def leave(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        self.ws.sessions.heartbeat(self.key)
        if kind == "heartbeat":
            self.send({"type": "heartbeat"})
        elif kind == "join":
            await self.join(message)
        elif kind in ("open", "close"):
            answer = await self.call(
                f"block_{kind}", dashboard_id=message.get("dashboard_id"), block_id=message.get("block_id")
            )
            self.send({"type": f"{kind}ed" if kind == "open" else "closed", **answer})
        elif kind == "leave":
            self.leave()
            if self.dashboard_id:
                self.ws.sessions.join(self.key, "")
                self.publish_presence(self.dashboard_id)
                self.dashboard_id = None
        else:
            raise InvalidRequest(f"unknown message type {kind!r}: use join, heartbeat, open, close or leave")

    def disconnect(self) -> None:
        """The connection is gone: its locks and its presence go with it."""
        self.leave()
        announce_released(self.ws.bus, self.ws.sessions.leave(self.key))
        if self.dashboard_id:
            self.publish_presence(self.dashboard_id)


@public
async def websocket(request: web.Request) -> web.StreamResponse:
    """Upgrade to a live session (see the module's docstring for the protocol)."""
    if not _same_origin(request):
        raise Forbidden("WebSocket connections from pages of another origin are refused")
    user = await _authenticate(request)
    session_id = (
        request.query.get("session") or request.headers.get("X-Ballast-Session") or f"ws-{random_base36(10)}"
    )
    socket = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_MESSAGE)
    await socket.prepare(request)
    request.app[WEBSOCKETS].add(socket)
    live = LiveSession(request, socket, user, session_id[:128])
    request.app[WORKSPACE].sessions.ensure(live.key, user.id, user.name, user.kind, live.context.client)
    live.send({"type": "welcome", "session": session_id, "user": user.describe()})
    writer = asyncio.create_task(live.writer())
    try:
        async for frame in socket:
            if frame.type != WSMsgType.TEXT:
                continue
            try:
                message = json.loads(frame.data)
                if not isinstance(message, dict):
                    raise InvalidRequest("each message must be a JSON object")
                await live.handle(message)
            except ValueError:
                live.send({"type": "error", **InvalidRequest("a message is not valid JSON").to_dict()})
            except ToolError as error:
                live.send({"type": "error", "request": message.get("type"), **error.to_dict()})
    finally:
        live.disconnect()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    return socket


def setup_ws(app: web.Application) -> None:
    """Register the WebSocket route and the lock reaper."""
    app.router.add_get("/api/v1/ws", websocket)
    app.cleanup_ctx.append(lock_reaper)


REAP_EVERY_S = 2.0


async def lock_reaper(app: web.Application) -> AsyncIterator[None]:
    """Release the locks of sessions silent past the timeout, and tell their boards (cleanup_ctx)."""
    ws = app[WORKSPACE]

    async def reap() -> None:
        while True:
            await asyncio.sleep(REAP_EVERY_S)
            for lock in ws.sessions.expire():
                ws.bus.publish(
                    lock.dashboard_id,
                    "lock",
                    block_id=lock.block_id,
                    lock=None,
                    released=lock.describe(),
                    reason="timeout",
                )
                ws.bus.publish(
                    lock.dashboard_id, "presence", sessions=ws.sessions.presence(lock.dashboard_id)
                )

    task = asyncio.create_task(reap())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
