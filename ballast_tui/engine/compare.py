"""Compare two runs' outputs (Parquet files): schema, row counts, rows only on one side, changed values.

All the work over rows happens in DuckDB; Python only shapes the few sampled
rows into JSON-friendly values. Every query reads the files afresh rather than
registering views, so the caller's connection is left as it was found.

This module answers the schema and the row counts and puts the answer
together; the columns and the key are in `compare_columns` and `compare_key`,
the rows that differ in `compare_rows`, sampling them in `compare_sample`.
"""

from __future__ import annotations

from typing import Any

import duckdb

from ballast_tui.engine.compare_columns import Column, Sources, parquet_source
from ballast_tui.engine.compare_key import choose_key
from ballast_tui.engine.compare_rows import (
    changed_by_key,
    changed_by_position,
    nothing_in_common,
    only_by_except,
    only_by_key,
)
from ballast_tui.engine.errors import InvalidRequest


def compare_outputs(
    con: duckdb.DuckDBPyConnection, left: str, right: str, *, sample: int = 20
) -> dict[str, Any]:
    """Compare the Parquet files ``left`` and ``right`` (two runs' outputs) inside DuckDB.

    Answers a JSON-serializable dict with ``schema`` (columns added, removed and
    retyped), ``row_counts`` (``delta`` is right minus left), ``only_left`` / ``only_right`` (rows on one side
    only: count plus up to ``sample`` rows) and ``changed`` (rows matched on both
    sides whose values differ). Rows are matched by a key when the common columns
    offer one (see :func:`choose_key`), otherwise by position in the file.
    Raises :class:`InvalidRequest` for a bad ``sample`` or an unreadable file.
    """
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
        raise InvalidRequest(f"sample must be a whole number of rows, 0 or more, not {sample!r}")
    sources = Sources(left=parquet_source(left), right=parquet_source(right))
    left_schema = _describe(con, sources.left, "left")
    right_schema = _describe(con, sources.right, "right")
    counts = _row_counts(con, sources)
    common = [
        Column(name, left_type, right_schema[name])
        for name, left_type in left_schema.items()
        if name in right_schema
    ]
    result: dict[str, Any] = {
        "schema": _schema_diff(left_schema, right_schema),
        "row_counts": {"left": counts[0], "right": counts[1], "delta": counts[1] - counts[0]},
    }
    if not common:
        return result | nothing_in_common(con, sources, left_schema, right_schema, sample)
    key = choose_key(con, sources, common)
    if key is None:
        return result | {
            "only_left": only_by_except(con, sources, common, "left", sample),
            "only_right": only_by_except(con, sources, common, "right", sample),
            "changed": changed_by_position(con, sources, common, left_schema, right_schema, sample),
        }
    return result | {
        "only_left": only_by_key(con, sources, common, key, "left", sample),
        "only_right": only_by_key(con, sources, common, key, "right", sample),
        "changed": changed_by_key(con, sources, common, key, sample),
    }


def _describe(con: duckdb.DuckDBPyConnection, source: str, side: str) -> dict[str, str]:
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except duckdb.Error as exc:
        raise InvalidRequest(f"the {side} run's output could not be read as a Parquet file") from exc
    return {str(row[0]): str(row[1]) for row in rows}


def _row_counts(con: duckdb.DuckDBPyConnection, sources: Sources) -> tuple[int, int]:
    row = con.execute(
        f"SELECT (SELECT count(*) FROM {sources.left}), (SELECT count(*) FROM {sources.right})"
    ).fetchone()
    assert row is not None  # a scalar SELECT always answers one row
    return int(row[0]), int(row[1])


def _schema_diff(left: dict[str, str], right: dict[str, str]) -> dict[str, Any]:
    added = [{"name": name, "type": kind} for name, kind in right.items() if name not in left]
    removed = [{"name": name, "type": kind} for name, kind in left.items() if name not in right]
    changed = [
        {"name": name, "from": kind, "to": right[name]}
        for name, kind in left.items()
        if name in right and right[name] != kind
    ]
    return {
        "added": added,
        "removed": removed,
        "changed": changed,
        "same": not (added or removed or changed),
    }
