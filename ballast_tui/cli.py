"""The `ballast` command: argument parsing only; the work happens in the parts it calls."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from ballast_tui import __version__
from ballast_tui.config import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    Settings,
    WorkspacePaths,
    live_server,
    resolve_workspace,
)
from ballast_tui.engine.errors import ToolError
from ballast_tui.engine.ids import random_base36
from ballast_tui.engine.users import Users
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage.db import Database
from ballast_tui.tools.registry import Context, load_registry


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's copy of the option must not reset a value given before it.
    common.add_argument(
        "--workspace",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="workspace directory (default: $BALLAST_WORKSPACE, else the platform's user data dir)",
    )
    common.add_argument(
        "--token",
        default=argparse.SUPPRESS,
        help="act as this API token's user on a server (default: $BALLAST_TOKEN, else the local OS user)",
    )
    parser = argparse.ArgumentParser(
        prog="ballast", parents=[common], description="Terminal-native, reactive, collaborative dashboards."
    )
    parser.add_argument("--version", action="version", version=f"ballast {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser("demo", parents=[common], help="create a demo dashboard and open it")
    demo.add_argument("--rows", type=int, default=300_000, help=argparse.SUPPRESS)
    demo.add_argument("--no-tui", action="store_true", help="build it and print it, not opening the app")

    open_ = commands.add_parser("open", parents=[common], help="the app, straight on one dashboard")
    open_.add_argument("dashboard_id")

    connect = commands.add_parser("connect", parents=[common], help="the app against a server elsewhere")
    connect.add_argument("url")

    serve = commands.add_parser("serve", parents=[common], help="run the server alone")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--public-url", metavar="URL", help="base URL of published links")
    serve.add_argument(
        "--max-body",
        type=int,
        metavar="BYTES",
        default=Settings().max_body,
        help="largest request body accepted (default 32 MiB)",
    )

    user = commands.add_parser("user", parents=[common], help="manage users").add_subparsers(
        dest="user_command", metavar="ACTION", required=True
    )
    add = user.add_parser("add", parents=[common], help="create a user and print its API token")
    add.add_argument("name")
    add.add_argument("--agent", action="store_true", help="the user is an agent")
    add.add_argument("--admin", action="store_true", help="the user administers the workspace")

    connection = commands.add_parser(
        "connection", parents=[common], help="connect warehouses and app databases (administrators)"
    ).add_subparsers(dest="connection_command", metavar="ACTION", required=True)
    connection_add = connection.add_parser(
        "add",
        parents=[common],
        help="connect a database to every dashboard's catalog",
        description="URL: postgresql://USER:PASSWORD@HOST:PORT/DATABASE, sqlite:PATH or duckdb:PATH. "
        "Give '-' (or nothing) to read it from standard input, keeping the password out of the "
        "process list and the shell history. It is stored encrypted and never shown again.",
    )
    connection_add.add_argument("name", help="the name SQL uses: NAME.schema.table")
    connection_add.add_argument("url", nargs="?", default="-", help="the database URL, or '-' for stdin")
    connection_add.add_argument(
        "--no-check", action="store_true", help="add it even if the database does not answer now"
    )
    connection.add_parser("list", parents=[common], help="the connections (never their passwords)")
    connection_remove = connection.add_parser("remove", parents=[common], help="remove a connection")
    connection_remove.add_argument("name")

    imp = commands.add_parser("import", parents=[common], help="import a CSV, Parquet or JSON file")
    imp.add_argument("path")
    imp.add_argument("--dashboard", required=True, metavar="ID")
    imp.add_argument("--name", metavar="N", help="source name (default: the file's stem)")

    export = commands.add_parser(
        "export",
        parents=[common],
        help="export a block's whole output, or the dashboard drawn as an SVG",
        description="With --block: the block's whole current output as CSV (default), Parquet or JSON. "
        "Without --block (or with --format svg): the dashboard drawn as the terminal draws it, as an SVG.",
    )
    export.add_argument("dashboard_id")
    export.add_argument("--block", metavar="NAME", help="the block whose output to export (name or id)")
    export.add_argument(
        "--format",
        choices=("csv", "parquet", "json", "svg"),
        help="csv, parquet or json for a block (default csv); "
        "svg for the whole dashboard (the default without --block)",
    )
    export.add_argument(
        "--size",
        metavar="COLSxROWS",
        default="120x40",
        help="terminal size the dashboard is drawn at, for svg (default 120x40)",
    )
    export.add_argument("-o", "--output", metavar="FILE", help="file to write (default: standard output)")

    commands.add_parser(
        "mcp",
        parents=[common],
        help="serve the tools to an AI agent over MCP (stdio)",
        description="An MCP server over stdin/stdout for an agent (any MCP client), acting as the user of "
        "--token or $BALLAST_TOKEN, else the local OS user. When the workspace's server is running it acts "
        "through it, so its presence and locks are shared with people; otherwise it runs the engine itself.",
    )

    tool = commands.add_parser("tool", parents=[common], help="run one tool with JSON arguments")
    tool.add_argument("name")
    tool.add_argument("arguments", nargs="?", default="{}", help="a JSON object")
    return parser


def _fail(message: str, code: int = 1) -> int:
    print(f"ballast: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `ballast` console script."""
    args = _parser().parse_args(argv)
    if args.command in (None, "open", "connect"):
        return _tui(args)
    if args.command == "mcp":
        return _mcp(args)
    settings = Settings(
        **({"public_url": args.public_url, "max_body": args.max_body} if args.command == "serve" else {})
    )
    ws = Workspace(resolve_workspace(getattr(args, "workspace", None)), settings)
    try:
        return _dispatch(args, ws)
    except ToolError as error:
        return _fail(f"{error.code}: {error.message}")
    except BrokenPipeError:
        # The reader went away (`ballast export … | head`): not an error worth a traceback.
        sys.stderr.close()
        return 0
    finally:
        ws.close()


