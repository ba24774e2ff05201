"""The fixed cost of a trivial block (issue 17, item 3): what each block of a cascade asks for.

Real workspaces in tmp_path, everything through the tools. What a user would notice if this went
wrong: an earlier run's reuse not found, or a result handed on in memory that the type check lets
through (or holds back) differently the second time it sees a schema. What the benchmark notices:
a reuse lookup costing three statements (a savepoint begun and released around it) instead of one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa

from ballast_tui.engine.handoff import survives_parquet
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage.db import Database
from tests.conftest import ToolClient
from tests.unit.test_cascade import add_sql, runs_of, update_sql


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The statements this thread's connection runs meanwhile."""
    seen: list[str] = []
    conn = db.conn.conn
    conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        conn.set_trace_callback(None)


def test_reuse_is_found_and_its_lookup_is_one_statement(ws: Workspace, call: ToolClient, board: str) -> None:
    root = add_sql(call, board, "t0", "SELECT 1 AS x")
    below = add_sql(call, board, "t1", "SELECT 1 + x AS x FROM t0")
    update_sql(call, board, root, "SELECT 2 AS x")
    with statements(ws.db) as seen:
        answer = update_sql(call, board, root, "SELECT 1 AS x")
    assert answer["cascade"]["reused"] == [root, below]
    assert answer["cascade"]["ran"] == []
    lookups = [s for s in seen if "fingerprint = " in s]
    assert len(lookups) == 2
    assert not [s for s in seen if "sqlite_utils_query" in s]  # the guard of a read, not of a write
    assert len(runs_of(ws, below)) == 2  # reused, nothing new recorded


def test_survives_parquet_answers_by_names_and_types_whatever_was_asked_before() -> None:
    plain = pa.schema([pa.field("x", pa.int32())])
    with_metadata = pa.schema([pa.field("x", pa.int32())], metadata={"k": "v"})
    millis = pa.schema([pa.field("x", pa.timestamp("ms"))])
    twice = pa.schema([pa.field("x", pa.int32()), pa.field("X", pa.int64())])
    for _ in range(2):
        assert survives_parquet(plain)
        assert survives_parquet(with_metadata)
        assert not survives_parquet(millis)
        assert not survives_parquet(twice)
