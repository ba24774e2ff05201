"""The application factory: one `web.Application` serving one workspace."""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from socket import getfqdn

from aiohttp import WSCloseCode, web

from ballast_server.auth import access_watch
from ballast_server.export_route import setup_export_route
from ballast_server.forwarded import forwarded_middleware, setup_forwarded
from ballast_server.import_route import setup_import_route
from ballast_server.keys import AUTH_POOL, REGISTRY, WEBSOCKETS, WORKSPACE
from ballast_server.mcp_http import setup_mcp_http
from ballast_server.middlewares import access_log_middleware, auth_middleware, error_middleware
from ballast_server.openapi import setup_openapi
from ballast_server.public_download import setup_public_download
from ballast_server.public_page import setup_public_page
from ballast_server.public_routes import setup_public_routes
from ballast_server.routes import setup_routes
from ballast_server.scheduler import scheduler_ctx
from ballast_server.ws import setup_ws
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import load_registry

AUTH_WORKERS = 4


@dataclasses.dataclass
class _Announced:
    """The public base URL this app told its workspace, to take back when it stops."""

    url: str | None = None


ANNOUNCED = web.AppKey("announced", _Announced)


def announce_address(app: web.Application, host: str, port: int) -> None:
    """Tell the workspace the address the server actually listens on, as the base of `publicUrl`.

    Only when no `--public-url` was given (`Settings.public_url` is None); a
    wildcard host (all interfaces) is named by this machine's host name. The
    workspace gets its settings back when the app stops.
    """
    ws = app[WORKSPACE]
    if ws.settings.public_url is not None:
        return
    taken = ws.settings.port if ws.settings.port not in (0, port) else None
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = getfqdn() or "localhost"
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    url = f"http://{shown}:{port}"
    ws.settings = dataclasses.replace(ws.settings, public_url=url, port_taken=taken)
    app[ANNOUNCED].url = url


async def _forget_address(app: web.Application) -> None:
    ws = app[WORKSPACE]
    announced = app[ANNOUNCED].url
    if announced is not None and ws.settings.public_url == announced:
        ws.settings = dataclasses.replace(ws.settings, public_url=None, port_taken=None)


async def _auth_pool(app: web.Application) -> AsyncIterator[None]:
    """The thread pool token checks (and the access watch) run on, started and stopped with the app."""
    pool = ThreadPoolExecutor(max_workers=AUTH_WORKERS, thread_name_prefix="ballast-auth")
    app[AUTH_POOL] = pool
    try:
        yield
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


async def _close_websockets(app: web.Application) -> None:
    """On shutdown, close every open WebSocket (clients see "going away" and may reconnect)."""
    sockets: weakref.WeakSet[web.WebSocketResponse] = app[WEBSOCKETS]
    for socket in list(sockets):
        await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


def create_app(ws: Workspace) -> web.Application:
    """The HTTP application for `ws`; the caller owns the workspace and closes it.

    Middlewares, outermost first: the client behind a trusted proxy (`server.forwarded`), the access
    log (sees the final status), the error mapper (every failure in the contract's shape), then
    authentication.
    """
    app = web.Application(
        client_max_size=ws.settings.max_body,
        middlewares=[forwarded_middleware, access_log_middleware, error_middleware, auth_middleware],
    )
    app[WORKSPACE] = ws
    setup_forwarded(app)
    app[REGISTRY] = load_registry()
    app[WEBSOCKETS] = weakref.WeakSet()
    app.cleanup_ctx.append(_auth_pool)
    app.cleanup_ctx.append(access_watch)
    app.cleanup_ctx.append(scheduler_ctx)
    app.on_shutdown.append(_close_websockets)
    app[ANNOUNCED] = _Announced()
    app.on_cleanup.append(_forget_address)
    setup_routes(app)
    setup_public_routes(app)
    setup_public_page(app)
    setup_export_route(app)
    setup_public_download(app)
    setup_import_route(app)
    setup_ws(app)
    setup_mcp_http(app)
    setup_openapi(app)
    return app
