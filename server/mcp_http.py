"""`/mcp`: the MCP server over streamable HTTP, for agents elsewhere (bearer auth, like the API).

The SDK's streamable HTTP transport is an ASGI application; `mcp_endpoint` hands it each aiohttp
request (an ASGI scope, the body, and a `send` that writes an aiohttp `StreamResponse`, streamed
for SSE). The auth middleware has already turned the bearer token into a user, as for every route;
the SDK binds each MCP session to that user.

Each agent gets an `AgentSession` acting as the token's user, in this process's workspace, keyed by
its MCP session (`Mcp-Session-Id`), else by `X-Ballast-Session`, else by its token. It shows in
presence as a session of kind `agent`. The server cannot see a remote agent go, so its locks are
kept while it makes calls, and after `PRESENCE_IDLE_S` without one it leaves presence and its
locks go (its next call brings it back); after `FORGET_S`, or when the client ends the MCP session
(`DELETE /mcp`), the session and its working board are forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

from aiohttp import web
from mcp.server import Server, ServerRequestContext
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.types import PARSE_ERROR

from ballast_server.jsonio import MAX_JSON_DEPTH, too_deep
from ballast_server.keys import REGISTRY, USER, WORKSPACE
from ballast_server.middlewares import bearer_token
from ballast_tui.agent_session import AgentSession
from ballast_tui.backend import LocalBackend
from ballast_tui.engine.sessions import AGENT_CLIENT
from ballast_tui.engine.users import User
from ballast_tui.engine.workspace import Workspace
from ballast_tui.mcp_server import build_server
from ballast_tui.tools.registry import Registry

log = logging.getLogger("ballast.server.mcp")

MCP_PATH = "/mcp"
SESSION_HEADER = "mcp-session-id"
PRESENCE_IDLE_S = 120.0
"""An HTTP agent silent this long leaves presence and loses its locks (until its next call)."""
FORGET_S = 30 * 60.0
"""An HTTP agent silent this long is forgotten, with its working board (the SDK's session idle time)."""
REAP_EVERY_S = 5.0
DISCONNECT_POLL_S = 1.0
_AGENT_KEY = "ballast.agent"


class AgentSessions:
    """The agent sessions of remote MCP clients, by user and session key."""

    def __init__(self, ws: Workspace, registry: Registry) -> None:
        self.ws = ws
        self.registry = registry
        self._sessions: dict[tuple[str, str], AgentSession] = {}

    def get(self, user: User, key: str) -> AgentSession:
        """The session of that key (the session id presence shows) for that user, created on first use."""
        session = self._sessions.get((user.id, key))
        if session is None:
            backend = LocalBackend(self.ws, user, self.registry, client=AGENT_CLIENT, session_id=key)
            session = self._sessions[(user.id, key)] = AgentSession(backend, self.registry)
        return session

    async def end(self, user: User, key: str) -> None:
        """The client ended its MCP session: leave, forget."""
        session = self._sessions.pop((user.id, key), None)
        if session is not None:
            await session.close()

    async def reap(self) -> None:
        """Keep the locks of agents that are calling; let quiet ones go."""
        now = time.monotonic()
        for ident, session in list(self._sessions.items()):
            backend = session.backend
            assert isinstance(backend, LocalBackend)
            idle = now - session.last_active
            if idle > FORGET_S:
                del self._sessions[ident]
                await session.close()
            elif idle > PRESENCE_IDLE_S:
                if session.present:
                    await session.away()
            else:
                backend.heartbeat()

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()


class McpHttp:
    """The MCP server, its streamable HTTP session manager, and the agents it serves."""

    def __init__(self, ws: Workspace, registry: Registry) -> None:
        self.agents = AgentSessions(ws, registry)
        self.server: Server[Any] = build_server(self._resolve, registry)
        self.manager = StreamableHTTPSessionManager(
            app=self.server,
            json_response=True,
            max_request_body_size=ws.settings.max_body,
            session_idle_timeout=FORGET_S,
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _resolve(self, ctx: ServerRequestContext[Any, Any]) -> AgentSession:
        """The agent session of a tool call: its user and key ride in the request's ASGI scope."""
        request = ctx.request
        if request is None or _AGENT_KEY not in request.scope:
            raise RuntimeError("an MCP call over HTTP without its agent session")
        user, key = request.scope[_AGENT_KEY]
        return self.agents.get(user, key)

    async def start(self) -> None:
        """Run the session manager (in a task of its own, so it starts and stops in one task)."""
        started = asyncio.Event()

        async def run() -> None:
            async with self.manager.run():
                started.set()
                reaper = asyncio.create_task(self._reaper())
                try:
                    await self._stop.wait()
                finally:
                    reaper.cancel()

        self._task = asyncio.create_task(run())
        waiting = asyncio.create_task(started.wait())
        await asyncio.wait({self._task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if not started.is_set():
            waiting.cancel()
            await self._task  # raises what stopped it

    async def _reaper(self) -> None:
        while True:
            await asyncio.sleep(REAP_EVERY_S)
            await self.agents.reap()

    async def stop(self) -> None:
        """End every MCP session (open streams close) and every agent session."""
        if self._task is None:
            return
        self._stop.set()
        task, self._task = self._task, None
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self.agents.close()


MCP = web.AppKey("mcp", McpHttp)


def _session_key(request: web.Request, token: str) -> str:
    """Which agent session a request belongs to, as presence names it: its MCP session, the one
    `X-Ballast-Session` names, or (a client of the session-less protocol) its token's."""
    mcp_session = request.headers.get(SESSION_HEADER)
    if mcp_session:
        return f"mcp-{mcp_session[:12]}"
    named = request.headers.get("X-Ballast-Session")
    if named:
        return named[:128]
    return f"mcp-{hashlib.sha256(token.encode()).hexdigest()[:12]}"


def _scope(request: web.Request, user: User, token: str, key: str) -> dict[str, Any]:
    """The ASGI scope of an aiohttp request, carrying the user (for the SDK) and the agent session's key."""
    host, _, port = request.host.partition(":")
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": f"{request.version.major}.{request.version.minor}",
        "method": request.method,
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.raw_path.split("?", 1)[0].encode(),
        "query_string": request.query_string.encode(),
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in request.raw_headers],
        "client": tuple(peer[:2]) if isinstance(peer, tuple) else None,
        "server": (host, int(port) if port.isdigit() else 80),
        "state": {},
        "user": AuthenticatedUser(AccessToken(token=token, client_id=user.id, scopes=[])),
        _AGENT_KEY: (user, key),
    }


class _Reply:
    """ASGI `receive`/`send` over one aiohttp request: the body once, then the client's disconnect;
    the answer as a `StreamResponse`, streamed as it comes."""

    def __init__(self, request: web.Request, body: bytes) -> None:
        self.request = request
        self.body: bytes | None = body
        self.response: web.StreamResponse | None = None

    async def receive(self) -> dict[str, Any]:
        if self.body is not None:
            body, self.body = self.body, None
            return {"type": "http.request", "body": body, "more_body": False}
        while (transport := self.request.transport) is not None and not transport.is_closing():
            await asyncio.sleep(DISCONNECT_POLL_S)
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            response = web.StreamResponse(status=message["status"])
            for name, value in message.get("headers", []):
                response.headers.add(name.decode("latin-1"), value.decode("latin-1"))
            self.response = response
            await response.prepare(self.request)
        elif message["type"] == "http.response.body" and self.response is not None:
            chunk = message.get("body", b"")
            with contextlib.suppress(ConnectionError):
                if chunk:
                    await self.response.write(chunk)
                if not message.get("more_body", False):
                    await self.response.write_eof()


ACCEPTED = {"GET": ("text/event-stream",), "POST": ("application/json", "text/event-stream")}
"""What each method's `Accept` must name (MCP answers JSON or an event stream)."""


def _not_acceptable(request: web.Request) -> web.Response | None:
    """406 in JSON-RPC's words when `Accept` does not take MCP's answers, whatever the session.

    Checked before the session, so a request the OpenAPI document calls malformed is refused as
    such (the SDK looks the session up first).
    """
    accept = request.headers.get("Accept", "")
    missing = [
        kind for kind in ACCEPTED.get(request.method, ()) if kind not in accept and "*/*" not in accept
    ]
    if not missing:
        return None
    message = f"Not Acceptable: the Accept header must take {' and '.join(missing)}"
    error = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}
    return web.json_response(error, status=406)


async def mcp_endpoint(request: web.Request) -> web.StreamResponse:
    """``GET|POST|DELETE /mcp``: MCP over streamable HTTP, as the bearer token's user."""
    state = request.app[MCP]
    user = request[USER]
    token = bearer_token(request)
    key = _session_key(request, token)
    refusal = _not_acceptable(request)
    if refusal is not None:
        return refusal
    body = await request.read()
    if too_deep(body):
        # One limit for every door; refused in JSON-RPC's words, as the SDK refuses a parse error.
        message = f"Parse error: the message nests arrays and objects deeper than {MAX_JSON_DEPTH} levels"
        error = {"jsonrpc": "2.0", "id": None, "error": {"code": PARSE_ERROR, "message": message}}
        return web.json_response(error, status=400)
    reply = _Reply(request, body)
    try:
        await state.manager.handle_request(_scope(request, user, token, key), reply.receive, reply.send)
    except Exception:
        if reply.response is None or not reply.response.prepared:
            raise  # nothing sent yet: the error middleware answers in the contract's shape
        log.exception("MCP request failed after its answer started")
        return reply.response
    if request.method == "DELETE" and reply.response is not None and reply.response.status < 300:
        await state.agents.end(user, key)
    if reply.response is None:
        raise web.HTTPServiceUnavailable(reason="the MCP server did not answer")
    return reply.response


async def _mcp_ctx(app: web.Application) -> AsyncIterator[None]:
    """Start the MCP session manager with the app; stop it with the app (cleanup_ctx)."""
    state = app[MCP]
    await state.start()
    try:
        yield
    finally:
        await state.stop()


async def _stop_streams(app: web.Application) -> None:
    """On shutdown, end MCP sessions first, so open streams close instead of holding shutdown up."""
    await app[MCP].stop()


def setup_mcp_http(app: web.Application) -> None:
    """Mount MCP at `/mcp` (streamable HTTP, bearer auth) on `app`."""
    app[MCP] = McpHttp(app[WORKSPACE], app[REGISTRY])
    for method in ("GET", "POST", "DELETE"):
        app.router.add_route(method, MCP_PATH, mcp_endpoint, name=f"mcp_{method.lower()}")
    app.cleanup_ctx.append(_mcp_ctx)
    app.on_shutdown.append(_stop_streams)
