"""Comparing two runs' outputs: real Parquet files written into tmp_path, compared in DuckDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ballast_tui.engine.compare import compare_outputs
from ballast_tui.engine.errors import InvalidRequest


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def _write(con: duckdb.DuckDBPyConnection, path: Path, select: str) -> str:
    """Write the rows of ``select`` to a Parquet file at ``path`` with DuckDB; answer the path."""
    literal = "'" + str(path).replace("'", "''") + "'"
    con.execute(f"COPY ({select}) TO {literal} (FORMAT parquet)")
    return str(path)


def _pair(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, left_select: str, right_select: str
) -> tuple[str, str]:
    return _write(con, tmp_path / "left.parquet", left_select), _write(
        con, tmp_path / "right.parquet", right_select
    )


def _compare(con: duckdb.DuckDBPyConnection, left: str, right: str, **kwargs: Any) -> dict[str, Any]:
    result = compare_outputs(con, left, right, **kwargs)
    json.dumps(result, allow_nan=False)  # strictly JSON-serializable, every time
    return result


NO_SCHEMA_CHANGE = {"added": [], "removed": [], "changed": [], "same": True}

PEOPLE = """
    SELECT * FROM (VALUES
        (1, 'ann', 10, DATE '2024-01-01'),
        (2, 'bob', 20, DATE '2024-01-02'),
        (3, 'cyd', 30, NULL),
        (4, 'dan', NULL, DATE '2024-01-04')
    ) t(id, name, score, joined)
