"""Rewriting a query's text in place: renaming a table it reads, splicing spans, quoting names.

Every character outside the rewritten spans stays as the user wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlglot.tokenizer_core import TokenType

from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.sql_check import DIALECT, parse_single_query
from ballast_tui.engine.sql_refs import collect

__all__ = ["quote_identifier", "rename_table", "splice"]

_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


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
    tree, tokens = parse_single_query(sql)
    collected = collect(tree, tokens)
    target = old.lower()
    spans = [ref.span for ref in collected.tables if ref.name == target]
    spans += [span for span, ref in collected.qualifiers if ref.name == target]
    if not spans:
        return sql
    if any(start < 0 for start, _ in spans):
        raise InvalidRequest(f"could not locate every reference to {old} in the SQL; rename it by hand")
    return _splice(sql, spans, quote_identifier(new))


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
    tokens = DIALECT.tokenize(name)
    return len(tokens) == 1 and tokens[0].token_type == TokenType.VAR


def _splice(sql: str, spans: Sequence[tuple[int, int]], replacement: str) -> str:
    """``sql`` with each span replaced by ``replacement``."""
    return splice(sql, [(span, replacement) for span in spans])
