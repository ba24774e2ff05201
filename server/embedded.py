"""The server embedded in a `ballast` TUI: started on the app's own loop, stopped with it.

The first `ballast` on a workspace serves it, so a second `ballast` (another
SSH login), agents and the API can join; its `server.json` says where.

Its address comes from the `host` and `port` settings. Published links carry
the port, so the server keeps it across restarts when it can: the port it
listened on last (`last_port` in the workspace) is tried first, then the
configured one, and only then any free port (the links then warn of it). A
port the person chose (`port` in ballast.toml, BALLAST_PORT, `--port`) is
tried before the remembered one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ballast_server.logfile import workspace_log_handler
from ballast_server.ports import ports_to_try, remember_port
from ballast_server.runner import server_info, start_server
from ballast_tui.config import remove_server_json, write_server_json
from ballast_tui.engine.recovery import resume_pending
from ballast_tui.engine.workspace import Workspace

log = logging.getLogger("ballast.server")
Stop = Callable[[], Awaitable[None]]


def log_to_workspace(ws: Workspace) -> None:
    """Send the server's logs to the `log_file` setting, else `<workspace>/server.log` (rotated, 0600):
    the terminal belongs to the TUI."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(workspace_log_handler(ws.paths.root, path=ws.settings.log_file))
        root.setLevel(logging.INFO)


async def start_embedded(ws: Workspace) -> Stop:
    """Serve `ws` on its host and port (see the module's doc); answer the function that stops it."""
    log_to_workspace(ws)
    host = ws.settings.host
    for port in [*ports_to_try(ws), 0]:
        try:
            runner, bound = await start_server(ws, host, port)
        except OSError:
            if port == 0:
                raise
            log.info("port %d is taken", port)
            continue
        break
    remember_port(ws.paths, bound)
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
