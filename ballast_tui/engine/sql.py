"""What the SQL of a SQL block reads: its tables and its ``$name`` parameters.

A SQL block holds exactly one read-only query. `parse_query` checks that (see
`sql_check`) and reports which tables (other blocks, catalog sources) and which
named ``$name`` parameters the query uses; `locate_tables` also says where each
table reference is in the text (see `sql_refs`), for rewrites that keep the
rest as written (`sql_rewrite`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp

# sqlglot (and its DuckDB dialect) loads at the first parse, not with the engine: reading a board's
# stored outputs (the app's first paint) parses no SQL.

__all__ = ["LocatedQuery", "ParsedQuery", "locate_tables", "parse_query"]


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
    from ballast_tui.engine.sql_check import parse_single_query
    from ballast_tui.engine.sql_refs import collect

    tree, tokens = parse_single_query(sql)
    collected = collect(tree, tokens)
    return ParsedQuery(
        tables=frozenset(ref.name for ref in collected.tables),
        params=_named_params(tree),
    )


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
    from ballast_tui.engine.sql_check import parse_single_query
    from ballast_tui.engine.sql_refs import collect

    tree, tokens = parse_single_query(sql)
    collected = collect(tree, tokens)
    return LocatedQuery(
        tree,
        [(ref.name, ref.node, ref.span) for ref in collected.tables if ref.node is not None],
        [(span, ref.name) for span, ref in collected.qualifiers],
    )


def _named_params(tree: exp.Expr) -> frozenset[str]:
    from sqlglot import exp

    return frozenset(placeholder.name.lower() for placeholder in tree.find_all(exp.Placeholder))
