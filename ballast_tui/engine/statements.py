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
- binding that WITH costs a small query about 90 µs more than reading the
  tables' registered names directly. So a query whose inputs are all Arrow
  tables first runs with each name it reads replaced by its table's registered
  name (`_read_directly`: DuckDB's tokenizer finds the names, once a query
  text), where that cannot change what it answers; any error, and any case
  where it could, goes the way above.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

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

K = TypeVar("K")
V = TypeVar("V")


class _Remembered(Generic[K, V]):
    """A bounded map, least recently used first out; thread-safe."""

    def __init__(self, most: int) -> None:
        self._most = most
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> tuple[bool, V | None]:
        """Whether `key` is remembered, and its value."""
        with self._lock:
            if key not in self._items:
                return False, None
            self._items.move_to_end(key)
            return True, self._items[key]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            if len(self._items) > self._most:
                self._items.popitem(last=False)


_passed: _Remembered[str, None] = _Remembered(CHECKED_TEXTS)


class NotOneSelect(Exception):
    """The text is not exactly one SELECT statement; the message says why, for the user."""


def only_one_select(cursor: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse, by DuckDB's own parser, anything but exactly one SELECT statement (`NotOneSelect`).

    A text that passed once passes again without being parsed.
    """
    if _passed.get(sql)[0]:
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
    _passed.put(sql, None)


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
    as_written: Callable[[duckdb.Error], duckdb.Error] | None = None
    """For a query run with its names replaced (`_read_directly`): the error the query as written
    raises (it runs again, only when it failed)."""

    def release(self) -> None:
        """Let go of the result (a reader is closed) and of the tables' registrations, so that
        nothing of this query stays on its cursor: no open result, no name reading its inputs."""
        result, self.result = self.result, None
        if isinstance(result, pa.RecordBatchReader):
            result.close()
        self.kept.clear()
        self.as_written = None

    def own_error(self, error: duckdb.Error) -> duckdb.Error:
        """`error` as the query alone would have raised it: its `LINE n:` counted in the query, and
        the names it reads as written."""
        if self.as_written is not None:
            return self.as_written(error)
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
    query = _Query(cursor, sql, relations, params, batch_rows, stream)
    submit, register = _seam_steps()
    if relations and submit is not None and register is not None:
        direct = _read_directly(query)
        if direct is not None:
            return direct
    return _read_named(query)


@dataclass(frozen=True)
class _Query:
    """What `run_reading` was asked to run."""

    cursor: duckdb.DuckDBPyConnection
    sql: str
    relations: Mapping[str, Relation]
    params: Mapping[str, Any] | None
    batch_rows: int
    stream: bool


def _read_named(query: _Query) -> Reading:
    """`run_reading` with the relations named in a WITH in front of the query, else as views."""
    import duckdb

    cursor, sql, relations = query.cursor, query.sql, query.relations
    submit, register = _seam_steps()
    if relations and submit is not None and register is not None and not _opens_with_with(sql):
        kept: list[object] = []
        named = _named_in_front(cursor, sql, relations, kept)
        if named is not None and _one_select_shape(cursor, named[1]):
            try:
                result = _run(query, named[0])
            except _bind_errors():
                pass  # e.g. a statement DuckDB takes no WITH in front of: over views instead
            except duckdb.Error as error:
                raise _counted_back(error, 1) from None
            else:
                return Reading(result, kept, 1)
    register_views(cursor, relations)
    return Reading(_run(query, sql), views=bool(relations))


def _run(query: _Query, text: str) -> pa.RecordBatchReader | pa.Table:
    """`run_select` of `text`, in the place of the query's own."""
    return run_select(query.cursor, text, query.params, query.batch_rows, stream=query.stream)


def _read_directly(query: _Query) -> Reading | None:
    """`run_reading` of a query over Arrow tables, each name it reads replaced by the name its
    table is registered under (`_renaming`); None where that could answer otherwise than the query
    as written, which then runs named (`_read_named`).

    The names are replaced as DuckDB's own tokenizer finds them, every identifier token spelling one
    (quoted or not, in any case): a consistent renaming, so the query binds the same, with two
    exceptions, both refused: a column of an input spelling a relation's name (the query may mean the
    column), and a result naming a registered table (an alias, a struct key or an expression's text
    spelling it). An error whose message shows a registered name runs the query as written, for
    the message the user reads; a cancelled query is never run again.
    """
    import duckdb

    tables = {name: r for name, r in query.relations.items() if isinstance(r, pa.Table)}
    if len(tables) != len(query.relations) or _columns_spell_names(tables):
        return None
    names = tuple(tables)
    renaming = _renaming(query.sql, names)
    if renaming is None:
        return None
    pieces, slots = renaming
    register = _seam_steps()[1]
    assert register is not None
    kept = []
    quoted: dict[int, str] = {}
    for slot in sorted(set(slots)):
        handle = register(query.cursor, tables[names[slot]])
        kept.append(handle)
        quoted[slot] = quote_ident(handle.name)
    text = "".join(piece + quoted[slot] for piece, slot in zip(pieces, slots, strict=False)) + pieces[-1]
    handles = [handle.name for handle in kept]

    def shows_handles(error: duckdb.Error) -> bool:
        """Whether the user would read `error` otherwise for the query as written (an interrupt
        is the same either way, and is not to be run again)."""
        return not isinstance(error, duckdb.InterruptException) and any(h in str(error) for h in handles)

    try:
        result = _run(query, text)
    except _bind_errors():
        return None
    except duckdb.Error as error:
        if shows_handles(error):
            return None
        raise
    if _spells_any(result.schema, handles):
        if isinstance(result, pa.RecordBatchReader):
            result.close()
        _refuse(query.sql, names)  # its result's names will spell them again: named from now on
        return None
    reading = Reading(result, kept)

    def as_written(error: duckdb.Error) -> duckdb.Error:
        if not shows_handles(error):
            return error
        try:
            again = _read_named(dataclasses.replace(query, stream=False))
        except duckdb.Error as named_error:
            return named_error
        reading.views = reading.views or again.views
        again.release()
        return error  # it ran this time (a query that fails now and then): its own error then

    reading.as_written = as_written
    return reading


RENAMINGS = 2048
"""How many (query, names) renamings are remembered."""
RENAMED_TEXT_CHARS = 16 * 1024
"""A longer query text is tokenized every time it runs, not remembered (the memory stays bounded)."""
Renaming: TypeAlias = "tuple[tuple[str, ...], tuple[int, ...]]"
_renamings: _Remembered[tuple[str, tuple[str, ...]], Renaming | None] = _Remembered(RENAMINGS)


def _renaming(sql: str, names: tuple[str, ...]) -> Renaming | None:
    """The text of `sql` around each identifier token spelling one of `names` (case aside, quoted or
    not), and which name each spells: `pieces[0] slot[0] pieces[1] … pieces[-1]`. None when it
    spells none. Remembered: DuckDB's tokenizer runs once a query text."""
    key = (sql, names)
    found, remembered = _renamings.get(key)
    if found:
        return remembered
    import duckdb

    slot_of = {name.lower(): slot for slot, name in enumerate(names)}
    tokens = duckdb.tokenize(sql)
    pieces: list[str] = []
    slots: list[int] = []
    last = 0
    for k, (start, kind) in enumerate(tokens):
        if kind != duckdb.token_type.identifier:
            continue
        if k and sql[tokens[k - 1][0] : start] == "$":
            continue  # a parameter's name (`$name`), not a name the query reads
        end = tokens[k + 1][0] if k + 1 < len(tokens) else len(sql)
        spelled = sql[start:end].rstrip()
        if len(spelled) >= 2 and spelled[0] == spelled[-1] == '"':
            identifier = spelled[1:-1].replace('""', '"')
        else:
            identifier = spelled
        slot = slot_of.get(identifier.lower())
        if slot is None:
            continue
        pieces.append(sql[last:start])
        slots.append(slot)
        last = start + len(spelled)
    pieces.append(sql[last:])
    renaming = (tuple(pieces), tuple(slots)) if slots else None
    if len(sql) <= RENAMED_TEXT_CHARS:
        _renamings.put(key, renaming)
    return renaming


def _refuse(sql: str, names: tuple[str, ...]) -> None:
    """Run this query named from now on (`_renaming` answers None)."""
    if len(sql) <= RENAMED_TEXT_CHARS:
        _renamings.put((sql, names), None)


def _columns_spell_names(tables: Mapping[str, pa.Table]) -> bool:
    """Whether a column of one of the tables spells one of their names (case aside)."""
    names = {name.lower() for name in tables}
    return any(column.lower() in names for table in tables.values() for column in table.column_names)


def _spells_any(schema: pa.Schema, handles: list[str]) -> bool:
    """Whether a field of `schema`, at any depth, spells one of `handles` in its name."""
    fields = list(schema)
    while fields:
        found = fields.pop()
        if any(handle in found.name for handle in handles):
            return True
        kind = found.type
        if pa.types.is_struct(kind):
            fields += [kind.field(i) for i in range(kind.num_fields)]
        elif pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
            fields.append(kind.value_field)
        elif pa.types.is_map(kind):
            fields += [kind.key_field, kind.item_field]
        elif pa.types.is_union(kind):
            fields += [kind.field(i) for i in range(kind.num_fields)]
    return False


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


_shapes_passed: _Remembered[str, None] = _Remembered(CHECKED_TEXTS)


def _one_select_shape(cursor: duckdb.DuckDBPyConnection, shape: str) -> bool:
    """`_one_select` of a prefixed query, by its shape (`_named_in_front`), remembered once it passed.

    The prefixed text differs from its shape only inside quoted identifiers (the registered tables'
    names, double quotes doubled) and string literals (the paths, quotes doubled), neither holding
    a line break, so DuckDB's parser splits and classifies both alike: the verdict on the shape is
    the verdict on the text, whatever names the tables were registered under this time.
    """
    if _shapes_passed.get(shape)[0]:
        return True
    if not _one_select(cursor, shape):
        return False
    _shapes_passed.put(shape, None)
    return True


def _read_file(path: Path) -> str:
    return f"SELECT * FROM read_parquet({quote_literal(str(path))})"


def quote_ident(name: str) -> str:
    """`name` as a DuckDB identifier, always double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """`text` as a DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"