"""


def test_identical_files(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left, right = _pair(con, tmp_path, PEOPLE, PEOPLE)
    assert _compare(con, left, right) == {
        "schema": NO_SCHEMA_CHANGE,
        "row_counts": {"left": 4, "right": 4, "delta": 0},
        "only_left": {"count": 0, "rows": []},
        "only_right": {"count": 0, "rows": []},
        "changed": {"key": ["id"], "count": 0, "rows": []},
    }


def test_same_file_on_both_sides(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = _write(con, tmp_path / "one.parquet", PEOPLE)
    result = _compare(con, path, path)
    assert result["only_left"]["count"] == result["only_right"]["count"] == result["changed"]["count"] == 0


def test_keyed_change_addition_and_removal(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    right_select = """
        SELECT * FROM (VALUES
            (1, 'ann', 10, DATE '2024-01-01'),
            (2, 'bob', 25, DATE '2024-01-02'),
            (4, 'dan', NULL, DATE '2024-01-04'),
            (5, 'eve', 50, DATE '2024-01-05')
        ) t(id, name, score, joined)
    """
    left, right = _pair(con, tmp_path, PEOPLE, right_select)
    result = _compare(con, left, right)
    assert result["schema"] == NO_SCHEMA_CHANGE
    assert result["row_counts"] == {"left": 4, "right": 4, "delta": 0}
    assert result["only_left"] == {
        "count": 1,
        "rows": [{"id": 3, "name": "cyd", "score": 30, "joined": None}],
    }
    assert result["only_right"] == {
        "count": 1,
        "rows": [{"id": 5, "name": "eve", "score": 50, "joined": "2024-01-05"}],
    }
    assert result["changed"] == {
        "key": ["id"],
        "count": 1,
        "rows": [{"key": {"id": 2}, "changes": {"score": {"left": 20, "right": 25}}}],
    }


def test_nulls_are_equal_to_nulls_but_not_to_values(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left_select = "SELECT * FROM (VALUES (1, NULL, NULL), (2, NULL, 'x'), (3, 'y', NULL)) t(id, a, b)"
    right_select = "SELECT * FROM (VALUES (1, NULL, NULL), (2, 'z', 'x'), (3, 'y', NULL)) t(id, a, b)"
    left, right = _pair(con, tmp_path, left_select, right_select)
    result = _compare(con, left, right)
    assert result["changed"] == {
        "key": ["id"],
        "count": 1,
        "rows": [{"key": {"id": 2}, "changes": {"a": {"left": None, "right": "z"}}}],
    }
    assert result["only_left"]["count"] == result["only_right"]["count"] == 0


def test_null_key_values_match_each_other(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left_select = "SELECT * FROM (VALUES (NULL, 1), (1, 2)) t(k, v)"
    right_select = "SELECT * FROM (VALUES (NULL, 5), (1, 2)) t(k, v)"
    left, right = _pair(con, tmp_path, left_select, right_select)
    result = _compare(con, left, right)
    assert result["changed"]["rows"] == [{"key": {"k": None}, "changes": {"v": {"left": 1, "right": 5}}}]
    assert result["only_left"]["count"] == 0


def test_empty_files(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    empty = "SELECT 1::INT AS id, 'x' AS name WHERE false"
    left, right = _pair(con, tmp_path, empty, empty)
    assert _compare(con, left, right) == {
        "schema": NO_SCHEMA_CHANGE,
        "row_counts": {"left": 0, "right": 0, "delta": 0},
        "only_left": {"count": 0, "rows": []},
        "only_right": {"count": 0, "rows": []},
        "changed": {"key": ["id"], "count": 0, "rows": []},
    }


def test_empty_left_full_right(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left, right = _pair(
        con, tmp_path, "SELECT 1::INT AS id WHERE false", "SELECT range::INT AS id FROM range(3)"
    )
    result = _compare(con, left, right)
    assert result["row_counts"] == {"left": 0, "right": 3, "delta": 3}
    assert result["only_left"] == {"count": 0, "rows": []}
    assert result["only_right"] == {"count": 3, "rows": [{"id": 0}, {"id": 1}, {"id": 2}]}


def test_schema_added_removed_retyped(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left_select = """
        SELECT * FROM (VALUES (1::INT, 'a', 1::INT, 'gone'), (2, 'b', 2, 'gone'), (3, 'c', 3, 'gone'))
        t(id, name, qty, old)
    """
    right_select = """
        SELECT * FROM (VALUES (1::INT, 'a', '1', true), (2, 'B', '2', false), (3, 'c', '33', true))
        t(id, name, qty, fresh)
    """
    left, right = _pair(con, tmp_path, left_select, right_select)
    result = _compare(con, left, right)
    assert result["schema"] == {
        "added": [{"name": "fresh", "type": "BOOLEAN"}],
        "removed": [{"name": "old", "type": "VARCHAR"}],
        "changed": [{"name": "qty", "from": "INTEGER", "to": "VARCHAR"}],
        "same": False,
    }
    # qty compares as VARCHAR: 1 and '1' are equal, 3 and '33' are not; added/removed columns are ignored.
    assert result["changed"] == {
        "key": ["id"],
        "count": 2,
        "rows": [
            {"key": {"id": 2}, "changes": {"name": {"left": "b", "right": "B"}}},
            {"key": {"id": 3}, "changes": {"qty": {"left": 3, "right": "33"}}},
        ],
    }
    assert result["only_left"]["count"] == result["only_right"]["count"] == 0


def test_retyped_widening_is_not_a_change(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left, right = _pair(
        con,
        tmp_path,
        "SELECT range::INT AS id, (range * 2)::INT AS v FROM range(5)",
        "SELECT range::BIGINT AS id, (range * 2)::BIGINT AS v FROM range(5)",
    )
    result = _compare(con, left, right)
    assert [c["name"] for c in result["schema"]["changed"]] == ["id", "v"]
    assert result["changed"] == {"key": ["id"], "count": 0, "rows": []}
    assert result["only_left"]["count"] == result["only_right"]["count"] == 0


def test_column_order_does_not_matter(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left, right = _pair(
        con,
        tmp_path,
        "SELECT range AS id, range * 10 AS v FROM range(3)",
        "SELECT range * 10 AS v, range AS id FROM range(3)",
    )
    result = _compare(con, left, right)
    assert result["schema"] == NO_SCHEMA_CHANGE
    assert result["changed"] == {"key": ["id"], "count": 0, "rows": []}


def test_key_skips_floats_and_nested_and_may_be_composite(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    select = """
        SELECT * FROM (VALUES
            (1.5::DOUBLE, [1], 'north', DATE '2024-01-01', 100),
            (2.5::DOUBLE, [2], 'north', DATE '2024-01-02', 200),
            (3.5::DOUBLE, [3], 'south', DATE '2024-01-01', 300)
        ) t(ratio, tags, region, day, total)
    """
    changed = select.replace("300)", "301)")
    left, right = _pair(con, tmp_path, select, changed)
    result = _compare(con, left, right)
    assert result["changed"] == {
        "key": ["region", "day"],
        "count": 1,
        "rows": [
            {
                "key": {"region": "south", "day": "2024-01-01"},
                "changes": {"total": {"left": 300, "right": 301}},
            }
        ],
    }


def test_no_key_falls_back_to_positions_and_multisets(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # Duplicated rows: no column prefix is unique, so rows are matched by position.
    left_select = "SELECT * FROM (VALUES (1, 'a'), (1, 'a'), (2, 'b'), (3, 'c')) t(n, s)"
    right_select = "SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (2, 'b'), (3, 'c'), (4, 'd')) t(n, s)"
    left, right = _pair(con, tmp_path, left_select, right_select)
    result = _compare(con, left, right)
    assert result["row_counts"] == {"left": 4, "right": 5, "delta": 1}
    assert result["only_left"] == {"count": 1, "rows": [{"n": 1, "s": "a"}]}
    assert result["only_right"] == {"count": 2, "rows": [{"n": 2, "s": "b"}, {"n": 4, "s": "d"}]}
    assert result["changed"] == {
        "key": None,
        "count": 1,
        "rows": [
            {"key": {"row": 2}, "changes": {"n": {"left": 1, "right": 2}, "s": {"left": "a", "right": "b"}}},
        ],
    }


def test_positional_changes_follow_file_order(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left_select = "SELECT * FROM (VALUES (1.0::DOUBLE, 'a'), (1.0, 'a'), (2.0, 'b')) t(x, s)"
    right_select = "SELECT * FROM (VALUES (1.0::DOUBLE, 'a'), (9.0, 'a'), (2.0, 'b')) t(x, s)"
    left, right = _pair(con, tmp_path, left_select, right_select)
    result = _compare(con, left, right)
    assert result["changed"] == {
        "key": None,
        "count": 1,
        "rows": [{"key": {"row": 2}, "changes": {"x": {"left": 1.0, "right": 9.0}}}],
    }
    assert result["only_left"] == {"count": 1, "rows": [{"x": 1.0, "s": "a"}]}
    assert result["only_right"] == {"count": 1, "rows": [{"x": 9.0, "s": "a"}]}


def test_positional_with_a_file_row_number_column(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left_select = "SELECT * FROM (VALUES (7, 1.0::DOUBLE), (7, 2.0)) t(file_row_number, x)"
    right_select = "SELECT * FROM (VALUES (7, 1.0::DOUBLE), (7, 3.0)) t(file_row_number, x)"
    left, right = _pair(con, tmp_path, left_select, right_select)
    result = _compare(con, left, right)
    assert result["changed"] == {
        "key": None,
        "count": 1,
        "rows": [{"key": {"row": 2}, "changes": {"x": {"left": 2.0, "right": 3.0}}}],
    }


def test_no_common_columns(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left, right = _pair(con, tmp_path, "SELECT 1 AS a UNION ALL SELECT 2", "SELECT 'x' AS b")
    result = _compare(con, left, right)
    assert result["schema"]["same"] is False
    assert result["only_left"] == {"count": 2, "rows": [{"a": 1}, {"a": 2}]}
    assert result["only_right"] == {"count": 1, "rows": [{"b": "x"}]}
    assert result["changed"] == {"key": None, "count": 0, "rows": []}


def test_sample_limits_rows_not_counts(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left, right = _pair(
        con,
        tmp_path,
        "SELECT range AS id, range AS v FROM range(0, 100)",
        "SELECT range AS id, range + (range % 2) AS v FROM range(50, 150)",
    )
    result = _compare(con, left, right, sample=3)
    assert result["only_left"]["count"] == 50
    assert [row["id"] for row in result["only_left"]["rows"]] == [0, 1, 2]
    assert [row["id"] for row in result["only_right"]["rows"]] == [100, 101, 102]
    assert result["changed"]["count"] == 25
    assert [row["key"]["id"] for row in result["changed"]["rows"]] == [51, 53, 55]

    counts_only = _compare(con, left, right, sample=0)
    assert counts_only["only_left"] == {"count": 50, "rows": []}
    assert counts_only["only_right"] == {"count": 50, "rows": []}
    assert counts_only["changed"] == {"key": ["id"], "count": 25, "rows": []}


def test_values_are_json_friendly(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    select = """
        SELECT
            1 AS id,
            DATE '2024-02-29' AS d,
            TIMESTAMP '2024-02-29 13:45:00.5' AS ts,
            TIMESTAMPTZ '2024-02-29 13:45:00+02' AS tstz,
            TIME '08:30:00' AS t,
            12.50::DECIMAL(10, 2) AS price,
            [1, 2, 3] AS xs,
            {'a': 1, 'b': 'two'} AS st,
            MAP {'k': 1} AS m,
            'ab'::BLOB AS raw,
            'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID AS u,
            INTERVAL 3 DAY AS span,
            'NaN'::DOUBLE AS nan,
            'inf'::DOUBLE AS inf,
            9007199254740993::BIGINT AS big
    """
    left = _write(con, tmp_path / "left.parquet", select)
    right = _write(con, tmp_path / "right.parquet", "SELECT 2 AS id")
    row = _compare(con, left, right)["only_left"]["rows"][0]
    assert row == {"id": 1}  # only the common columns are shown
    right = _write(con, tmp_path / "right2.parquet", select.replace("1 AS id", "2 AS id"))
    result = _compare(con, left, right)
    row = result["only_left"]["rows"][0]
    assert row["d"] == "2024-02-29"
    assert row["ts"] == "2024-02-29T13:45:00.500000"
    assert row["tstz"] == "2024-02-29T11:45:00.000000+00:00"
    assert row["t"] == "08:30:00"
    assert row["price"] == "12.50"
    assert row["xs"] == [1, 2, 3]
    assert row["st"] == {"a": 1, "b": "two"}
    assert row["m"] == {"k": 1}
    assert row["raw"] == "6162"
    assert row["u"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert isinstance(row["span"], str)
    assert row["nan"] == "NaN"
    assert row["inf"] == "Infinity"
    assert row["big"] == 9007199254740993  # an exact int, not a float
    assert result["schema"]["same"] is True


def test_changed_values_of_special_types(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left, right = _pair(
        con,
        tmp_path,
        "SELECT 1 AS id, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS at, [1, 2] AS xs, 'NaN'::DOUBLE AS f",
        "SELECT 1 AS id, TIMESTAMPTZ '2024-01-01 01:00:00+00' AS at, [1, 2] AS xs, 'NaN'::DOUBLE AS f",
    )
    result = _compare(con, left, right)
    assert result["changed"]["rows"] == [
        {
            "key": {"id": 1},
            "changes": {
                "at": {
                    "left": "2024-01-01T00:00:00.000000+00:00",
                    "right": "2024-01-01T01:00:00.000000+00:00",
                }
            },
        }
    ]


def test_awkward_names_and_paths(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    folder = tmp_path / 'it\'s a "dir"'
    folder.mkdir()
    select = 'SELECT range AS "the ""id""", range * 2 AS "select" FROM range(3)'
    left = _write(con, folder / "l'eft.parquet", select)
    right = _write(con, folder / "right.parquet", select.replace("range * 2", "range * 3"))
    result = _compare(con, left, right)
    assert result["changed"]["key"] == ['the "id"']
    assert result["changed"]["count"] == 2
    assert result["changed"]["rows"][0] == {
        "key": {'the "id"': 1},
        "changes": {"select": {"left": 2, "right": 3}},
    }


