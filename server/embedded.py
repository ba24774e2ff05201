"""The server embedded in a `ballast` TUI: started on the app's own loop, stopped with it.

The first `ballast` on a workspace serves it, so a second `ballast` (another
SSH login), agents and the API can join; its `server.json` says where.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ballast_tui.config import DEFAULT_PORT, remove_server_json, write_server_json
from ballast_tui.engine.recovery import resume_pending
from ballast_tui.engine.workspace import Workspace
from server.logfile import workspace_log_handler
from server.runner import server_info, start_server

log = logging.getLogger("ballast.server")
Stop = Callable[[], Awaitable[None]]


def log_to_workspace(ws: Workspace) -> None:
    """Send the server's logs to `<workspace>/server.log` (rotated, 0600): the terminal belongs to the TUI."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(workspace_log_handler(ws.paths.root))
        root.setLevel(logging.INFO)


async def start_embedded(ws: Workspace, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> Stop:
    """Serve `ws` on host:port (a free port when that one is taken); answer the function that stops it."""
    log_to_workspace(ws)
    try:
        runner, bound = await start_server(ws, host, port)
    except OSError:
        runner, bound = await start_server(ws, host, 0)
    write_server_json(ws.paths, server_info(host, bound))
    log.info("embedded server on %s:%d", host, bound)
    resuming = asyncio.get_running_loop().run_in_executor(None, resume_pending, ws)

    async def stop() -> None:
        remove_server_json(ws.paths)
        ws.executor.cancel()
        ws.connections.cancel()
        with contextlib.suppress(Exception):
            await resuming
        await runner.cleanup()

    return stop
