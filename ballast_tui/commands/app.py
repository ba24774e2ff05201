"""`ballast`, `ballast open ID`, `ballast connect URL` and `ballast demo`: the terminal app, serving the
workspace (the embedded server) or joining the server that already does."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import traceback
from collections.abc import Awaitable, Callable

from ballast_tui.backend import Backend, LocalBackend
from ballast_tui.commands import connection_errors, fail, token_of, workspace_of
from ballast_tui.commands.settings import settings_of
from ballast_tui.config import remove_server_json
from ballast_tui.crash import crash_log_path, crash_message, record_crash
from ballast_tui.engine.errors import NotFound, ToolError
from ballast_tui.engine.workspace import Workspace
from ballast_tui.opening import open_backend


def run_tui(args: argparse.Namespace) -> int:
    """`ballast`, `ballast open ID`, `ballast connect URL`."""
    dashboard_id = getattr(args, "dashboard_id", None)
    if args.command == "connect":
        token = token_of(args)
        if token is None:
            return fail("connect needs a token: --token T or $BALLAST_TOKEN")
        return _run_remote(args.url, token, dashboard_id)
    try:
        opened = open_backend(
            workspace_of(args), token_of(args), client="tui", serve=True, settings=settings_of(args)
        )
    except ToolError as error:
        return fail(f"{error.code}: {error.message}")
    except connection_errors() as error:
        return fail(f"cannot reach the workspace's server: {error}")
    try:
        if dashboard_id is not None:
            refused = _refusal(opened.backend, dashboard_id)
            if refused is not None:
                return fail(refused)
        if opened.workspace is None:
            return _run_app(opened.backend, dashboard_id)
        return _run_app(opened.backend, dashboard_id, serve=opened.workspace)
    finally:
        opened.close()


def _refusal(backend: Backend, dashboard_id: str) -> str | None:
    """Why the app cannot open `dashboard_id` (unknown, or not this user's to see), or None."""

    async def get() -> None:
        try:
            await backend.call("dashboard_get", dashboard_id=dashboard_id)
        finally:
            if not isinstance(backend, LocalBackend):
                await backend.close()  # its HTTP client belongs to this loop; the app makes its own

    try:
        asyncio.run(get())
    except NotFound:
        return f"no dashboard {dashboard_id} that you may see; `ballast list` shows their ids"
    except ToolError as error:
        return f"{error.code}: {error.message}"
    return None


def run_demo(args: argparse.Namespace) -> int:
    """`ballast demo`: a workspace with the sample dashboard, opened in the app."""
    from ballast_tui.demo import build_demo, find_demo

    opened = open_backend(workspace_of(args), None, client="cli", settings=settings_of(args))
    try:
        ws = opened.workspace
        if ws is None:  # a server already serves it: the demo is there
            return fail("the workspace is being served: open the demo with `ballast` and pick it")
        dashboard_id = find_demo(ws) or build_demo(ws, rows=args.rows)
        if args.no_tui or not sys.stdout.isatty():
            asyncio.run(print_board(opened.backend, dashboard_id, f"  workspace: {ws.paths.root}"))
            return 0
    finally:
        opened.close()
    args.dashboard_id = dashboard_id
    return run_tui(args)


async def print_board(backend: Backend, dashboard_id: str, where: str = "") -> None:
    """A plain-text account of a dashboard: its blocks, their state, and each metric's value."""
    board = (await backend.call("dashboard_get", dashboard_id=dashboard_id))["dashboard"]
    print(f"{board['title']}  ({board['id']}){where}")
    for block in board["blocks"]:
        shown = "shown " if block["displayed"] else "hidden"
        line = f"  {shown}  {block['type']:<16} {block['name']:<18} {block['state']}"
        if block["type"] == "metric" and block["state"] == "success":
            data = await backend.call(
                "dashboard_block_data", dashboard_id=dashboard_id, block_id=block["id"], limit=1
            )
            if data["rows"]:
                line += f"  = {next(iter(data['rows'][0].values()))}"
        print(line)
    await backend.close()


def _run_remote(url: str, token: str, dashboard_id: str | None) -> int:
    from ballast_tui.remote import RemoteBackend

    backend = RemoteBackend(url, token)
    try:
        asyncio.run(backend.start())
    except ToolError as error:
        return fail(f"{url}: {error.message}")
    except connection_errors() as error:
        return fail(f"cannot reach {url}: {error}")
    return _run_app(backend, dashboard_id)


def _run_app(backend: Backend, dashboard_id: str | None, serve: Workspace | None = None) -> int:
    """The app on `backend`; with `serve`, also serving that workspace on the embedded server."""
    from ballast_tui.app import BallastApp

    services: list[Callable[[], Awaitable[Callable[[], Awaitable[None]]]]] = []
    if serve is not None:
        workspace = serve

        async def embedded_server() -> Callable[[], Awaitable[None]]:
            # Its modules (aiohttp, the MCP SDK: about a second) load on a thread, not on the app's
            # loop: the board just drawn answers keys meanwhile.
            embedded = await asyncio.to_thread(importlib.import_module, "ballast_server.embedded")
            start: Callable[[Workspace], Awaitable[Callable[[], Awaitable[None]]]] = embedded.start_embedded
            return await start(workspace)

        services.append(embedded_server)
    app = BallastApp(backend, dashboard_id, services=services, crash_log=crash_log_path())
    try:
        app.run()
    except Exception as error:  # raised outside the app's loop (its terminal driver): said alike
        app.crash, app.crash_logged = error, record_crash(error, crash_log_path())
        if app.crash_logged is None:
            traceback.print_exception(error)  # not logged: not lost either
    finally:
        if serve is not None:
            # Stopping the server removes it; an app that stopped on an error may not have got there.
            remove_server_json(serve.paths)
    if app.crash is not None:
        return fail(crash_message(app.crash, app.crash_logged))
    return app.return_code or 0