def _dispatch(args: argparse.Namespace, ws: Workspace) -> int:
    if args.command == "user":
        user, token = ws.users.create(
            args.name, "agent" if args.agent else "human", admin=args.admin, created_by=ws.users.local().id
        )
        print(f"created {user.kind} {user.name} ({user.id}){' - administrator' if user.is_admin else ''}")
        print(token)
        return 0
    if args.command == "serve":
        from server.runner import run_server

        run_server(ws, args.host, args.port)
        return 0
    ctx = Context(ws, ws.users.local(), client="cli")
    if args.command == "demo":
        from ballast_tui.demo import build_demo, find_demo

        dashboard_id = find_demo(ws) or build_demo(ws, rows=args.rows)
        if args.no_tui or not sys.stdout.isatty():
            _print_board(ctx, dashboard_id)
            return 0
        return _run_app(ws, dashboard_id)
    if args.command == "connection":
        return _connection(ctx, args)
    if args.command == "import":
        return _import(ctx, args)
    if args.command == "export":
        return _export(ctx, args)
    if args.command == "tool":
        try:
            arguments = json.loads(args.arguments)
        except ValueError:
            return _fail("the arguments must be a JSON object")
        print(json.dumps(_call(ctx, args.name, arguments), indent=2, default=str))
        return 0
    return _fail(f"unknown command {args.command}")


