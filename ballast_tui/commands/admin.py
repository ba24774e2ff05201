"""`ballast user …` and `ballast connection …`: the workspace's users, and its connected databases."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from ballast_tui.commands import call, workspace_of
from ballast_tui.engine.workspace import Workspace


def run_user(args: argparse.Namespace) -> int:
    """`ballast user add NAME [--agent] [--admin]`: a user and its first token (on the last line)."""
    with Workspace(workspace_of(args)) as ws:
        kind = "agent" if args.agent else "human"
        user, token = ws.users.create(args.name, kind, admin=args.admin, created_by=ws.users.local().id)
    print(f"created {user.kind} {user.name} ({user.id}){' - administrator' if user.is_admin else ''}")
    print(token)
    return 0


def run_connection(args: argparse.Namespace) -> int:
    """`ballast connection add|list|remove`: the connection tools, through a running server if any."""
    if args.connection_command == "add":
        url = args.url
        if url == "-":
            url = getpass.getpass("URL (not shown): ") if sys.stdin.isatty() else sys.stdin.readline()
        arguments = {"name": args.name, "url": _absolute_file_url(url.strip()), "check": not args.no_check}
        answer = call(args, "connection_add", **arguments)["connection"]
        tables = "" if answer["tables"] is None else f": {answer['tables']} tables"
        print(f"connected {answer['name']} ({_where(answer)}){tables}")
        print(f"read its tables as {answer['name']}.schema.table")
        return 0
    if args.connection_command == "remove":
        print(f"removed {call(args, 'connection_remove', name=args.name)['removed']}")
        return 0
    connections = call(args, "connection_list")["connections"]
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
