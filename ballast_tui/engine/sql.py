"""Reading and rewriting the DuckDB SQL of SQL blocks.

A SQL block holds exactly one read-only query. `parse_query` checks that and
reports which tables (other blocks, catalog sources) and which named ``$name``
parameters the query uses; `rename_table` rewrites references to one table in
place, leaving every other character of the text as the user wrote it.

sqlglot (DuckDB dialect) gives the syntax tree and token offsets; DuckDB's own
parser is asked as well whether the text is a single SELECT, since sqlglot
accepts some statements leniently.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import duckdb
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

from ballast_tui.engine.errors import InvalidRequest

__all__ = [
    "LocatedQuery",
    "ParsedQuery",
    "locate_tables",
    "parse_query",
    "quote_identifier",
    "rename_table",
    "splice",
]

_DIALECT = Dialect.get_or_raise("duckdb")
_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_QUERY_KINDS = "SELECT, WITH … SELECT, FROM …, VALUES, or a UNION/INTERSECT/EXCEPT of those"


@dataclass(frozen=True)
class ParsedQuery:
    """What a query reads.

    ``tables``: lower-cased names of the tables read, qualified names keeping
    their dots (``warehouse.public.orders``); CTE names, table functions and
    file paths (``FROM 'data.csv'``) are not tables.
    ``params``: lower-cased names of the ``$name`` parameters used.
    """

    tables: frozenset[str]
    params: frozenset[str]


def parse_query(sql: str) -> ParsedQuery:
    """Check that ``sql`` is one read-only query and report what it reads.

    Raises `InvalidRequest` for empty text, syntax errors, several statements,
    anything other than a query, and positional parameters.
    """
    tree, tokens = _parse_single_query(sql)
    collected = _collect(tree, tokens)
    return ParsedQuery(
        tables=frozenset(ref.name for ref in collected.tables),
        params=_named_params(tree),
    )


def rename_table(sql: str, old: str, new: str) -> str:
    """Rewrite every reference to table ``old`` in ``sql`` as ``new``.

    Only table references change, plus column qualifiers that name the table
    implicitly (``sales.amount`` in ``SELECT sales.amount FROM sales``); CTEs,
    columns, aliases, strings and comments of the same name are left alone, and
    so is every other character of the text. ``old`` is matched
    case-insensitively against the dotted name `parse_query` reports. ``new`` is
    written as given, double-quoted unless it is a plain lower-case identifier.
    Returns ``sql`` unchanged when it does not reference ``old``; raises
    `InvalidRequest` when ``sql`` is not a valid query.
    """
    if not new:
        raise InvalidRequest("the new table name is empty")
    tree, tokens = _parse_single_query(sql)
    collected = _collect(tree, tokens)
    target = old.lower()
    spans = [ref.span for ref in collected.tables if ref.name == target]
    spans += [span for span, ref in collected.qualifiers if ref.name == target]
    if not spans:
        return sql
    if any(start < 0 for start, _ in spans):
        raise InvalidRequest(f"could not locate every reference to {old} in the SQL; rename it by hand")
    return _splice(sql, spans, quote_identifier(new))


@dataclass(frozen=True)
class LocatedQuery:
    """A query's syntax tree and where each real table reference is.

    ``tables``: (dotted lower-case name, the `exp.Table` node, its [start, end)
    span in the text); ``qualifiers``: (span, dotted name) of column
    qualifiers that name a table implicitly (``orders`` in ``orders.amount``).
    Spans are (-1, -1) where the text position is unknown.
    """

    tree: exp.Expr
    tables: list[tuple[str, exp.Table, tuple[int, int]]]
    qualifiers: list[tuple[tuple[int, int], str]]


def locate_tables(sql: str) -> LocatedQuery:
    """`sql`'s tree and table references, for rewrites that keep the rest of the text as written."""
    tree, tokens = _parse_single_query(sql)
    collected = _collect(tree, tokens)
    return LocatedQuery(
        tree,
        [(ref.name, ref.node, ref.span) for ref in collected.tables if ref.node is not None],
        [(span, ref.name) for span, ref in collected.qualifiers],
    )


def splice(sql: str, replacements: Sequence[tuple[tuple[int, int], str]]) -> str:
    """``sql`` with each [start, end) span replaced by its text; nested spans go with their outer one."""
    pieces: list[str] = []
    position = 0
    for (start, end), text in sorted(set(replacements)):
        if start < position:
            continue
        pieces += [sql[position:start], text]
        position = end
    pieces.append(sql[position:])
    return "".join(pieces)


def quote_identifier(name: str) -> str:
    """``name`` as a DuckDB identifier: bare when plain lower-case and not a keyword, else double-quoted."""
    if _PLAIN_IDENTIFIER.fullmatch(name) and _is_bare_word(name):
        return name
    return '"' + name.replace('"', '""') + '"'


