"""Running the server: on a free or given port, until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from aiohttp import web

from ballast_tui.engine.recovery import resume_pending
from ballast_tui.engine.workspace import Workspace
from server.app import create_app

SHUTDOWN_TIMEOUT_S = 10.0


def display_url(host: str, port: int) -> str:
    """``http://HOST:PORT``, with an IPv6 literal in brackets."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


async def start_server(ws: Workspace, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve `ws` on host:port (0 picks a free port); answer the runner and the bound port.

    The caller stops it with ``await runner.cleanup()`` and still owns the workspace.
    """
    runner = web.AppRunner(create_app(ws), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        addresses = runner.addresses
        bound = int(addresses[0][1]) if addresses else port
    except BaseException:
        await runner.cleanup()
        raise
    return runner, bound


async def serve(ws: Workspace, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, then cancel running queries and stop gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    runner, bound = await start_server(ws, host, port)
    try:
        print(f"Ballast serving {display_url(host, bound)}", flush=True)
        # Blocks a stopped process left pending run again, off the loop, while requests are served.
        resuming = loop.run_in_executor(None, resume_pending, ws)
        await stop.wait()
        if not resuming.done():
            ws.executor.cancel()
    finally:
        ws.executor.cancel()
        await runner.cleanup()
        for sig in handled:
            loop.remove_signal_handler(sig)


def run_server(ws: Workspace, host: str, port: int) -> None:
    """Run the server in the foreground until SIGINT/SIGTERM; the caller closes `ws` afterwards."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(ws, host, port))
