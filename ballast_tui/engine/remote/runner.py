"""Running a SQL block that reads connected tables: pushed down, or pulled into the board's DuckDB.

`RemoteRun` carries what a cascade knows (the board, its refresh epoch,
whether cached reads may be reused) and collects the trace a run records:
for each query sent, the connection, the SQL in its dialect, the names of the
parameters bound to it, the rows that came back and how long it took.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.executor import Executor, QueryError, Relation
from ballast_tui.engine.outputs import Output
from ballast_tui.engine.remote.planner import (
    PullPlan,
    RemoteQuery,
    Untranslatable,
    plan_pulls,
    plan_pushdown,
    split_name,
)
from ballast_tui.engine.remote.store import Connection, Connections, RemoteQueryError
from ballast_tui.engine.sql import locate_tables


@dataclass
class RemoteRun:
    """One block's access to connected databases within a cascade."""

    connections: Connections
    board_id: str
    owner_id: str
    """The board's owner: the board reads only the connections granted to them."""
    epoch: int
    reuse: bool = True
    """Serve reads cached in this epoch (edits, controls, viewers); a refresh or manual run reads anew."""
    trace: list[dict[str, Any]] = field(default_factory=list)


def run_sql(
    executor: Executor,
    remote: RemoteRun,
    sql: str,
    inputs: Mapping[str, Output],
    bound: Mapping[str, Any],
) -> pa.Table:
    """The block's result: from the one database it reads, or from DuckDB over what was pulled."""
    try:
        return _run_sql(executor, remote, sql, inputs, bound)
    except InvalidRequest as error:  # SQL that no longer parses (it did when saved)
        raise QueryError(error.message) from None


def _run_sql(
    executor: Executor,
    remote: RemoteRun,
    sql: str,
    inputs: Mapping[str, Output],
    bound: Mapping[str, Any],
) -> pa.Table:
    located = locate_tables(sql)
    remote_names = [name for name, _node, _span in located.tables if name not in inputs]
    connections = _connections(remote, remote_names)
    local = [name for name, _node, _span in located.tables if name in inputs]
    settings = remote.connections.settings
    if len(connections) == 1 and not local and settings.pushdown:
        connection = next(iter(connections.values()))
        try:
            query = plan_pushdown(sql, connection.name, connection.driver)
        except Untranslatable as reason:
            remote.trace.append({"connection": connection.name, "mode": "pushdown", "fallback": str(reason)})
        else:
            try:
                return _fetch(remote, connection, query, bound)
            except RemoteQueryError as failure:
                if failure.kind != "untranslatable":
                    raise
                remote.trace[-1]["fallback"] = "the database refused the translated query; pulled instead"
    return _pull_and_run(executor, remote, sql, connections, inputs, bound)


def _connections(remote: RemoteRun, names: list[str]) -> dict[str, Connection]:
    found: dict[str, Connection] = {}
    for name in names:
        ref = split_name(name)
        if ref is None:
            raise QueryError(f"{name!r} is neither a block nor a source of this board")
        if ref.connection not in found:
            connection = remote.connections.find_for(ref.connection, remote.owner_id)
            if connection is None:
                raise QueryError(
                    f"{name!r} is neither a block nor a source of this board, nor a table of a "
                    f"connection it may read ({ref.connection!r} is not a connection granted to its owner)"
                )
            found[ref.connection] = connection
    return found


def _pull_and_run(
    executor: Executor,
    remote: RemoteRun,
    sql: str,
    connections: Mapping[str, Connection],
    inputs: Mapping[str, Output],
    bound: Mapping[str, Any],
) -> pa.Table:
    store = remote.connections

    def lookup(connection: str, schema: str, table: str) -> Any:
        return store.table(connections[connection], schema, table)

    drivers = {name: c.driver for name, c in connections.items()}
    local_columns = {name: output.column_names for name, output in inputs.items()}
    try:
        plan = plan_pulls(sql, drivers, lookup, local_columns, bound)
    except Untranslatable as reason:
        raise QueryError(f"cannot read the connected tables of this query: {reason}") from None
    try:
        return _run_local(executor, remote, plan, connections, inputs, bound)
    except QueryError as failure:
        if isinstance(failure, RemoteQueryError) or not plan.pruned or "Binder Error" not in str(failure):
            raise
    # The columns the query uses were misjudged (a construct sqlglot does not see into): pull whole tables.
    plan = plan_pulls(sql, drivers, lookup, local_columns, bound, prune=False)
    return _run_local(executor, remote, plan, connections, inputs, bound)


def _run_local(
    executor: Executor,
    remote: RemoteRun,
    plan: PullPlan,
    connections: Mapping[str, Connection],
    inputs: Mapping[str, Output],
    bound: Mapping[str, Any],
) -> pa.Table:
    relations: dict[str, Relation] = {name: output.relation for name, output in inputs.items()}
    for relation, query in plan.pulls.items():
        relations[relation] = _fetch(remote, connections[query.connection], query, bound)
    return executor.query(remote.board_id, plan.local_sql, relations, bound)


def _fetch(
    remote: RemoteRun, connection: Connection, query: RemoteQuery, bound: Mapping[str, Any]
) -> pa.Table:
    """Send one query (or serve it from this epoch's cache), recording it in the trace."""
    values = [bound[name] for name in query.params]
    params: list[Any] | dict[str, Any] = (
        dict(zip(query.params, values, strict=True)) if query.driver == "duckdb" else values
    )
    entry: dict[str, Any] = {
        "connection": connection.name,
        "driver": connection.driver,
        "mode": query.mode,
        "sql": query.sql,
        "params": list(query.params),
    }
    if query.table is not None:
        entry.update(table=query.table, columns=query.columns, pushed_filters=query.filters)
    remote.trace.append(entry)
    key = _cache_key(remote, connection, query.sql, values)
    cached = remote.connections.results.get(key) if remote.reuse else None
    started = time.perf_counter()
    if cached is not None:
        table = cached
    else:
        try:
            table = remote.connections.query(connection, query.sql, params, remote.board_id)
        except RemoteQueryError as failure:
            entry["error"] = str(failure)
            raise
        remote.connections.results.put(key, table)
    entry.update(
        rows=table.num_rows,
        cached=cached is not None,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    return table


def _cache_key(remote: RemoteRun, connection: Connection, sql: str, values: list[Any]) -> str:
    text = json.dumps([remote.board_id, remote.epoch, connection.id, sql, values], default=str)
    return hashlib.sha256(text.encode()).hexdigest()
