"""Compare two runs' outputs (Parquet files): schema, row counts, rows only on one side, changed values.

All the work over rows happens in DuckDB; Python only shapes the few sampled
rows into JSON-friendly values. Every query reads the files afresh rather than
registering views, so the caller's connection is left as it was found.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from ballast_tui.engine.errors import InvalidRequest

_FLOATING_TYPES = frozenset({"FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8"})
_NESTED_PREFIXES = ("STRUCT(", "MAP(", "UNION(")
_TIMESTAMPTZ = "TIMESTAMP WITH TIME ZONE"


@dataclass(frozen=True)
class _Column:
    """A column present on both sides, with its DuckDB type on each."""

    name: str
    left_type: str
    right_type: str

    @property
    def retyped(self) -> bool:
        return self.left_type != self.right_type

    @property
    def compared_type(self) -> str:
        """The type the column is compared as: its own, or VARCHAR when the sides disagree."""
        return "VARCHAR" if self.retyped else self.left_type

    def compared(self, alias: str) -> str:
        """SQL for this column of table ``alias`` as it is compared."""
        ref = f"{alias}.{_ident(self.name)}"
        return f"CAST({ref} AS VARCHAR)" if self.retyped else ref

    def distinct(self) -> str:
        """SQL: true when this column differs between ``l`` and ``r`` (NULL equals NULL)."""
        return f"{self.compared('l')} IS DISTINCT FROM {self.compared('r')}"

    @property
    def key_eligible(self) -> bool:
        return _key_eligible(self.left_type) and _key_eligible(self.right_type)


@dataclass(frozen=True)
class _Sources:
    """The two files as SQL table expressions."""

    left: str
    right: str

    def side(self, side: str) -> str:
        return self.left if side == "left" else self.right


def compare_outputs(
    con: duckdb.DuckDBPyConnection, left: str, right: str, *, sample: int = 20
) -> dict[str, Any]:
    """Compare the Parquet files ``left`` and ``right`` (two runs' outputs) inside DuckDB.

    Answers a JSON-serializable dict with ``schema`` (columns added, removed and
    retyped), ``row_counts`` (``delta`` is right minus left), ``only_left`` / ``only_right`` (rows on one side
    only: count plus up to ``sample`` rows) and ``changed`` (rows matched on both
    sides whose values differ). Rows are matched by a key when the common columns
    offer one (see :func:`_choose_key`), otherwise by position in the file.
    Raises :class:`InvalidRequest` for a bad ``sample`` or an unreadable file.
    """
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
        raise InvalidRequest(f"sample must be a whole number of rows, 0 or more, not {sample!r}")
    sources = _Sources(left=_parquet(left), right=_parquet(right))
    left_schema = _describe(con, sources.left, "left")
    right_schema = _describe(con, sources.right, "right")
    counts = _row_counts(con, sources)
    common = [
        _Column(name, left_type, right_schema[name])
        for name, left_type in left_schema.items()
        if name in right_schema
    ]
    result: dict[str, Any] = {
        "schema": _schema_diff(left_schema, right_schema),
        "row_counts": {"left": counts[0], "right": counts[1], "delta": counts[1] - counts[0]},
    }
    if not common:
        return result | _nothing_in_common(con, sources, left_schema, right_schema, sample)
    key = _choose_key(con, sources, common)
    if key is None:
        return result | {
            "only_left": _only_by_except(con, sources, common, "left", sample),
            "only_right": _only_by_except(con, sources, common, "right", sample),
            "changed": _changed_by_position(con, sources, common, left_schema, right_schema, sample),
        }
    return result | {
        "only_left": _only_by_key(con, sources, common, key, "left", sample),
        "only_right": _only_by_key(con, sources, common, key, "right", sample),
        "changed": _changed_by_key(con, sources, common, key, sample),
    }


# ---------------------------------------------------------------- schema and counts


def _describe(con: duckdb.DuckDBPyConnection, source: str, side: str) -> dict[str, str]:
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except duckdb.Error as exc:
        raise InvalidRequest(f"the {side} run's output could not be read as a Parquet file") from exc
    return {str(row[0]): str(row[1]) for row in rows}


def _row_counts(con: duckdb.DuckDBPyConnection, sources: _Sources) -> tuple[int, int]:
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


# ---------------------------------------------------------------- the key


def _key_eligible(type_name: str) -> bool:
    upper = type_name.upper()
    # LIST and ARRAY types print as "T[]" / "T[n]".
    nested = upper.endswith("]") or upper.startswith(_NESTED_PREFIXES)
    return not nested and upper not in _FLOATING_TYPES


def _choose_key(
    con: duckdb.DuckDBPyConnection, sources: _Sources, common: Sequence[_Column]
) -> list[_Column] | None:
    """The shortest prefix of the key-eligible common columns that is unique on both sides.

    Eligible columns are the common ones of a non-floating, non-nested type on
    both sides, in the left file's order. Uniqueness only grows with the prefix:
    the first column alone (the usual id) is tried first, then the whole list
    (if that fails there is no key), then a binary search in between.
    """
    candidates = [column for column in common if column.key_eligible]
    if not candidates:
        return None
    if _unique(con, sources, candidates[:1]):
        return candidates[:1]
    if len(candidates) == 1 or not _unique(con, sources, candidates):
        return None
    low, high = 2, len(candidates)  # the shortest unique prefix has a length in [low, high]
    while low < high:
        middle = (low + high) // 2
        if _unique(con, sources, candidates[:middle]):
            high = middle
        else:
            low = middle + 1
    return candidates[:low]


def _unique(con: duckdb.DuckDBPyConnection, sources: _Sources, key: Sequence[_Column]) -> bool:
    # GROUP BY puts NULLs together, matching the IS NOT DISTINCT FROM used to join on the key.
    groups = ", ".join(_ident(column.name) for column in key)
    duplicates = "SELECT 1 FROM {} GROUP BY {} HAVING count(*) > 1"
    row = con.execute(
        f"SELECT NOT EXISTS ({duplicates.format(sources.left, groups)})"
        f" AND NOT EXISTS ({duplicates.format(sources.right, groups)})"
    ).fetchone()
    assert row is not None
    return bool(row[0])


def _key_match(key: Sequence[_Column]) -> str:
    return " AND ".join(f"{c.compared('l')} IS NOT DISTINCT FROM {c.compared('r')}" for c in key)


# ---------------------------------------------------------------- rows on one side only


def _only_by_key(
    con: duckdb.DuckDBPyConnection,
    sources: _Sources,
    common: Sequence[_Column],
    key: Sequence[_Column],
    side: str,
    sample: int,
) -> dict[str, Any]:
    """Rows of ``side`` whose key has no match on the other side."""
    this, other = ("l", "r") if side == "left" else ("r", "l")
    other_side = "right" if side == "left" else "left"
    columns = ", ".join(f"{this}.{_ident(c.name)} AS c{i}" for i, c in enumerate(common))
    relation = (
        f"SELECT {columns} FROM {sources.side(side)} AS {this}"
        f" ANTI JOIN {sources.side(other_side)} AS {other} ON {_key_match(key)}"
    )
    columns_out = [(f"c{i}", c.left_type if side == "left" else c.right_type) for i, c in enumerate(common)]
    order = [f"c{common.index(c)}" for c in key]
    count, rows = _count_and_sample(con, relation, columns_out, order, sample)
    return {"count": count, "rows": [_record([c.name for c in common], row) for row in rows]}


def _only_by_except(
    con: duckdb.DuckDBPyConnection,
    sources: _Sources,
    common: Sequence[_Column],
    side: str,
    sample: int,
) -> dict[str, Any]:
    """The multiset difference ``side`` EXCEPT ALL the other side, over the common columns."""
    first, second = (sources.left, sources.right) if side == "left" else (sources.right, sources.left)
    columns = ", ".join(f"{c.compared('x')} AS c{i}" for i, c in enumerate(common))
    relation = f"SELECT {columns} FROM {first} AS x EXCEPT ALL SELECT {columns} FROM {second} AS x"
    columns_out = [(f"c{i}", c.compared_type) for i, c in enumerate(common)]
    count, rows = _count_and_sample(con, relation, columns_out, [alias for alias, _ in columns_out], sample)
    return {"count": count, "rows": [_record([c.name for c in common], row) for row in rows]}


def _nothing_in_common(
    con: duckdb.DuckDBPyConnection,
    sources: _Sources,
    left_schema: dict[str, str],
    right_schema: dict[str, str],
    sample: int,
) -> dict[str, Any]:
    """With no common column no row can match: every row is on its side only."""
    answer: dict[str, Any] = {}
    for side, schema in (("left", left_schema), ("right", right_schema)):
        names = list(schema)
        columns = ", ".join(f"{_ident(name)} AS c{i}" for i, name in enumerate(names))
        relation = f"SELECT {columns} FROM {sources.side(side)}"
        columns_out = [(f"c{i}", kind) for i, kind in enumerate(schema.values())]
        count, rows = _count_and_sample(con, relation, columns_out, [], sample)
        answer[f"only_{side}"] = {"count": count, "rows": [_record(names, row) for row in rows]}
    answer["changed"] = {"key": None, "count": 0, "rows": []}
    return answer


# ---------------------------------------------------------------- changed values


def _changed_by_key(
    con: duckdb.DuckDBPyConnection,
    sources: _Sources,
    common: Sequence[_Column],
    key: Sequence[_Column],
    sample: int,
) -> dict[str, Any]:
    """Rows whose key is on both sides and whose other common columns differ."""
    values = [c for c in common if c not in key]
    key_names = [c.name for c in key]
    if not values:
        return {"key": key_names, "count": 0, "rows": []}
    key_columns = [f"l.{_ident(c.name)}" for c in key]
    relation = (
        f"SELECT {_changes_select(key_columns, values)}"
        f" FROM {sources.left} AS l JOIN {sources.right} AS r ON {_key_match(key)}"
        f" WHERE {' OR '.join(c.distinct() for c in values)}"
    )
    key_out = [(f"k{i}", c.left_type) for i, c in enumerate(key)]
    count, rows = _count_and_sample(
        con, relation, key_out + _pair_columns(values), [alias for alias, _ in key_out], sample
    )
    return {"key": key_names, "count": count, "rows": [_change(key_names, values, row) for row in rows]}


def _changed_by_position(
    con: duckdb.DuckDBPyConnection,
    sources: _Sources,
    common: Sequence[_Column],
    left_schema: dict[str, str],
    right_schema: dict[str, str],
    sample: int,
) -> dict[str, Any]:
    """Rows at the same position (1-based, file order) on both sides whose common columns differ."""
    position = _fresh_name("__ballast_row", [*left_schema, *right_schema])
    left = _numbered(sources.left, left_schema, position)
    right = _numbered(sources.right, right_schema, position)
    relation = (
        f"SELECT {_changes_select([f'l.{_ident(position)}'], common)}"
        f" FROM {left} AS l JOIN {right} AS r ON l.{_ident(position)} = r.{_ident(position)}"
        f" WHERE {' OR '.join(c.distinct() for c in common)}"
    )
    count, rows = _count_and_sample(con, relation, [("k0", "BIGINT"), *_pair_columns(common)], ["k0"], sample)
    return {"key": None, "count": count, "rows": [_change(["row"], common, row) for row in rows]}


def _numbered(source: str, schema: dict[str, str], position: str) -> str:
    """``source`` with a 1-based row number in file order, as column ``position``."""
    # Parquet scans expose file_row_number as a virtual column, unless the file has its own
    # (names match case-insensitively); then row_number() over the scan order has to do.
    own = any(name.lower() == "file_row_number" for name in schema)
    number = "row_number() OVER () - 1" if own else "file_row_number"
    return f"(SELECT *, {number} + 1 AS {_ident(position)} FROM {source})"


def _changes_select(key_columns: Sequence[str], values: Sequence[_Column]) -> str:
    """SELECT list: key columns k*, then per value column its left l*, right r* and differs flag d*."""
    parts = [f"{expr} AS k{i}" for i, expr in enumerate(key_columns)]
    for i, column in enumerate(values):
        name = _ident(column.name)
        parts += [f"l.{name} AS l{i}", f"r.{name} AS r{i}", f"{column.distinct()} AS d{i}"]
    return ", ".join(parts)


def _pair_columns(values: Sequence[_Column]) -> list[tuple[str, str]]:
    """(alias, type) of the l*, r*, d* columns that :func:`_changes_select` makes."""
    columns: list[tuple[str, str]] = []
    for i, column in enumerate(values):
        columns += [(f"l{i}", column.left_type), (f"r{i}", column.right_type), (f"d{i}", "BOOLEAN")]
    return columns


def _change(key_names: Sequence[str], values: Sequence[_Column], row: Sequence[Any]) -> dict[str, Any]:
    width = len(key_names)
    changes: dict[str, Any] = {}
    for i, column in enumerate(values):
        left, right, differs = row[width + 3 * i : width + 3 * i + 3]
        if differs:
            changes[column.name] = {"left": _jsonable(left), "right": _jsonable(right)}
    return {"key": _record(key_names, row[:width]), "changes": changes}


# ---------------------------------------------------------------- running and shaping


def _count_and_sample(
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


def _record(names: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    return {name: _jsonable(value) for name, value in zip(names, values, strict=True)}


def _jsonable(value: Any) -> Any:
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
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return str(value)


def _parquet(path: str) -> str:
    if not isinstance(path, str) or not path:
        raise InvalidRequest(f"a run's output must be given as a file path, not {path!r}")
    return f"read_parquet({_literal(path)})"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _fresh_name(base: str, taken: Sequence[str]) -> str:
    lowered = {name.lower() for name in taken}
    name = base
    while name.lower() in lowered:
        name += "_"
    return name
