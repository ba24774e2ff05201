"""Running a query with as little fixed cost as DuckDB allows, and the same answers (issue 17).

DuckDB itself, in memory; no engine part is stood in for. What a user would notice if this went
wrong: a block answering other rows, other column names or types, or another error message, than
its query gives over views.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ballast_tui.engine.statements import (
    NotOneSelect,
    Relation,
    only_one_select,
    register_views,
    run_reading,
    run_select,
)
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient
from tests.unit.test_cascade import add_sql, update_sql

QUERIES: list[tuple[str, dict[str, Any] | None]] = [
    ("select x + 1 as x from t0", None),
    ("select 1 as a, 2 as a from t0 limit 1", None),  # duplicate names stay as they are
    ("select x, x from t0 order by x desc", None),
    ("select * from t0, f as b where t0.x = b.x order by t0.x", None),
    ("from t0 select x where x > $k -- a trailing comment", {"k": 3}),
    ("/* a leading comment */ select t0.x from t0 join t0 as b on t0.x = b.x order by 1", None),
    ("select t0 from t0 order by x limit 2", None),  # the row as a struct named by the table
    ("(select x from t0) union all (select x from f) order by x limit 3", None),
    ("pivot t0 on g using sum(x) order by all", None),
    ("select x from t0 where g in (select g from f where x < $k) order by x", {"k": 4}),
    ("values (1), (2)", None),
    # Names spelled otherwise, or spelled where they name no input.
    ('select "T0".x from T0 order by 1', None),
    ("select t0.x + 1 from t0 order by 1", None),  # a column named by its expression's text
    ("select x as t0 from t0 order by x", None),  # an alias spelling an input's name
    ("select {'k': x, t0: g} as s from t0 order by x limit 2", None),  # a struct key spelling it
    ("select list_transform([1, 2], lambda t0: t0 + x) as l from t0 order by x", None),  # a lambda's
    ("select * from (with t0 as (select 7 as x) select x from t0)", None),  # a CTE's, inside
    ("select 't0' as s, x from t0 order by x limit 1 -- t0", None),  # a string, a comment
    ("select x from t0 where x = $t0 order by x", {"t0": 4}),  # a parameter's name
    # Taking no WITH in front: over views, as before.
    ("with q as (select * from t0) select count(*) as n from q", None),
    ("with t0 as (select * from t0 where x > 5) select count(*) as n from t0", None),
    ("describe t0", None),
    ("summarize f", None),
]


@pytest.fixture(params=["a table and a file", "tables only"])
def relations(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Relation]:
    """`t0` an Arrow table, `f` a Parquet file; or both tables (a query over tables only reads
    their registered names directly, the other way names them in a WITH)."""
    table = pa.table({"x": pa.array(range(10), pa.int64()), "g": [i % 3 for i in range(10)]})
    path = tmp_path / "f.parquet"
    pq.write_table(table, path)
    return {"t0": table, "f": path if request.param == "a table and a file" else pq.read_table(path)}


def over_views(sql: str, relations: dict[str, Relation], params: dict[str, Any] | None) -> pa.Table:
    cursor = duckdb.connect(":memory:", config={"python_enable_replacements": False})
    register_views(cursor, relations)
    return cursor.sql(sql, params=params or {}).to_arrow_table()


@pytest.mark.parametrize(("sql", "params"), QUERIES)
@pytest.mark.parametrize("stream", [True, False])
def test_a_query_reading_named_inputs_answers_as_over_views(
    relations: dict[str, Relation], sql: str, params: dict[str, Any] | None, stream: bool
) -> None:
    expected = over_views(sql, relations, params)
    cursor = duckdb.connect(":memory:", config={"python_enable_replacements": False}).cursor()
    reading = run_reading(cursor, sql, relations, params, 100_000, stream=stream)
    result = reading.result
    table = result.read_all() if isinstance(result, pa.RecordBatchReader) else result
    assert table.schema == expected.schema
    assert table == expected


def test_a_column_spelling_an_inputs_name_is_read_as_over_views() -> None:
    relations: dict[str, Relation] = {
        "t0": pa.table({"t1": [10, 20], "x": [1, 2]}),
        "t1": pa.table({"y": [5]}),
    }
    for sql in ["select t1 as v from t0, t1 order by all", "select t1 from t0 order by all"]:
        expected = over_views(sql, relations, None)
        cursor = duckdb.connect(":memory:", config={"python_enable_replacements": False}).cursor()
        reading = run_reading(cursor, sql, relations, None, 100_000, stream=False)
        assert reading.result == expected
        assert reading.result.column("v" if " as v" in sql else "t1").to_pylist() == [10, 20]


@pytest.mark.parametrize(
    "sql",
    [
        "select y from t0",
        "select x from t0 where x > 'a'::INTEGER",
        "select * from nowhere, t0",
        "select x,\n  (g::VARCHAR || 'z')::INTEGER as bad\nfrom t0",  # fails while it runs
        "select x,\n  (t0.g::VARCHAR || 'z')::INTEGER as bad\nfrom t0",  # its text naming the input
    ],
)
def test_a_query_that_fails_fails_with_its_own_message(relations: dict[str, Relation], sql: str) -> None:
    views = duckdb.connect(":memory:", config={"python_enable_replacements": False})
    register_views(views, relations)
    with pytest.raises(duckdb.Error) as over:
        reader = run_select(views, sql, None, 100, stream=True)
        assert isinstance(reader, pa.RecordBatchReader)
        reader.read_all()
    cursor = duckdb.connect(":memory:", config={"python_enable_replacements": False}).cursor()
    with pytest.raises(duckdb.Error) as ours:
        reading = run_reading(cursor, sql, relations, None, 100, stream=True)
        assert isinstance(reading.result, pa.RecordBatchReader)
        try:
            reading.result.read_all()
        except duckdb.Error as error:
            raise reading.own_error(error) from None
    assert str(ours.value) == str(over.value)
    assert "NOT MATERIALIZED" not in str(ours.value)


def test_a_block_error_shows_the_users_own_query(ws: Workspace, call: ToolClient, board: str) -> None:
    top = add_sql(call, board, "top", "select 1 as v")
    add_sql(call, board, "down", "select v from top")
    answer = update_sql(call, board, top, "select 2 as w")
    [failed] = answer["cascade"]["failed"]
    run = ws.db.row("SELECT error FROM runs WHERE block_id = ? ORDER BY rowid DESC", [failed])
    assert run is not None
    assert "LINE 1: select v from top" in run["error"] and "NOT MATERIALIZED" not in run["error"]


def test_a_query_runs_the_same_through_duckdbs_submit_step_as_through_a_relation() -> None:
    con = duckdb.connect(":memory:", config={"python_enable_replacements": False})
    cursor = con.cursor()
    cases: list[tuple[str, dict[str, Any] | None]] = [
        ("select $a as a, [1, 2] as l, {'k': 'v'} as s, 1.5::DECIMAL(9,2) as d", {"a": 7}),
        ("select range as v, range::VARCHAR as t from range(300000)", None),
        ("from range(3) select range * 2 as x", None),
        ("select 1 as a, 2 as a", None),
    ]
    for sql, params in cases:
        expected = cursor.sql(sql, params=params or {}).to_arrow_table()
        streamed = run_select(cursor, sql, params, 100_000, stream=True)
        assert isinstance(streamed, pa.RecordBatchReader)
        assert streamed.read_all() == expected
        assert run_select(cursor, sql, params, 100_000, stream=False) == expected
    for sql, params in [("select $a as a", {"a": 1, "b": 2}), ("select $a as a", None), ("selec 1", None)]:
        for stream in (True, False):
            try:
                run_select(cursor, sql, params, 100, stream=stream)
            except duckdb.Error as error:
                assert type(error).__name__.endswith("Exception")
            else:
                raise AssertionError(f"{sql!r} with {params} ran")
    con.close()


def test_a_text_refused_as_not_one_select_is_refused_every_time() -> None:
    con = duckdb.connect(":memory:")
    for text in ("select 1; select 2", "copy (select 1) to 'x.csv'", "select 1"):
        outcomes = []
        for _ in range(2):
            try:
                only_one_select(con, text)
                outcomes.append("ok")
            except NotOneSelect as refused:
                outcomes.append(str(refused))
        assert outcomes[0] == outcomes[1]
        assert (outcomes[0] == "ok") == (text == "select 1")
    con.close()


@pytest.mark.parametrize("stream", [True, False])
def test_a_cancelled_query_over_inputs_stops_and_is_not_run_again(
    relations: dict[str, Relation], stream: bool
) -> None:
    cursor = duckdb.connect(":memory:", config={"python_enable_replacements": False}).cursor()
    sql = "select sum(t0.x * r.range) as s from t0, range(800000000) as r"  # ~25 s uncancelled
    timer = threading.Timer(0.3, cursor.interrupt)
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(duckdb.InterruptException):
            reading = run_reading(cursor, sql, {"t0": relations["t0"]}, None, 100, stream=stream)
            if isinstance(reading.result, pa.RecordBatchReader):
                try:
                    reading.result.read_all()
                except duckdb.Error as error:
                    raise reading.own_error(error) from None
    finally:
        timer.cancel()
    assert time.monotonic() - started < 10  # one run, cancelled: not a second one over views
