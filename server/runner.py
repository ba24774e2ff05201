"""Running the server: on a free or given port, until SIGINT/SIGTERM.

`serve` is the foreground server of ``ballast serve``: it refuses to start when
the workspace's `server.json` names another live server, writes `server.json`
(atomically) once it listens, prints ``Ballast serving URL``, and on SIGINT or
SIGTERM cancels running queries, closes WebSockets, stops the scheduler and
removes `server.json`. `start_server` is the bare part (tests and the TUI's
embedded server use it): it neither checks nor writes `server.json`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from ballast_server.app import announce_address, create_app
from ballast_server.ports import ports_to_try, remember_port
from ballast_tui.config import read_server_json, remove_server_json, write_server_json
from ballast_tui.engine.recovery import resume_pending
from ballast_tui.engine.workspace import Workspace
from ballast_tui.server_lock import ServerLock

SHUTDOWN_TIMEOUT_S = 10.0

log = logging.getLogger("ballast.server")

# Extra fields the access log and the scheduler attach to their records.
_LOG_FIELDS = ("method", "path", "status", "duration_ms", "user_id", "remote", "board_id", "trigger")


class ServeError(RuntimeError):
    """The server cannot start; the message says why, for a person."""


class ServerAlreadyRunning(ServeError):
    """Another process holds the workspace's server lock."""

    def __init__(self, url: str, pid: object) -> None:
        super().__init__(f"a server for this workspace is already running at {url} (pid {pid})")
        self.url = url
        self.pid = pid


def display_url(host: str, port: int) -> str:
    """``http://HOST:PORT``, with an IPv6 literal in brackets."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def client_url(host: str, port: int) -> str:
    """The address a client on this machine connects to (a wildcard host becomes the loopback)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host in ("::", "[::]"):
        host = "::1"
    return display_url(host, port)


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
        announce_address(runner.app, host, bound)
    except BaseException:
        await runner.cleanup()
        raise
    return runner, bound


def check_not_running(ws: Workspace, lock: ServerLock) -> None:
    """Take the workspace's server lock, or refuse (`ServerAlreadyRunning`, naming the running server)
    when another process holds it. Race-free: two servers starting at once cannot both get it."""
    if lock.acquire():
        return
    info = read_server_json(ws.paths) or {}
    raise ServerAlreadyRunning(str(info.get("url", "an address not yet written")), info.get("pid"))


def server_info(host: str, port: int) -> dict[str, object]:
    """What `server.json` says of this process's server."""
    return {
        "url": client_url(host, port),
        "host": host,
        "port": port,
        "pid": os.getpid(),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


async def serve(ws: Workspace, host: str, port: int | list[int]) -> None:
    """Serve until SIGINT or SIGTERM, then cancel running queries and stop gracefully.

    `port` may be a list of ports to try in order (`server.ports.ports_to_try`). Raises
    `ServerAlreadyRunning` (before binding anything) when another server has the workspace, and
    `ServeError` when the address cannot be bound.
    """
    lock = ServerLock(ws.paths.root)
    check_not_running(ws, lock)
    try:
        await _serve_holding_the_lock(ws, host, port)
    finally:
        lock.release()


async def _bind(ws: Workspace, host: str, ports: list[int]) -> tuple[web.AppRunner, int]:
    """Listen on the first of `ports` that is free; `ServeError` naming the first when none is."""
    first: OSError | None = None
    for port in ports:
        try:
            return await start_server(ws, host, port)
        except OSError as error:
            first = first or error
    reason = (first.strerror or str(first)) if first is not None else "no port to try"
    raise ServeError(f"cannot listen on {display_url(host, ports[0] if ports else 0)}: {reason}")


async def _serve_holding_the_lock(ws: Workspace, host: str, port: int | list[int]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        runner, bound = await _bind(ws, host, [port] if isinstance(port, int) else port)
        try:
            remember_port(ws.paths, bound)
            write_server_json(ws.paths, server_info(host, bound))
            print(f"Ballast serving {display_url(host, bound)}", flush=True)
            log.info("serving %s (pid %d)", display_url(host, bound), os.getpid())
            # Blocks a stopped process left pending run again, off the loop, while requests are served.
            resuming = loop.run_in_executor(None, resume_pending, ws)
            await stop.wait()
            log.info("stopping: cancelling running queries")
            if not resuming.done():
                _cancel_queries(ws)
        finally:
            # Interrupt what runs now; the app's shutdown then closes WebSockets, lets requests
            # end (bounded by SHUTDOWN_TIMEOUT_S) and stops the scheduler, which cancels its own.
            _cancel_queries(ws)
            try:
                await runner.cleanup()
            finally:
                remove_server_json(ws.paths)
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


def _cancel_queries(ws: Workspace) -> None:
    """Interrupt every running query, local or on a connected database; never waits on either
    (a connected database's query that does not stop at once has its worker killed shortly)."""
    ws.executor.cancel()
    ws.connections.cancel()


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _LOG_FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(log_file: str | None = None) -> None:
    """JSON lines at INFO (access log included) on stderr, or in `log_file` (rotated, 0600) when it is
    given; nothing when logging is already configured."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler: logging.Handler
    if log_file:
        from ballast_server.logfile import workspace_log_handler

        handler = workspace_log_handler(Path(log_file).parent, path=log_file)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("ballast").setLevel(logging.INFO)


def run_server(ws: Workspace, host: str | None = None, port: int | list[int] | None = None) -> None:
    """Run the server in the foreground until SIGINT/SIGTERM; the caller closes `ws` afterwards.

    The address defaults to the workspace's `host` and `port` settings (the last port first, when the
    port was not chosen: `server.ports`); logs go to its `log_file` setting, else stderr. Exits with
    status 1 and a message on stderr when another server already has the workspace or the address
    cannot be bound.
    """
    configure_logging(ws.settings.log_file)
    host = ws.settings.host if host is None else host
    port = ports_to_try(ws) if port is None else port
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(ws, host, port))
    except ServeError as error:
        raise SystemExit(f"ballast: {error}") from None