def _call(ctx: Context, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Run a tool: through the workspace's running server when there is one (so every session
    sees the change live), else in this process."""
    info = live_server(ctx.ws.paths)
    if info is None or info.get("pid") == os.getpid():
        return load_registry().call(ctx, tool, arguments)
    token = ctx.ws.users.add_token(ctx.user.id)
    request = urllib.request.Request(
        f"{info['url']}/api/v1/tools/{tool}",
        data=json.dumps(arguments).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "X-Ballast-Client": "cli",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except urllib.error.HTTPError as refusal:
        from ballast_tui.remote import error_from

        raise error_from(refusal.code, json.loads(refusal.read() or b"{}")) from None
    finally:
        ctx.ws.users.revoke(token)


def _token(args: argparse.Namespace) -> str | None:
    return getattr(args, "token", None) or os.environ.get("BALLAST_TOKEN") or None


def _tui(args: argparse.Namespace) -> int:
    """`ballast`, `ballast open ID`, `ballast connect URL`: the app, served here or joining a server."""
    dashboard_id = getattr(args, "dashboard_id", None)
    if args.command == "connect":
        token = _token(args)
        if token is None:
            return _fail("connect needs a token: --token T or $BALLAST_TOKEN")
        return _run_remote(args.url, token, dashboard_id)
    paths = WorkspacePaths(resolve_workspace(getattr(args, "workspace", None)))
    info = live_server(paths) if paths.db.exists() else None
    if info is not None and info.get("pid") != os.getpid():
        # Another `ballast` serves this workspace: join it as another session.
        token = _token(args)
        if token is not None:
            return _run_remote(str(info["url"]), token, dashboard_id)
        users = Users(Database(paths.db))
        token = users.add_token(users.local().id)
        try:
            return _run_remote(str(info["url"]), token, dashboard_id)
        finally:
            users.revoke(token)
            users.db.close()
    with Workspace(paths.root) as ws:
        return _run_app(ws, dashboard_id)


def _mcp(args: argparse.Namespace) -> int:
    """`ballast mcp`: the MCP server over stdio (the workspace is opened only when no server runs)."""
    from ballast_tui.mcp_server import run_stdio

    try:
        return run_stdio(resolve_workspace(getattr(args, "workspace", None)), _token(args))
    except ToolError as error:
        return _fail(f"{error.code}: {error.message}")
    except (OSError, aiohttp.ClientError) as error:
        return _fail(f"cannot reach the workspace's server: {error}")


def _run_remote(url: str, token: str, dashboard_id: str | None) -> int:
    from ballast_tui.app import BallastApp
    from ballast_tui.remote import RemoteBackend

    backend = RemoteBackend(url, token)
    try:
        asyncio.run(backend.start())
    except ToolError as error:
        return _fail(f"{url}: {error.message}")
    except (OSError, aiohttp.ClientError) as error:
        return _fail(f"cannot reach {url}: {error}")
    BallastApp(backend, dashboard_id).run()
    return 0


def _run_app(ws: Workspace, dashboard_id: str | None) -> int:
    """The TUI on this workspace as the local OS user, serving it for others on the embedded server."""
    from ballast_tui.app import BallastApp
    from ballast_tui.backend import LocalBackend
    from server.embedded import start_embedded

    async def embedded_server() -> Callable[[], Awaitable[None]]:
        return await start_embedded(ws)

    BallastApp(LocalBackend(ws, ws.users.local()), dashboard_id, services=[embedded_server]).run()
    return 0


def _export(ctx: Context, args: argparse.Namespace) -> int:
    """A block's whole output (csv, parquet, json), or the dashboard drawn as the terminal draws it (svg)."""
    fmt = args.format or ("csv" if args.block else "svg")
    if fmt == "svg":
        if args.block:
            return _fail(
                "svg draws the whole dashboard, not one block: leave out --block, "
                "or export the block as csv, parquet or json"
            )
        return _export_svg(ctx, args)
    if not args.block:
        return _fail(f"--format {fmt} exports one block's output: name it with --block NAME")
    from ballast_tui.tools.exports import export_block

    if args.output:
        with open(args.output, "wb") as sink:
            rows = export_block(ctx, args.dashboard_id, args.block, fmt, sink)
        print(f"wrote {rows} rows to {args.output}", file=sys.stderr)
    else:
        export_block(ctx, args.dashboard_id, args.block, fmt, sys.stdout.buffer)
    return 0


