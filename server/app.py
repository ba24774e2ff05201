"""The application factory: one `web.Application` serving one workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import load_registry
from server.keys import AUTH_POOL, REGISTRY, WORKSPACE
from server.middlewares import access_log_middleware, auth_middleware, error_middleware
from server.routes import setup_routes

AUTH_WORKERS = 4


async def _auth_pool(app: web.Application) -> AsyncIterator[None]:
    """The thread pool token checks run on, started and stopped with the app."""
    pool = ThreadPoolExecutor(max_workers=AUTH_WORKERS, thread_name_prefix="ballast-auth")
    app[AUTH_POOL] = pool
    try:
        yield
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def create_app(ws: Workspace) -> web.Application:
    """The HTTP application for `ws`; the caller owns the workspace and closes it.

    Middlewares, outermost first: the access log (sees the final status), the
    error mapper (every failure in the contract's shape), then authentication.
    """
    app = web.Application(
        client_max_size=ws.settings.max_body,
        middlewares=[access_log_middleware, error_middleware, auth_middleware],
    )
    app[WORKSPACE] = ws
    app[REGISTRY] = load_registry()
    app.cleanup_ctx.append(_auth_pool)
    setup_routes(app)
    return app
