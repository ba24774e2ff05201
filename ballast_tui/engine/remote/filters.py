"""Which filters of a block's WHERE may also be applied in the connected database.

A conjunct is sent along with a pull only when sqlglot's tree shows it gives
the same answer there: comparisons of one of the table's columns with literals
or bound values of a matching type, joined by AND, OR, NOT. Text is compared
for equality only (ordering follows the database's collation), floats and
timestamps with time zone not at all, SQLite only where its type affinity
compares as DuckDB does. The local query keeps every filter, so a pushed one
only removes rows the query would remove anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlglot import exp

_ORDERED = (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between)
_EQUALITY = (exp.EQ, exp.NEQ, exp.In)
_NUMBER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "UBIGINT", "UINTEGER"}


def _column_kind(type_name: str, driver: str) -> str:
    upper = type_name.upper()
    if driver == "sqlite":  # SQLite's type affinity: only INT… and text columns compare as DuckDB would
        if "INT" in upper:
            return "number"
        return "text" if any(word in upper for word in ("CHAR", "CLOB", "TEXT")) else "other"
    if upper in _NUMBER_TYPES or upper.startswith(("DECIMAL", "NUMERIC")):
        return "number"
    if upper in ("VARCHAR", "TEXT") or upper.startswith("VARCHAR"):
        return "text"
    return {"DATE": "date", "BOOLEAN": "bool"}.get(upper, "other")


def _value_kind(node: exp.Expr, bound: Mapping[str, Any]) -> str | None:
    """number, string, date, bool or null for a literal or a bound value; None for anything else."""
    if isinstance(node, exp.Paren):
        return _value_kind(node.this, bound)
    if isinstance(node, exp.Neg):
        return "number" if _value_kind(node.this, bound) == "number" else None
    if isinstance(node, exp.Literal):
        return "string" if node.is_string else "number"
    if isinstance(node, exp.Boolean):
        return "bool"
    if isinstance(node, exp.Null):
        return "null"
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        return "date" if node.to.this == exp.DataType.Type.DATE else None
    if isinstance(node, exp.Placeholder) and node.name.lower() in bound:
        value = bound[node.name.lower()]
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int | float):
            return "number"
        if isinstance(value, str):
            return "string"
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return "date"
    return None


_MATCHES = {"number": "number", "text": "string", "date": "date", "bool": "bool"}


def _safe(node: exp.Expr, kinds: Mapping[str, str], bound: Mapping[str, Any]) -> bool:
    if isinstance(node, exp.Paren):
        return _safe(node.this, kinds, bound)
    if isinstance(node, exp.And | exp.Or):
        return _safe(node.this, kinds, bound) and _safe(node.expression, kinds, bound)
    if isinstance(node, exp.Not):
        return _safe(node.this, kinds, bound)
    if isinstance(node, exp.Column):
        return kinds.get(node.name.lower()) == "bool"
    if isinstance(node, exp.Is):
        return (
            isinstance(node.this, exp.Column)
            and node.this.name.lower() in kinds
            and isinstance(node.expression, exp.Null)
        )
    if not isinstance(node, _ORDERED + _EQUALITY) or not isinstance(node.this, exp.Column):
        return False
    kind = kinds.get(node.this.name.lower())
    if kind is None or kind == "other":
        return False
    if isinstance(node, _ORDERED) and kind not in ("number", "date"):
        return False  # text ordering follows the database's collation
    if isinstance(node, exp.In):
        values = node.expressions
        if not values or node.args.get("query") is not None:
            return False
    elif isinstance(node, exp.Between):
        values = [node.args["low"], node.args["high"]]
    else:
        values = [node.expression]
    return all(_value_kind(value, bound) == _MATCHES[kind] for value in values)


def remote_filter(
    conjunct: exp.Expr, columns: Mapping[str, dict[str, str]], driver: str, bound: Mapping[str, Any]
) -> exp.Expr | None:
    """The conjunct over the remote table's own column names, or None when it is not provably safe."""
    referenced = {c.name.lower() for c in conjunct.find_all(exp.Column)}
    if not referenced or not referenced <= set(columns):
        return None
    kinds = {name: _column_kind(columns[name]["type"], driver) for name in referenced}
    if not _safe(conjunct, kinds, bound):
        return None
    remote = conjunct.copy()
    for column in list(remote.find_all(exp.Column)):
        column.replace(exp.column(columns[column.name.lower()]["name"], quoted=True))
    return remote
