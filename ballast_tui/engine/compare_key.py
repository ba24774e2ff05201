"""The key that matches a row on the left with a row on the right, when the common columns offer one."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from ballast_tui.engine.compare_columns import Column, Sources, ident


def choose_key(
    con: duckdb.DuckDBPyConnection, sources: Sources, common: Sequence[Column]
) -> list[Column] | None:
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


def _unique(con: duckdb.DuckDBPyConnection, sources: Sources, key: Sequence[Column]) -> bool:
    # GROUP BY puts NULLs together, matching the IS NOT DISTINCT FROM used to join on the key.
    groups = ", ".join(ident(column.name) for column in key)
    duplicates = "SELECT 1 FROM {} GROUP BY {} HAVING count(*) > 1"
    row = con.execute(
        f"SELECT NOT EXISTS ({duplicates.format(sources.left, groups)})"
        f" AND NOT EXISTS ({duplicates.format(sources.right, groups)})"
    ).fetchone()
    assert row is not None
    return bool(row[0])


def key_match(key: Sequence[Column]) -> str:
    """SQL: true when rows ``l`` and ``r`` have the same key (NULL equals NULL)."""
    return " AND ".join(f"{c.compared('l')} IS NOT DISTINCT FROM {c.compared('r')}" for c in key)