def test_pyarrow_written_files(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left = tmp_path / "left.parquet"
    right = tmp_path / "right.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3], "city": ["Oslo", "Rome", None]}), left)
    pq.write_table(pa.table({"id": [1, 2, 3], "city": ["Oslo", "Roma", None]}), right)
    result = _compare(con, str(left), str(right))
    assert result["changed"]["rows"] == [
        {"key": {"id": 2}, "changes": {"city": {"left": "Rome", "right": "Roma"}}}
    ]


def test_a_million_rows(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left, right = _pair(
        con,
        tmp_path,
        """
        SELECT range AS id, range % 97 AS bucket, range * 0.5 AS amount, 'n' || range AS label
        FROM range(1000000)
        """,
        """
        SELECT range AS id, range % 97 AS bucket,
               CASE WHEN range % 100000 = 7 THEN -1 ELSE range * 0.5 END AS amount,
               'n' || range AS label
        FROM range(3, 1000003)
        """,
    )
    result = _compare(con, left, right, sample=5)
    assert result["row_counts"] == {"left": 1000000, "right": 1000000, "delta": 0}
    assert result["changed"]["key"] == ["id"]
    assert result["changed"]["count"] == 10
    assert result["changed"]["rows"][0] == {
        "key": {"id": 7},
        "changes": {"amount": {"left": "3.5", "right": "-1.0"}},
    }
    assert result["only_left"]["count"] == 3
    assert [row["id"] for row in result["only_left"]["rows"]] == [0, 1, 2]
    assert result["only_right"]["count"] == 3


def test_a_million_rows_without_key(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left, right = _pair(
        con,
        tmp_path,
        "SELECT (range % 1000)::DOUBLE AS x FROM range(1000000)",
        "SELECT CASE WHEN range = 999999 THEN -1 ELSE range % 1000 END::DOUBLE AS x FROM range(1000000)",
    )
    result = _compare(con, left, right, sample=5)
    assert result["changed"] == {
        "key": None,
        "count": 1,
        "rows": [{"key": {"row": 1000000}, "changes": {"x": {"left": 999.0, "right": -1.0}}}],
    }
    assert result["only_left"] == {"count": 1, "rows": [{"x": 999.0}]}
    assert result["only_right"] == {"count": 1, "rows": [{"x": -1.0}]}


def test_refusals(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    good = _write(con, tmp_path / "good.parquet", "SELECT 1 AS id")
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(InvalidRequest, match="right run's output could not be read"):
        compare_outputs(con, good, str(bad))
    with pytest.raises(InvalidRequest, match="left run's output could not be read"):
        compare_outputs(con, str(tmp_path / "missing.parquet"), good)
    for sample in (-1, 1.5, True, "3"):
        with pytest.raises(InvalidRequest, match="sample"):
            compare_outputs(con, good, good, sample=sample)  # type: ignore[arg-type]


def test_leaves_the_connection_as_it_was(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    left, right = _pair(con, tmp_path, PEOPLE, PEOPLE)
    before = con.execute("SELECT table_name FROM information_schema.tables ORDER BY ALL").fetchall()
    _compare(con, left, right)
    assert con.execute("SELECT table_name FROM information_schema.tables ORDER BY ALL").fetchall() == before
