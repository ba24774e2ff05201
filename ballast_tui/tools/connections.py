"""Connection tools (workspace administrators only), and connected tables in boards' catalogs.

A URL goes in once, through `connection_add`, and never comes out: answers,
the audit and errors show the driver, host, port, database and user, never
the password or the URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from ballast_tui.engine.changes import record
from ballast_tui.engine.executor import QueryError
from ballast_tui.tools.registry import NAME_SCHEMA, REGISTRY, Args, Context

if TYPE_CHECKING:
    from ballast_tui.engine.remote.store import Connection

SHOWN_TABLES = 12


class AddArgs(Args):
    name: str = Field(min_length=1, max_length=63, json_schema_extra=NAME_SCHEMA)
    url: str = Field(min_length=1, max_length=8192, repr=False)
    check: bool = True
    grant: list[str] = Field(default_factory=list, max_length=1000)
    """Users (names or ids, or "*" for everyone) whose boards may read it; nobody by default."""


class GrantArgs(Args):
    connection: str = Field(min_length=1, max_length=63)
    user: str = Field(min_length=1, max_length=64)


class NameArgs(Args):
    name: str


class ListArgs(Args):
    refresh: bool = False


@REGISTRY.tool(
    "connection_add",
    AddArgs,
    refuses="a URL no driver takes, one that does not connect (with `check`), or one inside the workspace",
    role="admin",
    writes=True,
    example={"name": "warehouse", "url": "postgresql://reader:secret@db.internal:5432/analytics"},
)
def connection_add(ctx: Context, args: AddArgs) -> dict[str, Any]:
    """Connect a warehouse or app database: `url` is postgresql://user:password@host:port/database,
    sqlite:///absolute/path.db or duckdb:///absolute/path.duckdb. Administrators only. The URL is
    stored encrypted and never shown again; with `check` (the default) it is added only once the
    database answers. Boards read it only once it is granted to their owner (`grant`, or
    connection_grant): nobody at first.

    Connect a warehouse or app database (workspace administrators only): `url` is
    postgresql://user:password@host:port/database, sqlite:///absolute/path.db or
    duckdb:///absolute/path.duckdb (never a file inside the workspace). Its tables then read in SQL as
    NAME.schema.table on boards whose owner it is granted to (`grant`: user names, or "*" for
    everyone). Connect with a least-privilege, read-only database role. The URL is stored encrypted and
    never shown again; with `check` (default true) it is added only once the database answers. Use it
    only when the user gives you a connection to add.
    Returns `connection` (name, driver, host, database, user, grants; never the password).
    """
    grantees = [_grantee(ctx, user) for user in args.grant]
    connection = ctx.ws.connections.add(args.name, args.url, ctx.user.id, check=args.check)
    with ctx.ws.db.write() as tx:
        record(tx, ctx, None, "connection_add", connection.name, **_audited(connection))
        for grantee in grantees:
            ctx.ws.connections.grant(tx, connection, grantee, ctx.user.id)
            record(tx, ctx, None, "connection_grant", connection.name, user=_shown(ctx, grantee))
    return {"connection": _describe(ctx, connection)}


def _grantee(ctx: Context, user: str) -> str:
    """A grant's user id, or '*' for every user (404 for an unknown user)."""
    return "*" if user == "*" else ctx.ws.users.find(user).id


def _shown(ctx: Context, grantee: str) -> str:
    return "everyone" if grantee == "*" else ctx.ws.users.get(grantee).name


@REGISTRY.tool(
    "connection_grant",
    GrantArgs,
    role="admin",
    writes=True,
    idempotent=True,
    example={"connection": "warehouse", "user": "alice"},
)
def connection_grant(ctx: Context, args: GrantArgs) -> dict[str, Any]:
    """Let the boards owned by `user` (a name or id; "*" for every user) read connection `connection`.
    Administrators only.

    Grant a connection: boards owned by that user (or by anyone, with "*") may then read its tables.
    Returns `connection` with its `grants`.
    """
    connection = ctx.ws.connections.get(args.connection)
    grantee = _grantee(ctx, args.user)
    with ctx.ws.db.write() as tx:
        if ctx.ws.connections.grant(tx, connection, grantee, ctx.user.id):
            record(tx, ctx, None, "connection_grant", connection.name, user=_shown(ctx, grantee))
    return {"connection": _describe(ctx, connection)}


@REGISTRY.tool(
    "connection_revoke",
    GrantArgs,
    role="admin",
    writes=True,
    destructive=True,
    idempotent=True,
    example={"connection": "warehouse", "user": "*"},
)
def connection_revoke(ctx: Context, args: GrantArgs) -> dict[str, Any]:
    """Take back a connection's grant to `user` ("*": the grant to every user). Administrators only.

    Revoke a connection grant: that user's boards (or, with "*", boards through the everyone grant)
    no longer read its tables; blocks that do fail, naming the table as unknown. Returns `connection`
    with its `grants`; `revoked` says whether there was such a grant.
    """
    connection = ctx.ws.connections.get(args.connection)
    grantee = _grantee(ctx, args.user)
    with ctx.ws.db.write() as tx:
        revoked = ctx.ws.connections.revoke(tx, connection, grantee)
        if revoked:
            record(tx, ctx, None, "connection_revoke", connection.name, user=_shown(ctx, grantee))
    return {"connection": _describe(ctx, connection), "revoked": revoked}


@REGISTRY.tool(
    "connection_list",
    ListArgs,
    role="admin",
    writes=False,
    example={"refresh": False},
)
def connection_list(ctx: Context, args: ListArgs) -> dict[str, Any]:
    """The workspace's connections: name, driver, host, port, database and user (never a password),
    who added each and when, and how many tables it exposes. Administrators only.

    List the workspace's connections (administrators only): name, driver, host, port, database, user,
    who added it and how many tables it exposes; `refresh` lists the tables again.
    Returns `connections`.
    """
    answers = []
    for connection in ctx.ws.connections.all():
        described = _describe(ctx, connection)
        if args.refresh:
            try:
                described["tables"] = len(ctx.ws.connections.tables(connection, refresh=True))
            except QueryError as error:
                described["error"] = str(error)
        answers.append(described)
    return {"connections": answers}


@REGISTRY.tool(
    "connection_remove",
    NameArgs,
    role="admin",
    writes=True,
    destructive=True,
    example={"name": "warehouse"},
)
def connection_remove(ctx: Context, args: NameArgs) -> dict[str, Any]:
    """Remove a connection and forget its URL. Blocks that read its tables fail, naming it, until a
    connection of that name is added again. Administrators only.

    Remove a connection and forget its URL (administrators only). Blocks that read its tables fail,
    naming it, until a connection of that name is added again.
    Returns `removed` (the name).
    """
    connection = ctx.ws.connections.remove(args.name)
    with ctx.ws.db.write() as tx:
        record(tx, ctx, None, "connection_remove", connection.name, **_audited(connection))
    return {"removed": connection.name}


def _audited(connection: Connection) -> dict[str, Any]:
    return {"driver": connection.driver, **{k: v for k, v in connection.display.items() if k != "driver"}}


def _describe(ctx: Context, connection: Connection) -> dict[str, Any]:
    described = connection.describe()
    described["grants"] = [_shown(ctx, grantee) for grantee in ctx.ws.connections.grants(connection)]
    described["tables"] = len(ctx.ws.connections.cached_tables(connection)) if connection.listed_at else None
    if connection.created_by:
        try:
            described["created_by_name"] = ctx.ws.users.get(connection.created_by).name
        except Exception:  # a user that no longer exists
            described["created_by_name"] = None
    return described
