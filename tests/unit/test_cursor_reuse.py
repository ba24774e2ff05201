"""A block's query reuses an idle cursor of its board's DuckDB (issue 17, item 3).

Real DuckDB, real workspace. What a user would notice if this went wrong: a query reading another
query's inputs (or a temporary view left behind) by name, an interrupt meant for one query
failing the next one on the same cursor, or a reused cursor escaping the board's sandbox.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ballast_tui.engine.executor import Executor, QueryError
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient


def idle_cursors(executor: Executor, board: str) -> int:
    with executor._lock:
        return len(executor._instances[board].idle)


def test_a_cursor_is_given_back_and_used_again(ws: Workspace, board: str) -> None:
    ex = ws.executor
    assert ex.query(board, "select 1 as x").to_pylist() == [{"x": 1}]
    assert idle_cursors(ex, board) == 1
    for i in range(5):
        assert ex.query(board, f"select {i} as x").to_pylist() == [{"x": i}]
    assert idle_cursors(ex, board) == 1  # the same one, each time


def test_a_reused_cursor_never_sees_another_querys_inputs(ws: Workspace, board: str, tmp_path: Path) -> None:
    ex = ws.executor
    secret = pa.table({"v": [42]})
    assert ex.query(board, "select v from t0", {"t0": secret}).to_pylist() == [{"v": 42}]
    assert idle_cursors(ex, board) == 1
    with pytest.raises(QueryError, match="t0"):
        ex.query(board, "select v from t0")
    # Nor by the file path a relation was read from.
    path = ws.board_dir(board) / "in.parquet"
    pq.write_table(pa.table({"w": [7]}), path)
    assert ex.query(board, "select w from src", {"src": path}).to_pylist() == [{"w": 7}]
    with pytest.raises(QueryError, match="src"):
        ex.query(board, "select w from src")
    # Streamed into a file, the same.
    out = ws.board_dir(board) / "out.parquet"
    ex.query_to_file(board, "select v from t0", {"t0": secret}, None, out)
    with pytest.raises(QueryError, match="t0"):
        ex.query(board, "select v from t0")
    # A query with its own WITH over tables, read by their registered names: the same.
    assert ex.query(board, "with w as (select v from t0) select v from w", {"t0": secret}).to_pylist() == [
        {"v": 42}
    ]
    assert idle_cursors(ex, board) == 1
    with pytest.raises(QueryError, match="t0"):
        ex.query(board, "select v from t0")


def test_a_cursor_that_made_temporary_views_is_not_used_again(ws: Workspace, board: str) -> None:
    ex = ws.executor
    ex.query(board, "select 1 as x")
    assert idle_cursors(ex, board) == 1
    # A query with its own WITH reads a file over a temporary view on its cursor.
    path = ws.board_dir(board) / "in.parquet"
    pq.write_table(pa.table({"v": [1]}), path)
    own_with = "with w as (select v from src) select v from w"
    assert ex.query(board, own_with, {"src": path}).to_pylist() == [{"v": 1}]
    assert idle_cursors(ex, board) == 0  # closed, not given back
    with pytest.raises(QueryError, match="src"):
        ex.query(board, "select v from src")


def test_an_interrupt_reaches_only_the_query_it_was_meant_for(ws: Workspace, board: str) -> None:
    ex = ws.executor
    ex.query(board, "select 1 as x")
    # Nothing runs: a cancel reaches no cursor, and the idle one answers the next query.
    assert ex.cancel(board) == 0
    assert ex.query(board, "select 2 as x").to_pylist() == [{"x": 2}]
    assert idle_cursors(ex, board) == 1

    errors: list[str] = []

    def slow() -> None:
        try:
            ex.query(board, "select sum(hash(range)) from range(10000000000)")
        except QueryError as error:
            errors.append(str(error))

    runner = threading.Thread(target=slow)
    runner.start()
    deadline = time.monotonic() + 10
    while runner.is_alive() and time.monotonic() < deadline:
        ex.cancel(board)  # again until it lands (one sent before DuckDB starts the query is lost)
        time.sleep(0.05)
    runner.join(30)
    assert errors == ["the query was cancelled"]
    # The interrupted cursor (the idle one, taken by the slow query) is closed, not given back;
    # the next query runs as usual on a new one.
    assert idle_cursors(ex, board) == 0
    assert ex.query(board, "select 3 as x").to_pylist() == [{"x": 3}]
    assert idle_cursors(ex, board) == 1


def test_a_time_limit_fails_its_own_query_only(ws: Workspace, board: str) -> None:
    ex = ws.executor
    with pytest.raises(QueryError, match="time limit"):
        ex.query(board, "select sum(hash(range)) from range(10000000000)", timeout=0.2)
    for i in range(3):
        assert ex.query(board, f"select {i} as x", timeout=0.2).to_pylist() == [{"x": i}]
        time.sleep(0.25)  # past the time limit of the query before: its alarm reaches nobody


def test_a_reused_cursor_stays_in_the_sandbox(ws: Workspace, call: ToolClient, board: str) -> None:
    ex = ws.executor
    other = str(call("dashboard_create", title="Other")["dashboard"]["id"])
    theirs = ws.board_dir(other) / "theirs.parquet"
    theirs.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"v": [1]}), theirs)
    ex.query(board, "select 1 as x")
    assert idle_cursors(ex, board) == 1
    for sql in (
        f"select * from read_parquet('{theirs}')",
        "select * from read_csv('/etc/passwd')",
    ):
        with pytest.raises(QueryError):
            ex.query(board, sql)
    assert ex.query(board, "select current_setting('enable_external_access') as a").to_pylist() == [
        {"a": False}
    ]


def test_closing_a_board_closes_its_idle_cursors(ws: Workspace, board: str) -> None:
    ex = ws.executor
    ex.query(board, "select 1 as x")
    with ex._lock:
        instance = ex._instances[board]
        [cursor] = instance.idle
    ex.close_board(board)
    assert instance.idle == [] and instance.closed
    with pytest.raises(Exception):  # noqa: B017 - DuckDB's own "connection already closed"
        cursor.execute("select 1")
    assert ex.query(board, "select 4 as x").to_pylist() == [{"x": 4}]
