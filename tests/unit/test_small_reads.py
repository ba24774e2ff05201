"""Small outputs read with pyarrow give what the DuckDB query gives: the same rows, in the same order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from ballast_tui.engine.data import _page, chart_series
from ballast_tui.engine.json_values import jsonable
from ballast_tui.engine.outputs import Output, describe_schema, output_of_file
from ballast_tui.engine.small_reads import SMALL_ROWS, small_table
from ballast_tui.engine.workspace import Workspace

BOARD = "dash_smallreads"

# Every plain type, with nulls, NaN, ties and unsorted x, as a block's SQL would make them.
PLAIN_SQL = """
SELECT * FROM (VALUES
  (3, 2.5::DOUBLE, 'b', DATE '2024-01-03', TIMESTAMP '2024-01-03 10:00', 1.25::DEC(9,2), true, 7::UBIGINT),
  (1, 'NaN'::FLOAT8, 'a', DATE '2024-01-01', TIMESTAMP '2024-01-01 00:00:1', 2.5::DEC(9,2), false, 8::UINT64),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (2, -1.0::FLOAT8, 'é', DATE '2023-12-31', TIMESTAMP '2023-12-31 23:59:59.5', -3::DEC(9,2), true, 0::UINT64),
  (2, 4.0::DOUBLE, 'a', DATE '2024-01-02', TIMESTAMP '2024-01-02 12:00:00', 0.00::DEC(9,2), NULL, 9::UBIGINT)
) AS t(n, f, s, d, ts, dec, b, u)
"""


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "ws")
    yield workspace
    workspace.close()


def written(ws: Workspace, sql: str, name: str = "out.parquet") -> Any:
    """`sql`'s result written by DuckDB as a block's Parquet output, and that output."""
    path = ws.board_dir(BOARD) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
    con.close()
    return output_of_file(path, "hash", "run_x")


def duck(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    rows = con.execute(sql.replace("__out", f"read_parquet('{path}')")).fetchall()
    con.close()
    return rows


def test_a_small_output_of_plain_types_is_read_without_duckdb(ws: Workspace) -> None:
    output = written(ws, PLAIN_SQL)
    table = small_table(output)
    assert table is not None and table.num_rows == 5
    # repr: NaN equals itself there.
    assert repr([tuple(r.values()) for r in table.to_pylist()]) == repr(
        duck(output.path, "SELECT * FROM __out")
    )


@pytest.mark.parametrize("x", ["n", "f", "s", "d", "ts", "dec", "b", "u"])
def test_a_chart_over_a_small_output_orders_its_points_as_duckdb_does(ws: Workspace, x: str) -> None:
    output = written(ws, PLAIN_SQL)
    series = chart_series(ws, BOARD, {"kind": "line", "x": x, "y": "f"}, output, max_points=100)
    expected = duck(output.path, f'SELECT "{x}" FROM __out ORDER BY "{x}"')
    got = series["x"]
    assert len(got) == len(expected) == 5
    # The JSON the tool answers: compare through the same conversion as the rows.
    assert repr(got) == repr([jsonable(v) for (v,) in expected])
    assert series["reduced"] is False and series["points"] == 5


def test_a_bar_chart_keeps_the_first_rows_as_stored(ws: Workspace) -> None:
    output = written(ws, "SELECT i AS k, i * 2 AS v FROM range(300) t(i) ORDER BY i DESC")
    series = chart_series(ws, BOARD, {"kind": "bar", "x": "k", "y": "v"}, output, max_points=50)
    assert series["x"] == list(range(299, 249, -1)) and series["y"]["v"] == [2 * k for k in series["x"]]
    assert series["reduced"] is True


def test_pages_of_rows_match_duckdbs(ws: Workspace) -> None:
    output = written(ws, PLAIN_SQL)
    rows = _page(ws, BOARD, output, limit=2, offset=1)
    assert [list(r) for r in rows] == [["n", "f", "s", "d", "ts", "dec", "b", "u"]] * 2
    assert rows[0]["s"] == "a" and rows[1]["n"] is None


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT TIMESTAMPTZ '2024-01-01 10:00:00+02' AS t",  # the session's time zone decides its text
        "SELECT [1, 2] AS l",
        "SELECT {'a': 1} AS st",
        "SELECT 'a'::BLOB AS b",
    ],
)
def test_other_types_are_left_to_duckdb(ws: Workspace, sql: str) -> None:
    output = written(ws, sql)
    assert small_table(output) is None


def test_an_output_in_memory_of_another_type_is_left_to_duckdb(ws: Workspace) -> None:
    """An enum in memory (not yet written) sorts by its declared order, not by its text."""
    table = duckdb.sql("SELECT 'x'::ENUM('y', 'x') AS e").to_arrow_table()
    output = Output("hash", 1, describe_schema(table.schema), table=table)
    assert small_table(output) is None


def test_a_large_output_is_left_to_duckdb(ws: Workspace) -> None:
    output = written(ws, f"SELECT i FROM range({SMALL_ROWS + 1}) t(i)")
    assert small_table(output) is None
    series = chart_series(ws, BOARD, {"kind": "bar", "x": "i", "y": "i"}, output, max_points=3)
    assert series["x"] == [0, 1, 2]
