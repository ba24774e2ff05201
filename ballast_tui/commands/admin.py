"""`ballast user …` and `ballast connection …`: the workspace's users, and its connected databases."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from ballast_tui.commands import call, fail


def run_user(args: argparse.Namespace) -> int:
    """`ballast user add|list|token|revoke|remove`: the user tools, as the command's user."""
    if args.user_command == "add":
        kind = "agent" if args.agent else "human"
        answer = call(args, "user_add", name=args.name, kind=kind, admin=args.admin)
        user = answer["user"]
        role = " - administrator" if user["admin"] else ""
        print(f"created {user['kind']} {user['name']} ({user['id']}){role}")
        print(answer["token"])
        return 0
    if args.user_command == "token":
        arguments = {"user": args.name, **({"name": args.label} if args.label else {})}
        answer = call(args, "user_token_create", **arguments)
        print(f"new token {answer['token_id']} for {answer['user']['name']} (shown once; keep it secret)")
        print(answer["token"])
        return 0
    if args.user_command == "revoke":
        arguments = {"user": args.name, **({"token_id": args.token_id} if args.token_id else {})}
        revoked = call(args, "user_token_revoke", **arguments)["revoked"]
        print(
            f"revoked {len(revoked)} token(s) of {args.name}" + (f": {', '.join(revoked)}" if revoked else "")
        )
        return 0
    if args.user_command == "remove":
        call(args, "user_remove", user=args.name)
        print(f"removed {args.name}; its tokens no longer work")
        return 0
    users = call(args, "user_list")["users"]
    print(f"{'NAME':<20} {'KIND':<6} {'ADMIN':<5} {'TOKENS':>6}  CREATED")
    for user in users:
        admin, created = "yes" if user["admin"] else "", user["created_at"][:10]
        print(f"{user['name']:<20} {user['kind']:<6} {admin:<5} {user['live_tokens']:>6}  {created}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """`ballast list`: the dashboards the caller may see."""
    boards = call(args, "dashboard_list")["dashboards"]
    if not boards:
        print("no dashboards you may see; make one in the app, or `ballast demo`")
        return 0
    print(f"{'ID':<22} {'ROLE':<7} {'VISIBILITY':<10} {'LAST REFRESH':<17} TITLE")
    for board in boards:
        refreshed = (board["lastRefreshedAt"] or "never").replace("T", " ")[:16]
        role = board["role"] or ""
        print(f"{board['id']:<22} {role:<7} {board['visibility']:<10} {refreshed:<17} {board['title']}")
    return 0


def run_connection(args: argparse.Namespace) -> int:
    """`ballast connection add|list|remove`: the connection tools, through a running server if any."""
    if args.connection_command == "add":
        url = args.url
        if url == "-":
            url = getpass.getpass("URL (not shown): ") if sys.stdin.isatty() else sys.stdin.readline()
        arguments = {
            "name": args.name,
            "url": _absolute_file_url(url.strip()),
            "check": not args.no_check,
            "grant": ["*"] if args.all else list(args.grant),
        }
        answer = call(args, "connection_add", **arguments)["connection"]
        tables = "" if answer["tables"] is None else f": {answer['tables']} tables"
        print(f"connected {answer['name']} ({_where(answer)}){tables}")
        print(f"read its tables as {answer['name']}.schema.table")
        return 0
    if args.connection_command in ("grant", "revoke"):
        if bool(args.user) == bool(args.all):
            return fail(f"connection {args.connection_command} needs a USER or --all (not both)")
        grantee = "*" if args.all else args.user
        answer = call(args, f"connection_{args.connection_command}", connection=args.name, user=grantee)
        grants = ", ".join(answer["connection"]["grants"]) or "nobody"
        print(f"{args.name} is read by the boards of: {grants}")
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
