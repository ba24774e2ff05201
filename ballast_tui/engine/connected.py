"""Connected warehouses as a board sees them: their tables in the catalog, and a check that a
block's reads of connected tables name tables that exist."""

from __future__ import annotations

from typing import Any

from ballast_tui.engine.board_graph import BoardGraph
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.executor import QueryError
from ballast_tui.engine.scope import BoardScope

SHOWN_TABLES = 12


def connected_sources(board: BoardScope) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every table of the connections the board may read (granted to its owner) as a catalog source
    (``NAME.schema.table``), and each of those connections' state.

    Tables are looked up at first need and cached; a connection that cannot be
    reached shows its last known tables and the error.
    """
    sources: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []
    store = board.ws.connections
    for connection in store.granted_to(str(board.row["owner_id"])):
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


def check_connected_reads(board: BoardScope, g: BoardGraph, block_ids: list[str]) -> None:
    """Refuse a block that reads a connection or a table that does not exist.

    A connection that cannot be reached now is not held against the block: its
    run will say what is wrong.
    """
    if not any(g.upstream_remote.get(block_id) for block_id in block_ids):
        return  # no connected table: the drivers need not even be loaded
    from ballast_tui.engine.remote.planner import split_name

    store = board.ws.connections
    owner = str(board.row["owner_id"])
    for block_id in block_ids:
        for name in g.upstream_remote.get(block_id, []):
            ref = split_name(name)
            assert ref is not None
            block = g.by_id[block_id]["name"]
            connection = store.find_for(ref.connection, owner)
            if connection is None:
                raise InvalidRequest(
                    f"block {block!r} reads {name!r}, which is neither a block, a source, "
                    f"nor a table of a connection this board may read ({ref.connection!r} is not a "
                    "connection granted to the board's owner)"
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
