"""Running one checked SELECT on a DuckDB cursor, with as little fixed cost as DuckDB allows.

Two costs of a small query are the engine's, not DuckDB's work:

- the one-SELECT check (`only_one_select`) parses the text again on every run;
  its verdict depends on the text alone, so a text that passed is remembered
  (a bounded set) and not parsed again. A text that fails is checked every time
  and fails with the same message.
- `cursor.sql(...)` builds a lazy relation: it parses and binds the statement
  to learn its schema, then renders it and runs it, parsing and binding it a
  second time. The engine only ever runs the statement at once, so
  `run_select` hands it straight to DuckDB's own submit step (`duckdb._seam`,
  the function the relation calls to run it; same parameters, same errors,
  same Arrow). Where a DuckDB lacks that step, the relation is used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import duckdb
import pyarrow as pa

try:  # DuckDB 2.0's own step from a statement's text to its result
    from duckdb import _seam

    _SUBMIT: Callable[..., Any] | None = getattr(_seam, "submit", None)
except ImportError:  # pragma: no cover - another DuckDB
    _SUBMIT = None

TABLE_BATCH_ROWS = 131072
"""Rows per record batch of a whole result (`run_select(stream=False)`), DuckDB's default."""
CHECKED_TEXTS = 2048
"""How many query texts that passed `only_one_select` are remembered."""

_passed: OrderedDict[str, None] = OrderedDict()
_passed_lock = threading.Lock()


class NotOneSelect(Exception):
    """The text is not exactly one SELECT statement; the message says why, for the user."""


def only_one_select(cursor: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse, by DuckDB's own parser, anything but exactly one SELECT statement (`NotOneSelect`).

    A text that passed once passes again without being parsed.
    """
    with _passed_lock:
        if sql in _passed:
            _passed.move_to_end(sql)
            return
    try:
        statements = cursor.extract_statements(sql)
    except duckdb.Error as error:
        raise NotOneSelect(str(error).splitlines()[0]) from None
    if len(statements) != 1:
        raise NotOneSelect(f"a SQL block holds exactly one query; found {len(statements)} statements")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise NotOneSelect(f"only queries may run; this is a {statements[0].type.name} statement")
    with _passed_lock:
        _passed[sql] = None
        if len(_passed) > CHECKED_TEXTS:
            _passed.popitem(last=False)


def run_select(
    cursor: duckdb.DuckDBPyConnection,
    sql: str,
    params: Mapping[str, Any] | None,
    batch_rows: int,
    *,
    stream: bool,
) -> pa.RecordBatchReader | pa.Table:
    """Run one SELECT (already checked) with its parameters: a reader of batches of about
    `batch_rows` rows with `stream`, else the whole result as a table."""
    values = dict(params) if params else None
    if _SUBMIT is not None:
        result = _SUBMIT(cursor, sql, values, "stream" if stream else "arrow", batch_rows)
        return result.arrow_reader() if stream else result.arrow_table()
    relation = cursor.sql(sql, params=values or {})
    return relation.to_arrow_reader(batch_rows) if stream else relation.to_arrow_table(batch_rows)