def _is_bare_word(name: str) -> bool:
    tokens = _DIALECT.tokenize(name)
    return len(tokens) == 1 and tokens[0].token_type == TokenType.VAR


# --- validation ---------------------------------------------------------------


def _parse_single_query(sql: str) -> tuple[exp.Expr, list[Token]]:
    """The syntax tree of the one query in ``sql`` and its tokens, or `InvalidRequest`.

    DuckDB's verdict on the statement count and type comes before sqlglot's
    parse, so that statements sqlglot only knows as opaque commands (LOAD,
    EXPLAIN, CALL) are refused by name; sqlglot's stricter view then catches
    what DuckDB files under SELECT (DESCRIBE, SHOW, SUMMARIZE).
    """
    duckdb_kinds, duckdb_error = _duckdb_statement_kinds(sql)
    tokens = _tokenize(sql, duckdb_error)
    if all(token.token_type == TokenType.SEMICOLON for token in tokens):
        raise InvalidRequest("the SQL is empty: write a query such as SELECT * FROM some_table")
    _refuse_positional_tokens(tokens)
    if duckdb_kinds is not None:
        _require_one_select(duckdb_kinds, tokens)
    statements = _parse_statements(sql, tokens, duckdb_error)
    if duckdb_error is not None:
        raise InvalidRequest(f"could not parse the SQL: {duckdb_error}")
    if len(statements) != 1:
        raise _statement_count_error(len(statements))
    tree = statements[0]
    _require_query(tree)
    _refuse_positional_placeholders(tree)
    return tree, tokens


_local = threading.local()


def _parser() -> duckdb.DuckDBPyConnection:
    """This thread's own DuckDB connection for parsing (the module-level default one is shared)."""
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect(
            ":memory:", config={"enable_external_access": False, "autoload_known_extensions": False}
        )
    return con


def _duckdb_statement_kinds(sql: str) -> tuple[list[str] | None, str | None]:
    """The type of each statement DuckDB's parser finds in ``sql``, or its error message."""
    try:
        statements = _parser().extract_statements(sql)
    except duckdb.Error as error:
        lines = str(error).strip().splitlines()
        first = lines[0] if lines else type(error).__name__
        return None, first.removeprefix("Parser Error: ")
    return [statement.type.name for statement in statements], None


def _require_one_select(kinds: Sequence[str], tokens: Sequence[Token]) -> None:
    if len(kinds) != 1:
        raise _statement_count_error(len(kinds))
    if kinds[0] != duckdb.StatementType.SELECT.name:
        raise _not_a_query_error(_leading_keyword(tokens) or kinds[0])


def _leading_keyword(tokens: Sequence[Token]) -> str | None:
    """The statement's first word, which names it better than DuckDB's types (MULTI, EXTENSION)."""
    words = (token for token in tokens if token.token_type != TokenType.L_PAREN)
    first = next(words, None)
    if first is None or first.token_type in (TokenType.WITH, TokenType.STRING, TokenType.IDENTIFIER):
        return None
    return first.text.upper()


def _statement_count_error(count: int) -> InvalidRequest:
    return InvalidRequest(f"the SQL holds {count} statements; a block runs exactly one query")


def _not_a_query_error(kind: str) -> InvalidRequest:
    return InvalidRequest(
        f"{kind} is not allowed here: a block runs a single read-only query ({_QUERY_KINDS})"
    )


def _tokenize(sql: str, duckdb_error: str | None) -> list[Token]:
    try:
        return _DIALECT.tokenize(sql)
    except TokenError as error:
        # DuckDB names the problem ("unterminated quoted string"); sqlglot only says where.
        raise InvalidRequest(f"could not parse the SQL: {duckdb_error or error}") from None


def _parse_statements(sql: str, tokens: list[Token], duckdb_error: str | None) -> list[exp.Expr]:
    """The non-empty statements of ``sql`` (a lone trailing ``;`` or comment is not one).

    When both parsers fail, DuckDB's message is the one given: it is the engine
    that runs the query, and says "syntax error at or near …" where sqlglot
    names its own classes.
    """
    try:
        parsed = _DIALECT.parser().parse(tokens, sql)
    except ParseError as error:
        message = duckdb_error or _describe_parse_error(error)
        raise InvalidRequest(f"could not parse the SQL: {message}") from None
    except RecursionError:
        raise InvalidRequest("could not parse the SQL: it is nested too deeply") from None
    return [node for node in parsed if node is not None and not isinstance(node, exp.Semicolon)]


