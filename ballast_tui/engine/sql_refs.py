"""Finding the real table references in a query tree, and where each is in the text.

A reference is a table the query reads: not a CTE visible at that point, not a
table function, not a file path (``FROM 'data.csv'``). Column qualifiers that
name a table implicitly (``orders`` in ``orders.amount`` over ``FROM orders``)
are found too, so a rename can rewrite them along with the table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.tokenizer_core import Token, TokenType


@dataclass(frozen=True)
class TableRef:
    """A reference to a real table: its dotted lower-case name and where it is in the text."""

    name: str
    span: tuple[int, int]  # [start, end) of the dotted name; (-1, -1) when unknown
    node: exp.Table | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class _Scope:
    """The sources a SELECT makes visible to column qualifiers, by lower-case name.

    A source maps to its `TableRef` only when it is a real table named without
    an alias, the one case where a qualifier names the table itself.
    """

    parent: _Scope | None
    sources: dict[str, TableRef | None]

    def resolve(self, name: str) -> TableRef | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.sources:
                return scope.sources[name]
            scope = scope.parent
        return None


_Frame = tuple[exp.Expr, frozenset[str], "_Scope | None"]


class Collector:
    """Walks a query tree, tracking visible CTE names and SELECT scopes."""

    def __init__(self, tokens: Sequence[Token]) -> None:
        self._tokens_by_start = {token.start: token for token in tokens}
        self._refs: dict[int, TableRef | None] = {}
        self.tables: list[TableRef] = []
        self.qualifiers: list[tuple[tuple[int, int], TableRef]] = []

    def run(self, tree: exp.Expr) -> None:
        """Collect the references in ``tree`` into `tables` and `qualifiers`."""
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

    def _sources(self, select: exp.Select, ctes: frozenset[str]) -> dict[str, TableRef | None]:
        sources: dict[str, TableRef | None] = {}
        for source in _source_nodes(select):
            name, ref = self._source_entry(source, ctes)
            if name:
                # Two sources of one name are ambiguous: resolve to neither.
                sources[name] = None if name in sources else ref
        return sources

    def _source_entry(self, source: exp.Expr, ctes: frozenset[str]) -> tuple[str, TableRef | None]:
        if isinstance(source, exp.Table) and not source.alias:
            return source.name.lower(), self._table_ref(source, ctes)
        return source.alias_or_name.lower(), None

    def _table_ref(self, table: exp.Table, ctes: frozenset[str]) -> TableRef | None:
        if id(table) not in self._refs:
            self._refs[id(table)] = self._classify(table, ctes)
        return self._refs[id(table)]

    def _classify(self, table: exp.Table, ctes: frozenset[str]) -> TableRef | None:
        """The table `table` names, or None for a table function, file path or CTE."""
        if not isinstance(table.this, exp.Identifier):
            return None
        parts = [part for part in table.parts if isinstance(part, exp.Identifier)]
        if any(self._is_string_literal(part) for part in parts):
            return None  # FROM 'data.csv' reads a file
        name = ".".join(part.name.lower() for part in parts)
        if len(parts) == 1 and name in ctes:
            return None
        return TableRef(name, self._span(parts), table)

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


def collect(tree: exp.Expr, tokens: Sequence[Token]) -> Collector:
    """The table references and table-naming column qualifiers in ``tree`` (parsed from ``tokens``)."""
    collector = Collector(tokens)
    collector.run(tree)
    return collector
