"""Counting a relation's rows, sampling a few of them, and shaping those as plain JSON."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from collections.abc import Sequence
from typing import Any

import duckdb

_TIMESTAMPTZ = "TIMESTAMP WITH TIME ZONE"


def count_and_sample(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    columns: Sequence[tuple[str, str]],
    order: Sequence[str],
    sample: int,
) -> tuple[int, list[tuple[Any, ...]]]:
    """How many rows ``relation`` has, and up to ``sample`` of them sorted by the ``order`` columns.

    ``columns`` gives each column of ``relation`` as (alias, DuckDB type), so that
    values Python cannot take as they are get converted on the way out.
    """
    if sample == 0:
        row = con.execute(f"SELECT count(*) FROM ({relation})").fetchone()
        assert row is not None
        return int(row[0]), []
    outputs = ", ".join(_sample_expr(f"d.{alias}", kind) for alias, kind in columns)
    order_by = f" ORDER BY {', '.join(f'd.{alias}' for alias in order)}" if order else ""
    # The window count rides along with the sample, so the relation is evaluated once.
    rows = con.execute(
        f"SELECT {outputs}, count(*) OVER () FROM ({relation}) AS d{order_by} LIMIT {int(sample)}"
    ).fetchall()
    count = int(rows[0][-1]) if rows else 0
    return count, [tuple(row[:-1]) for row in rows]


def _sample_expr(ref: str, type_name: str) -> str:
    upper = type_name.upper()
    if upper == _TIMESTAMPTZ:
        return f"strftime(timezone('UTC', {ref}), '%Y-%m-%dT%H:%M:%S.%f+00:00')"
    # Python would need pytz for time-zone types, and timedelta drops INTERVAL's months.
    if "TIME ZONE" in upper or upper == "INTERVAL":
        return f"CAST({ref} AS VARCHAR)"
    return ref


def record(names: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    """A sampled row as a JSON object of ``names`` to values."""
    return {name: jsonable(value) for name, value in zip(names, values, strict=True)}


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON: ISO strings for dates and times, strings for decimals."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value).replace("inf", "Infinity").replace("nan", "NaN")
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return str(value)