def _describe_parse_error(error: ParseError) -> str:
    if not error.errors:
        return str(error).splitlines()[0]
    first = error.errors[0]
    description = _TOKEN_REPR.sub(_describe_token, str(first["description"]))
    return f"{description} (line {first['line']}, column {first['col']})"


# sqlglot's messages embed token reprs: "Expected table name but got <Token token_type: ...>".
_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: \d+, col: .*?\]>")


def _describe_token(match: re.Match[str]) -> str:
    return "the end of the SQL" if match[1] == "SENTINEL" else repr(match[2])


def _require_query(tree: exp.Expr) -> None:
    node = tree
    while isinstance(node, exp.Subquery):
        node = node.this
    if not isinstance(node, (exp.Select, exp.SetOperation, exp.Values)):
        raise _not_a_query_error(_statement_kind(node))
    if tree.find(exp.Into) is not None:
        raise InvalidRequest("SELECT … INTO writes a table; a block may only read")


def _statement_kind(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    if isinstance(node, exp.Pivot):
        return "UNPIVOT" if node.args.get("unpivot") else "PIVOT"
    return node.key.upper()


def _refuse_positional_tokens(tokens: Sequence[Token]) -> None:
    """Refuse ``?``, ``?1`` and ``$1`` before parsing, since sqlglot cannot parse ``?1``."""
    for index, token in enumerate(tokens):
        if token.token_type not in (TokenType.PLACEHOLDER, TokenType.PARAMETER):
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        number = (
            following
            if following is not None
            and following.token_type == TokenType.NUMBER
            and following.start == token.end + 1
            else None
        )
        if token.token_type == TokenType.PLACEHOLDER or number is not None:
            text = token.text + (number.text if number is not None else "")
            raise _positional_error(text, token.line, token.col - len(token.text) + 1)


def _refuse_positional_placeholders(tree: exp.Expr) -> None:
    for placeholder in tree.find_all(exp.Placeholder):
        name = placeholder.name
        if not name or name.isdigit():
            raise _positional_error(f"${name}" if name else "?", None, None)


def _positional_error(text: str, line: int | None, col: int | None) -> InvalidRequest:
    where = f" at line {line}, column {col}" if line is not None else ""
    return InvalidRequest(
        f"positional parameter {text}{where} is not supported; use named parameters like $start_date"
    )


def _named_params(tree: exp.Expr) -> frozenset[str]:
    return frozenset(placeholder.name.lower() for placeholder in tree.find_all(exp.Placeholder))


# --- finding table references ----------------------------------------------------


@dataclass(frozen=True)
class _TableRef:
    """A reference to a real table: its dotted lower-case name and where it is in the text."""

    name: str
    span: tuple[int, int]  # [start, end) of the dotted name; (-1, -1) when unknown
    node: exp.Table | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class _Scope:
    """The sources a SELECT makes visible to column qualifiers, by lower-case name.

    A source maps to its `_TableRef` only when it is a real table named without
    an alias, the one case where a qualifier names the table itself.
    """

    parent: _Scope | None
    sources: dict[str, _TableRef | None]

    def resolve(self, name: str) -> _TableRef | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.sources:
                return scope.sources[name]
            scope = scope.parent
        return None


_Frame = tuple[exp.Expr, frozenset[str], "_Scope | None"]


class _Collector:
    """Walks a query tree, tracking visible CTE names and SELECT scopes."""

    def __init__(self, tokens: Sequence[Token]) -> None:
        self._tokens_by_start = {token.start: token for token in tokens}
        self._refs: dict[int, _TableRef | None] = {}
        self.tables: list[_TableRef] = []
        self.qualifiers: list[tuple[tuple[int, int], _TableRef]] = []

    def run(self, tree: exp.Expr) -> None:
        # An explicit stack rather than recursion: long AND/OR chains nest deeply.
        stack: list[_Frame] = [(tree, frozenset(), None)]
        while stack:
            stack.extend(self._visit(*stack.pop()))

    def _visit(self, node: exp.Expr, ctes: frozenset[str], scope: _Scope | None) -> list[_Frame]:
        frames: list[_Frame] = []
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            frames, ctes = self._cte_frames(with_, ctes, scope)
        if isinstance(node, exp.Select):
            scope = _Scope(scope, self._sources(node, ctes))
        elif isinstance(node, exp.Table):
            ref = self._table_ref(node, ctes)
            if ref is not None:
                self.tables.append(ref)
        elif isinstance(node, exp.Column) and scope is not None:
            self._visit_qualifier(node, scope)
        frames += [(child, ctes, scope) for child in node.iter_expressions() if child is not with_]
        return frames

    def _cte_frames(
        self, with_: exp.With, ctes: frozenset[str], scope: _Scope | None
    ) -> tuple[list[_Frame], frozenset[str]]:
        """Frames for the CTE bodies, and the CTE names visible after the WITH.

        A body sees the CTEs defined before it, and itself only under RECURSIVE:
        DuckDB reads ``WITH t AS (SELECT * FROM t)`` as the real table ``t``.
        """
        recursive = bool(with_.args.get("recursive"))
        frames: list[_Frame] = []
        visible = ctes
        for cte in with_.expressions:
            name = cte.alias.lower()
            body_sees = visible | {name} if recursive else visible
            frames.append((cte.this, body_sees, scope))
            visible = visible | {name}
        return frames, visible

    def _sources(self, select: exp.Select, ctes: frozenset[str]) -> dict[str, _TableRef | None]:
        sources: dict[str, _TableRef | None] = {}
        for source in _source_nodes(select):
            name, ref = self._source_entry(source, ctes)
            if name:
                # Two sources of one name are ambiguous: resolve to neither.
                sources[name] = None if name in sources else ref
        return sources

    def _source_entry(self, source: exp.Expr, ctes: frozenset[str]) -> tuple[str, _TableRef | None]:
        if isinstance(source, exp.Table) and not source.alias:
            return source.name.lower(), self._table_ref(source, ctes)
        return source.alias_or_name.lower(), None

    def _table_ref(self, table: exp.Table, ctes: frozenset[str]) -> _TableRef | None:
        if id(table) not in self._refs:
            self._refs[id(table)] = self._classify(table, ctes)
        return self._refs[id(table)]

    def _classify(self, table: exp.Table, ctes: frozenset[str]) -> _TableRef | None:
        """The table `table` names, or None for a table function, file path or CTE."""
        if not isinstance(table.this, exp.Identifier):
            return None
        parts = [part for part in table.parts if isinstance(part, exp.Identifier)]
        if any(self._is_string_literal(part) for part in parts):
            return None  # FROM 'data.csv' reads a file
        name = ".".join(part.name.lower() for part in parts)
        if len(parts) == 1 and name in ctes:
            return None
        return _TableRef(name, self._span(parts), table)

    def _is_string_literal(self, identifier: exp.Identifier) -> bool:
        token = self._tokens_by_start.get(identifier.meta.get("start", -1))
        return token is not None and token.token_type == TokenType.STRING

    def _span(self, parts: Sequence[exp.Identifier]) -> tuple[int, int]:
        """Where the dotted name ``parts`` is in the text, checked against the tokens; (-1, -1) if unsure."""
        bounds = [self._token_bounds(part) for part in parts]
        if any(bound is None for bound in bounds):
            return (-1, -1)
        known = [bound for bound in bounds if bound is not None]
        return (min(start for start, _ in known), max(end for _, end in known))

    def _token_bounds(self, identifier: exp.Identifier) -> tuple[int, int] | None:
        start, end = identifier.meta.get("start"), identifier.meta.get("end")
        token = self._tokens_by_start.get(start) if isinstance(start, int) else None
        if token is None or token.end != end:
            return None
        return (token.start, token.end + 1)

    def _visit_qualifier(self, column: exp.Column, scope: _Scope) -> None:
        qualifier = [column.args.get(key) for key in ("catalog", "db", "table")]
        parts = [part for part in qualifier if isinstance(part, exp.Identifier)]
        if not column.table or not parts:
            return
        ref = scope.resolve(column.table.lower())
        if ref is not None:
            self.qualifiers.append((self._span(parts), ref))


def _source_nodes(select: exp.Select) -> Iterator[exp.Expr]:
    """The FROM and JOIN sources of a SELECT, including joins sqlglot nests in a table."""
    from_ = select.args.get("from_")
    if isinstance(from_, exp.From):
        yield from _with_nested_joins(from_.this)
    for join in select.args.get("joins") or []:
        yield from _with_nested_joins(join.this)


def _with_nested_joins(source: exp.Expr) -> Iterator[exp.Expr]:
    # A parenthesized join without alias, ``(a JOIN b)``, exposes a and b by name.
    if isinstance(source, exp.Subquery) and isinstance(source.this, exp.Table) and not source.alias:
        yield from _with_nested_joins(source.this)
        return
    yield source
    # FROM-first comma joins (``FROM a, b``) hang off the first table.
    for join in source.args.get("joins") or []:
        yield from _with_nested_joins(join.this)


def _collect(tree: exp.Expr, tokens: Sequence[Token]) -> _Collector:
    collector = _Collector(tokens)
    collector.run(tree)
    return collector


# --- splicing -----------------------------------------------------------------------


def _splice(sql: str, spans: Sequence[tuple[int, int]], replacement: str) -> str:
    """``sql`` with each span replaced by ``replacement``."""
    return splice(sql, [(span, replacement) for span in spans])