def _export_svg(ctx: Context, args: argparse.Namespace) -> int:
    from ballast_tui.backend import LocalBackend
    from ballast_tui.render_svg import parse_size, render_svg

    try:
        size = parse_size(args.size)
    except ValueError as error:
        return _fail(str(error))
    # A missing board or role is refused here, in the tool's words, before anything is drawn.
    board = load_registry().call(ctx, "dashboard_get", {"dashboard_id": args.dashboard_id})["dashboard"]
    svg = render_svg(LocalBackend(ctx.ws, ctx.user), args.dashboard_id, size)
    if args.output:
        Path(args.output).write_text(svg, encoding="utf-8")
        print(f"wrote {board['title']!r} as drawn at {size[0]}x{size[1]} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(svg)
        sys.stdout.flush()
    return 0


def _import(ctx: Context, args: argparse.Namespace) -> int:
    source = Path(args.path).expanduser()
    if not source.is_file():
        return _fail(f"no file {args.path}")
    fmt = {
        ".csv": "csv",
        ".tsv": "csv",
        ".parquet": "parquet",
        ".json": "json",
        ".jsonl": "json",
        ".ndjson": "json",
    }.get(source.suffix.lower())
    if fmt is None:
        return _fail("the file must end in .csv, .parquet or .json")
    name = args.name or "".join(c if c.isalnum() else "_" for c in source.stem.lower()).strip("_") or "data"
    staged = ctx.ws.paths.imports / f"cli_{random_base36(8)}{source.suffix.lower()}"
    shutil.copyfile(source, staged)
    try:
        answer = _call(
            ctx,
            "catalog_import",
            {"dashboard_id": args.dashboard, "name": name, "format": fmt, "path": staged.name},
        )
    finally:
        staged.unlink(missing_ok=True)
    src = answer["source"]
    print(
        f"imported {src['row_count']} rows as {src['name']} "
        f"({', '.join(c['name'] + ' ' + c['type'] for c in src['columns'])})"
    )
    return 0


def _connection(ctx: Context, args: argparse.Namespace) -> int:
    """`ballast connection add|list|remove`: the connection tools, through a running server if any."""
    if args.connection_command == "add":
        url = args.url
        if url == "-":
            url = getpass.getpass("URL (not shown): ") if sys.stdin.isatty() else sys.stdin.readline()
        answer = _call(
            ctx,
            "connection_add",
            {"name": args.name, "url": _absolute_file_url(url.strip()), "check": not args.no_check},
        )["connection"]
        tables = "" if answer["tables"] is None else f": {answer['tables']} tables"
        print(f"connected {answer['name']} ({_where(answer)}){tables}")
        print(f"read its tables as {answer['name']}.schema.table")
        return 0
    if args.connection_command == "remove":
        print(f"removed {_call(ctx, 'connection_remove', {'name': args.name})['removed']}")
        return 0
    connections = _call(ctx, "connection_list", {})["connections"]
    if not connections:
        print("no connections; add one with `ballast connection add NAME URL`")
    for item in connections:
        tables = "tables not listed yet" if item["tables"] is None else f"{item['tables']} tables"
        print(f"{item['name']:<16} {_where(item)}  ({tables}; added {item['created_at'][:10]})")
    return 0


def _where(connection: dict[str, Any]) -> str:
    if connection["driver"] == "postgresql":
        user = f"{connection['user']}@" if connection.get("user") else ""
        port = connection["port"]
        return f"postgresql {user}{connection['host']}:{port}/{connection.get('database') or ''}"
    return f"{connection['driver']} {connection['path']}"


def _absolute_file_url(url: str) -> str:
    """sqlite:/duckdb: URLs with a path relative to here made absolute (the server may run elsewhere)."""
    scheme, _, rest = url.partition(":")
    if scheme.lower() not in ("sqlite", "duckdb") or rest.startswith("///"):
        return url
    path = rest[2:] if rest.startswith("//") else rest
    return f"{scheme.lower()}://{Path(path).expanduser().resolve()}"


def _print_board(ctx: Context, dashboard_id: str) -> None:
    """A plain-text account of a dashboard: its blocks and their state."""
    registry = load_registry()
    board: dict[str, Any] = registry.call(ctx, "dashboard_get", {"dashboard_id": dashboard_id})["dashboard"]
    print(f"{board['title']}  ({board['id']})  workspace: {ctx.ws.paths.root}")
    for block in board["blocks"]:
        shown = "shown " if block["displayed"] else "hidden"
        line = f"  {shown}  {block['type']:<16} {block['name']:<18} {block['state']}"
        if block["type"] == "metric" and block["state"] == "success":
            data = registry.call(
                ctx,
                "dashboard_block_data",
                {"dashboard_id": dashboard_id, "block_id": block["id"], "limit": 1},
            )
            if data["rows"]:
                line += f"  = {next(iter(data['rows'][0].values()))}"
        print(line)


if __name__ == "__main__":
    raise SystemExit(main())
