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
message is refused. The connection is one engine `LiveSession`: it checks who
may see the board at `join` and again before delivering each event; a session
that lost access gets ``{"type": "access_lost", "dashboard_id"}`` and nothing
more of that board.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from ballast_server.auth import identify
from ballast_server.jsonio import dumps, parse_json
from ballast_server.keys import REGISTRY, WEBSOCKETS, WORKSPACE
from ballast_server.middlewares import public
from ballast_tui.engine.errors import Forbidden, InvalidRequest, ToolError, Unauthorized
from ballast_tui.engine.events import Event
from ballast_tui.engine.ids import random_base36
from ballast_tui.engine.live import LiveSession
from ballast_tui.engine.sessions import reap
from ballast_tui.engine.users import Identity

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


class Connection:
    """One WebSocket: its engine `LiveSession`, and its outgoing queue (bounded)."""

    def __init__(
        self, request: web.Request, socket: web.WebSocketResponse, identity: Identity, session_id: str
    ) -> None:
        self.app = request.app
        self.socket = socket
        client = request.query.get("client") or request.headers.get("X-Ballast-Client") or "api"
        self._loop = asyncio.get_running_loop()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=SEND_QUEUE)
        ws = request.app[WORKSPACE]
        token_id = identity.token_id
        self.live = LiveSession(
            ws,
            identity.user,
            session_id,
            client[:64],
            self._deliver,
            still_valid=lambda: ws.users.tokens.live(token_id),
        )

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message; a client too slow to keep up is closed rather than let memory grow."""
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("closing a WebSocket that fell %d messages behind", SEND_QUEUE)
            self._loop.create_task(self.socket.close(message=b"too slow"))

    def _deliver(self, event: Event) -> None:
        # Called on whichever thread published: hop onto the loop.
        self._loop.call_soon_threadsafe(self.send, event.to_dict())

    async def writer(self) -> None:
        while True:
            message = await self.outbox.get()
            await self.socket.send_str(dumps(message))

    async def join(self, message: dict[str, Any]) -> None:
        dashboard_id = message.get("dashboard_id")
        if not isinstance(dashboard_id, str):
            raise InvalidRequest("join needs a dashboard_id")
        last_seq = message.get("last_seq")
        if last_seq is not None and (not isinstance(last_seq, int) or isinstance(last_seq, bool)):
            raise InvalidRequest("last_seq must be an integer")
        joined = await asyncio.to_thread(self.live.join, dashboard_id, last_seq)
        for event in joined.missed:
            self.send(event.to_dict())
        self.send({"type": "joined", "dashboard_id": dashboard_id, "seq": joined.seq})
        self.live.release()

    async def handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        self.live.heartbeat()
        if kind == "heartbeat":
            self.send({"type": "heartbeat"})
        elif kind == "join":
            await self.join(message)
        elif kind in ("open", "close"):
            arguments = {"dashboard_id": message.get("dashboard_id"), "block_id": message.get("block_id")}
            answer = await self.app[REGISTRY].acall(self.live.context, f"block_{kind}", arguments)
            self.send({"type": "opened" if kind == "open" else "closed", **answer})
        elif kind == "leave":
            await asyncio.to_thread(self.live.leave)
        else:
            raise InvalidRequest(f"unknown message type {kind!r}: use join, heartbeat, open, close or leave")


def _message(text: str) -> dict[str, Any]:
    """One client message: a JSON object no deeper than `MAX_JSON_DEPTH`, else `InvalidRequest`."""
    message = parse_json(text, "a message")
    if not isinstance(message, dict):
        raise InvalidRequest("each message must be a JSON object")
    return message


@public
async def websocket(request: web.Request) -> web.StreamResponse:
    """Upgrade to a live session (see the module's docstring for the protocol)."""
    if not _same_origin(request):
        raise Forbidden("WebSocket connections from pages of another origin are refused")
    identity = await identify(request, _token(request))
    user = identity.user
    session_id = (
        request.query.get("session") or request.headers.get("X-Ballast-Session") or f"ws-{random_base36(10)}"
    )
    socket = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_MESSAGE)
    await socket.prepare(request)
    request.app[WEBSOCKETS].add(socket)
    live = Connection(request, socket, identity, session_id[:128])
    live.send({"type": "welcome", "session": session_id, "user": user.describe()})
    writer = asyncio.create_task(live.writer())
    try:
        async for frame in socket:
            if frame.type != WSMsgType.TEXT:
                continue
            message: dict[str, Any] | None = None
            try:
                message = _message(frame.data)
                await live.handle(message)
            except ToolError as error:
                request_type = {"request": message.get("type")} if message is not None else {}
                live.send({"type": "error", **request_type, **error.to_dict()})
    finally:
        await asyncio.to_thread(live.live.close)
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

    async def reap_forever() -> None:
        while True:
            await asyncio.sleep(REAP_EVERY_S)
            await asyncio.to_thread(reap, ws.bus, ws.sessions)

    task = asyncio.create_task(reap_forever())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
