"""The rows two outputs disagree on: rows on one side only, and matched rows whose values changed.

Rows are matched by a key when there is one, else by their position in the
file (rows on one side only are then a multiset difference). Each answer is a
count and a sorted sample, made by `compare_sample`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from ballast_tui.engine.compare_columns import Column, Sources, ident
from ballast_tui.engine.compare_key import key_match
from ballast_tui.engine.compare_sample import count_and_sample, jsonable, record


def only_by_key(
    con: duckdb.DuckDBPyConnection,
    sources: Sources,
    common: Sequence[Column],
    key: Sequence[Column],
    side: str,
    sample: int,
) -> dict[str, Any]:
    """Rows of ``side`` whose key has no match on the other side."""
    this, other = ("l", "r") if side == "left" else ("r", "l")
    other_side = "right" if side == "left" else "left"
    columns = ", ".join(f"{this}.{ident(c.name)} AS c{i}" for i, c in enumerate(common))
    relation = (
        f"SELECT {columns} FROM {sources.side(side)} AS {this}"
        f" ANTI JOIN {sources.side(other_side)} AS {other} ON {key_match(key)}"
    )
    columns_out = [(f"c{i}", c.left_type if side == "left" else c.right_type) for i, c in enumerate(common)]
    order = [f"c{common.index(c)}" for c in key]
    count, rows = count_and_sample(con, relation, columns_out, order, sample)
    return {"count": count, "rows": [record([c.name for c in common], row) for row in rows]}


def only_by_except(
    con: duckdb.DuckDBPyConnection,
    sources: Sources,
    common: Sequence[Column],
    side: str,
    sample: int,
) -> dict[str, Any]:
    """The multiset difference ``side`` EXCEPT ALL the other side, over the common columns."""
    first, second = (sources.left, sources.right) if side == "left" else (sources.right, sources.left)
    columns = ", ".join(f"{c.compared('x')} AS c{i}" for i, c in enumerate(common))
    relation = f"SELECT {columns} FROM {first} AS x EXCEPT ALL SELECT {columns} FROM {second} AS x"
    columns_out = [(f"c{i}", c.compared_type) for i, c in enumerate(common)]
    count, rows = count_and_sample(con, relation, columns_out, [alias for alias, _ in columns_out], sample)
    return {"count": count, "rows": [record([c.name for c in common], row) for row in rows]}


def nothing_in_common(
    con: duckdb.DuckDBPyConnection,
    sources: Sources,
    left_schema: dict[str, str],
    right_schema: dict[str, str],
    sample: int,
) -> dict[str, Any]:
    """With no common column no row can match: every row is on its side only."""
    answer: dict[str, Any] = {}
    for side, schema in (("left", left_schema), ("right", right_schema)):
        names = list(schema)
        columns = ", ".join(f"{ident(name)} AS c{i}" for i, name in enumerate(names))
        relation = f"SELECT {columns} FROM {sources.side(side)}"
        columns_out = [(f"c{i}", kind) for i, kind in enumerate(schema.values())]
        count, rows = count_and_sample(con, relation, columns_out, [], sample)
        answer[f"only_{side}"] = {"count": count, "rows": [record(names, row) for row in rows]}
    answer["changed"] = {"key": None, "count": 0, "rows": []}
    return answer


def changed_by_key(
    con: duckdb.DuckDBPyConnection,
    sources: Sources,
    common: Sequence[Column],
    key: Sequence[Column],
    sample: int,
) -> dict[str, Any]:
    """Rows whose key is on both sides and whose other common columns differ."""
    values = [c for c in common if c not in key]
    key_names = [c.name for c in key]
    if not values:
        return {"key": key_names, "count": 0, "rows": []}
    key_columns = [f"l.{ident(c.name)}" for c in key]
    relation = (
        f"SELECT {_changes_select(key_columns, values)}"
        f" FROM {sources.left} AS l JOIN {sources.right} AS r ON {key_match(key)}"
        f" WHERE {' OR '.join(c.distinct() for c in values)}"
    )
    key_out = [(f"k{i}", c.left_type) for i, c in enumerate(key)]
    count, rows = count_and_sample(
        con, relation, key_out + _pair_columns(values), [alias for alias, _ in key_out], sample
    )
    return {"key": key_names, "count": count, "rows": [_change(key_names, values, row) for row in rows]}


def changed_by_position(
    con: duckdb.DuckDBPyConnection,
    sources: Sources,
    common: Sequence[Column],
    left_schema: dict[str, str],
    right_schema: dict[str, str],
    sample: int,
) -> dict[str, Any]:
    """Rows at the same position (1-based, file order) on both sides whose common columns differ."""
    position = _fresh_name("__ballast_row", [*left_schema, *right_schema])
    left = _numbered(sources.left, left_schema, position)
    right = _numbered(sources.right, right_schema, position)
    relation = (
        f"SELECT {_changes_select([f'l.{ident(position)}'], common)}"
        f" FROM {left} AS l JOIN {right} AS r ON l.{ident(position)} = r.{ident(position)}"
        f" WHERE {' OR '.join(c.distinct() for c in common)}"
    )
    count, rows = count_and_sample(con, relation, [("k0", "BIGINT"), *_pair_columns(common)], ["k0"], sample)
    return {"key": None, "count": count, "rows": [_change(["row"], common, row) for row in rows]}


def _numbered(source: str, schema: dict[str, str], position: str) -> str:
    """``source`` with a 1-based row number in file order, as column ``position``."""
    # Parquet scans expose file_row_number as a virtual column, unless the file has its own
    # (names match case-insensitively); then row_number() over the scan order has to do.
    own = any(name.lower() == "file_row_number" for name in schema)
    number = "row_number() OVER () - 1" if own else "file_row_number"
    return f"(SELECT *, {number} + 1 AS {ident(position)} FROM {source})"


def _changes_select(key_columns: Sequence[str], values: Sequence[Column]) -> str:
    """SELECT list: key columns k*, then per value column its left l*, right r* and differs flag d*."""
    parts = [f"{expr} AS k{i}" for i, expr in enumerate(key_columns)]
    for i, column in enumerate(values):
        name = ident(column.name)
        parts += [f"l.{name} AS l{i}", f"r.{name} AS r{i}", f"{column.distinct()} AS d{i}"]
    return ", ".join(parts)


def _pair_columns(values: Sequence[Column]) -> list[tuple[str, str]]:
    """(alias, type) of the l*, r*, d* columns that :func:`_changes_select` makes."""
    columns: list[tuple[str, str]] = []
    for i, column in enumerate(values):
        columns += [(f"l{i}", column.left_type), (f"r{i}", column.right_type), (f"d{i}", "BOOLEAN")]
    return columns


def _change(key_names: Sequence[str], values: Sequence[Column], row: Sequence[Any]) -> dict[str, Any]:
    width = len(key_names)
    changes: dict[str, Any] = {}
    for i, column in enumerate(values):
        left, right, differs = row[width + 3 * i : width + 3 * i + 3]
        if differs:
            changes[column.name] = {"left": jsonable(left), "right": jsonable(right)}
    return {"key": record(key_names, row[:width]), "changes": changes}


def _fresh_name(base: str, taken: Sequence[str]) -> str:
    lowered = {name.lower() for name in taken}
    name = base
    while name.lower() in lowered:
        name += "_"
    return name
