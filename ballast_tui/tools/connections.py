"""Connection tools (workspace administrators only), and connected tables in boards' catalogs.

A URL goes in once, through `connection_add`, and never comes out: answers,
the audit and errors show the driver, host, port, database and user, never
the password or the URL.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ballast_tui.engine.board_graph import BoardGraph
from ballast_tui.engine.errors import Forbidden, InvalidRequest
from ballast_tui.engine.executor import QueryError
from ballast_tui.engine.remote.planner import split_name
from ballast_tui.engine.remote.store import Connection
from ballast_tui.tools.common import record
from ballast_tui.tools.registry import REGISTRY, Args, Context

SHOWN_TABLES = 12


class AddArgs(Args):
    name: str = Field(min_length=1, max_length=63)
    url: str = Field(min_length=1, max_length=8192, repr=False)
    check: bool = True


class NameArgs(Args):
    name: str


class ListArgs(Args):
    refresh: bool = False


def require_admin(ctx: Context) -> None:
    """403 unless the caller administers the workspace (its first user, or added with --admin)."""
    if not ctx.user.is_admin:
        raise Forbidden(
            "only workspace administrators manage connections (the first user, or users added with --admin)"
        )


@REGISTRY.tool("connection_add", AddArgs)
def connection_add(ctx: Context, args: AddArgs) -> dict[str, Any]:
    """Connect a warehouse or app database to every board's catalog: `url` is
    postgresql://user:password@host:port/database, sqlite:///absolute/path.db or
    duckdb:///absolute/path.duckdb. Administrators only. The URL is stored encrypted and never shown
    again; with `check` (the default) it is added only once the database answers."""
    require_admin(ctx)
    connection = ctx.ws.connections.add(args.name, args.url, ctx.user.id, check=args.check)
    with ctx.ws.db.write() as tx:
        record(tx, ctx, None, "connection_add", connection.name, **_audited(connection))
    return {"connection": _describe(ctx, connection)}


@REGISTRY.tool("connection_list", ListArgs)
def connection_list(ctx: Context, args: ListArgs) -> dict[str, Any]:
    """The workspace's connections: name, driver, host, port, database and user (never a password),
    who added each and when, and how many tables it exposes. Administrators only."""
    require_admin(ctx)
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


@REGISTRY.tool("connection_remove", NameArgs)
def connection_remove(ctx: Context, args: NameArgs) -> dict[str, Any]:
    """Remove a connection and forget its URL. Blocks that read its tables fail, naming it, until a
    connection of that name is added again. Administrators only."""
    require_admin(ctx)
    connection = ctx.ws.connections.remove(args.name)
    with ctx.ws.db.write() as tx:
        record(tx, ctx, None, "connection_remove", connection.name, **_audited(connection))
    return {"removed": connection.name}


def _audited(connection: Connection) -> dict[str, Any]:
    return {"driver": connection.driver, **{k: v for k, v in connection.display.items() if k != "driver"}}


def _describe(ctx: Context, connection: Connection) -> dict[str, Any]:
    described = connection.describe()
    described["tables"] = len(ctx.ws.connections.cached_tables(connection)) if connection.listed_at else None
    if connection.created_by:
        try:
            described["created_by_name"] = ctx.ws.users.get(connection.created_by).name
        except Exception:  # a user that no longer exists
            described["created_by_name"] = None
    return described


# --- the catalog ----------------------------------------------------------------------------


def connected_sources(ctx: Context) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every connected table as a catalog source (``NAME.schema.table``), and each connection's state.

    Tables are looked up at first need and cached; a connection that cannot be
    reached shows its last known tables and the error.
    """
    sources: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []
    store = ctx.ws.connections
    for connection in store.all():
        state: dict[str, Any] = {"name": connection.name, "driver": connection.driver}
        try:
            tables = store.tables(connection)
        except QueryError as error:
            tables = store.cached_tables(connection)
            state["error"] = str(error)
        fresh = store.find(connection.name)
        state["tables"] = len(tables)
        state["listed_at"] = fresh.listed_at if fresh else None
        states.append(state)
        for table in tables:
            sources.append(
                {
                    "name": f"{connection.name}.{table.schema}.{table.name}",
                    "kind": "connection",
                    "format": connection.driver,
                    "connection": connection.name,
                    "schema": table.schema,
                    "table": table.name,
                    "table_type": table.kind,
                    "row_count": None,
                    "columns": table.columns,
                    "created_at": connection.created_at,
                    "updated_at": state["listed_at"],
                }
            )
    return sources, states


def check_connected_reads(ctx: Context, g: BoardGraph, block_ids: list[str]) -> None:
    """Refuse a block that reads a connection or a table that does not exist.

    A connection that cannot be reached now is not held against the block: its
    run will say what is wrong.
    """
    store = ctx.ws.connections
    for block_id in block_ids:
        for name in g.upstream_remote.get(block_id, []):
            ref = split_name(name)
            assert ref is not None
            block = g.by_id[block_id]["name"]
            connection = store.find(ref.connection)
            if connection is None:
                raise InvalidRequest(
                    f"block {block!r} reads {name!r}, which is neither a block, a source, "
                    f"nor a table of a connection ({ref.connection!r} is not a connection)"
                )
            try:
                tables = store.tables(connection)
            except QueryError:
                continue
            if store.table(connection, ref.schema, ref.table) is not None:
                continue
            try:
                store.tables(connection, refresh=True)
            except QueryError:
                continue
            if store.table(connection, ref.schema, ref.table) is None:
                known = ", ".join(f"{connection.name}.{t.schema}.{t.name}" for t in tables[:SHOWN_TABLES])
                more = "…" if len(tables) > SHOWN_TABLES else ""
                raise InvalidRequest(
                    f"block {block!r} reads {name!r}, but connection {connection.name!r} has no table "
                    f"{ref.schema}.{ref.table}" + (f" (it has: {known}{more})" if known else "")
                )
