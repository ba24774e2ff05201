"""Running one checked SELECT on a DuckDB cursor, with as little fixed cost as DuckDB allows.

Three costs of a small query are the engine's, not DuckDB's work:

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
- the names a query reads (its upstream blocks' outputs, its sources) were
  each a temporary view made for the query, a catalog entry DuckDB creates and
  binds (about 0.3 ms each). `run_reading` names them as common table
  expressions in front of the query instead, the way DuckDB's own
  `DuckDBPyRelation.query` names a relation: `WITH "t0" AS NOT MATERIALIZED
  (SELECT * FROM <the table>) <the query as written>`. The query binds to the
  same columns and types and runs the same plan (a view is inlined the same
  way). The names stand on a line of their own, and an error's `LINE n:` is
  counted back, so a user reads the error of the query as written. A query that
  takes no such prefix (its own WITH, DESCRIBE, SUMMARIZE), and any the prefixed
  text fails to parse or bind, runs as before, over views.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from ballast_tui.lazy import lazy_module

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")


if TYPE_CHECKING:
    import duckdb

# DuckDB is imported by the functions that run queries, not with this module: the app's first paint
# imports the engine but runs no query (it draws outputs kept from earlier runs).


@cache
def _seam_steps() -> tuple[Callable[..., Any] | None, Callable[..., Any] | None]:
    """DuckDB 2.0's own steps from a statement's text to its result, and from a table to a name
    (None where this DuckDB lacks them)."""
    try:
        from duckdb import _seam
    except ImportError:  # pragma: no cover - another DuckDB
        return None, None
    return getattr(_seam, "submit", None), getattr(_seam, "register_source", None)


Relation: TypeAlias = "Path | pa.Table"
"""What a query reads under a name: a Parquet file, or an Arrow table handed on in memory."""

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
    import duckdb

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
    submit, _register = _seam_steps()
    if submit is not None:
        result = submit(cursor, sql, values, "stream" if stream else "arrow", batch_rows)
        return result.arrow_reader() if stream else result.arrow_table()
    relation = cursor.sql(sql, params=values or {})
    return relation.to_arrow_reader(batch_rows) if stream else relation.to_arrow_table(batch_rows)


def _bind_errors() -> tuple[type[Exception], ...]:
    """Errors raised before a statement runs: the prefixed text is given up for views, at no cost."""
    import duckdb

    return (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException)


@dataclass
class Reading:
    """A query's result (a reader of batches, or a table), what must stay referenced until it is
    read out (the tables' registrations), how many lines were put in front of the query, and
    whether it made temporary views on its cursor (`views`: the cursor is not to be used again)."""

    result: pa.RecordBatchReader | pa.Table | None
    kept: list[object] = field(default_factory=list)
    lines_before: int = 0
    views: bool = False

    def release(self) -> None:
        """Let go of the result (a reader is closed) and of the tables' registrations, so that
        nothing of this query stays on its cursor: no open result, no name reading its inputs."""
        result, self.result = self.result, None
        if isinstance(result, pa.RecordBatchReader):
            result.close()
        self.kept.clear()

    def own_error(self, error: duckdb.Error) -> duckdb.Error:
        """`error` as the query alone would have raised it: its `LINE n:` counted in the query."""
        return _counted_back(error, self.lines_before)


_LINE = re.compile(r"LINE (\d+):")


def _counted_back(error: duckdb.Error, lines: int) -> duckdb.Error:
    if not lines:
        return error
    text = _LINE.sub(lambda m: f"LINE {int(m.group(1)) - lines}:", str(error))
    try:
        return type(error)(text)
    except TypeError:  # pragma: no cover - an exception that takes other arguments
        return error


def run_reading(
    cursor: duckdb.DuckDBPyConnection,
    sql: str,
    relations: Mapping[str, Relation],
    params: Mapping[str, Any] | None,
    batch_rows: int,
    *,
    stream: bool,
) -> Reading:
    """`run_select` of a checked SELECT with `relations` visible by name.

    An error raised by the result once read (`Reading.own_error`) names the query's own lines.
    """
    import duckdb

    submit, register = _seam_steps()
    if relations and submit is not None and register is not None and not _opens_with_with(sql):
        kept: list[object] = []
        named = _named_in_front(cursor, sql, relations, kept)
        if named is not None and _one_select_shape(cursor, named[1]):
            prefixed = named[0]
            try:
                result = run_select(cursor, prefixed, params, batch_rows, stream=stream)
            except _bind_errors():
                pass  # e.g. a statement DuckDB takes no WITH in front of: over views instead
            except duckdb.Error as error:
                raise _counted_back(error, 1) from None
            else:
                return Reading(result, kept, 1)
    register_views(cursor, relations)
    return Reading(run_select(cursor, sql, params, batch_rows, stream=stream), views=bool(relations))


def register_views(cursor: duckdb.DuckDBPyConnection, relations: Mapping[str, Relation]) -> None:
    """Make each relation visible on the cursor under its name, as a temporary view."""
    for name, relation in relations.items():
        if isinstance(relation, pa.Table):
            cursor.register(name, relation)
        else:
            cursor.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(name)} AS {_read_file(relation)}")


def _named_in_front(
    cursor: duckdb.DuckDBPyConnection, sql: str, relations: Mapping[str, Relation], kept: list[object]
) -> tuple[str, str] | None:
    """`WITH <relations by name>` on a line of its own, then the query as written (None when a name
    or a path would not fit on one line); and its shape, the same text with every registered
    table's name and every path replaced by one placeholder (`_one_select_shape`)."""
    register = _seam_steps()[1]
    assert register is not None
    if any("\n" in name or "\r" in name for name in relations) or any(
        isinstance(r, Path) and ("\n" in str(r) or "\r" in str(r)) for r in relations.values()
    ):
        return None
    named: list[str] = []
    shape: list[str] = []
    for name, relation in relations.items():
        if isinstance(relation, pa.Table):
            handle = register(cursor, relation)
            kept.append(handle)
            body = f"SELECT * FROM {quote_ident(handle.name)}"
            placeholder = 'SELECT * FROM "_"'
        else:
            body = _read_file(relation)
            placeholder = "SELECT * FROM read_parquet('_')"
        named.append(f"{quote_ident(name)} AS NOT MATERIALIZED ({body})")
        shape.append(f"{quote_ident(name)} AS NOT MATERIALIZED ({placeholder})")
    return f"WITH {', '.join(named)}\n{sql}", f"WITH {', '.join(shape)}\n{sql}"


def _opens_with_with(sql: str) -> bool:
    """Whether the query starts with its own WITH (it takes no second one in front)."""
    return sql.lstrip()[:4].lower() == "with"


def _one_select(cursor: duckdb.DuckDBPyConnection, sql: str) -> bool:
    import duckdb

    try:
        statements = cursor.extract_statements(sql)
    except duckdb.Error:
        return False
    return len(statements) == 1 and statements[0].type == duckdb.StatementType.SELECT


_shapes_passed: OrderedDict[str, None] = OrderedDict()


def _one_select_shape(cursor: duckdb.DuckDBPyConnection, shape: str) -> bool:
    """`_one_select` of a prefixed query, by its shape (`_named_in_front`), remembered once it passed.

    The prefixed text differs from its shape only inside quoted identifiers (the registered tables'
    names, double quotes doubled) and string literals (the paths, quotes doubled), neither holding
    a line break, so DuckDB's parser splits and classifies both alike: the verdict on the shape is
    the verdict on the text, whatever names the tables were registered under this time.
    """
    with _passed_lock:
        if shape in _shapes_passed:
            _shapes_passed.move_to_end(shape)
            return True
    if not _one_select(cursor, shape):
        return False
    with _passed_lock:
        _shapes_passed[shape] = None
        if len(_shapes_passed) > CHECKED_TEXTS:
            _shapes_passed.popitem(last=False)
    return True


def _read_file(path: Path) -> str:
    return f"SELECT * FROM read_parquet({quote_literal(str(path))})"


def quote_ident(name: str) -> str:
    """`name` as a DuckDB identifier, always double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """`text` as a DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"
