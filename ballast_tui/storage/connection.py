"""One thread's connection to the workspace database: the few calls the engine makes.

`execute` and `query` behave as sqlite-utils' `Database` methods of the same
names (a write outside a transaction commits at once; rows come back as dicts,
a repeated column name suffixed ``_2``, ``_3``…), written here so that opening
a workspace and reading it does not import sqlite-utils (and click, pluggy and
dateutil with it: about 30 ms of a launch). `table` hands over to sqlite-utils
for inserts, loading it then.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils
    import sqlite_utils.db

Params = Sequence[Any] | Mapping[str, Any] | None

NO_ROWS = "query() can only be used with SQL that returns rows - use execute() for other statements"

_TRANSACTION_CONTROL = frozenset({"SAVEPOINT", "ROLLBACK", "BEGIN", "END", "COMMIT", "RELEASE"})


class Connection:
    """A `sqlite3.Connection` (`conn`) with sqlite-utils' `execute`, `query` and `table`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._tables: sqlite_utils.Database | None = None
        # What sqlite-utils sets on every connection it wraps, kept so behaviour does not change.
        conn.execute("PRAGMA recursive_triggers = on")

    def execute(self, sql: str, parameters: Params = None) -> sqlite3.Cursor:
        """Run one statement. A write that opened a transaction of its own is committed at once; inside
        a transaction (`Database.write`) it joins it. A failed statement leaves no transaction behind."""
        was_in_transaction = self.conn.in_transaction
        try:
            cursor = self.conn.execute(sql, _bound(parameters))
        except Exception:
            if not was_in_transaction and self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        if (
            not was_in_transaction
            and self.conn.in_transaction
            and cursor.description is None
            and first_keyword(sql) not in _TRANSACTION_CONTROL
        ):
            self.conn.execute("COMMIT")
        return cursor

    def query(self, sql: str, parameters: Params = None) -> Iterator[dict[str, Any]]:
        """The rows of a read, as dicts (fetched lazily). A statement that returns no rows raises
        `ValueError` and changes nothing: all but a plain SELECT run inside a savepoint, undone then
        (as sqlite-utils does for every statement; a SELECT cannot write, so it runs as it is)."""
        rows: Iterable[Any]
        if first_keyword(sql) in ("SELECT", "VALUES"):
            rows = cursor = self.conn.execute(sql, _bound(parameters))
        else:
            cursor, rows = self._guarded(sql, parameters)
        keys = dedupe_keys(d[0] for d in cursor.description)
        return (dict(zip(keys, row, strict=True)) for row in rows)

    def _guarded(self, sql: str, parameters: Params) -> tuple[sqlite3.Cursor, list[Any]]:
        """`sql` run inside a savepoint: released when it returns rows (their writes, if any, fetched
        and kept), rolled back otherwise."""
        self.conn.execute('SAVEPOINT "ballast_query"')
        try:
            cursor = self.conn.execute(sql, _bound(parameters))
            if cursor.description is None:
                raise ValueError(NO_ROWS)
            rows = cursor.fetchall()  # a write that returns rows (RETURNING) completes here
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute('ROLLBACK TO "ballast_query"')
                self.conn.execute('RELEASE "ballast_query"')
            raise
        self.conn.execute('RELEASE "ballast_query"')
        return cursor, rows

    def table(self, name: str) -> sqlite_utils.db.Table:
        """sqlite-utils' table `name` on this connection (for its `insert` and `insert_all`)."""
        if self._tables is None:
            import sqlite_utils

            # No plugins: the workspace's database is ours, not a place for a plugin's functions.
            self._tables = sqlite_utils.Database(self.conn, execute_plugins=False)
        return self._tables.table(name)


def _bound(parameters: Params) -> Sequence[Any] | dict[str, Any]:
    if parameters is None:
        return ()
    return dict(parameters) if isinstance(parameters, Mapping) else parameters


def dedupe_keys(keys: Iterable[str]) -> list[str]:
    """Column names made unique as sqlite-utils makes them: a later duplicate gets ``_2``, ``_3``…,
    skipping a suffix another column already has."""
    keys = list(keys)
    taken = set(keys)
    if len(taken) == len(keys):
        return keys
    seen: set[str] = set()
    unique = []
    for key in keys:
        if key in seen:
            new_key, suffix = key, 2
            while new_key in seen or new_key in taken:
                new_key = f"{key}_{suffix}"
                suffix += 1
            key = new_key
        seen.add(key)
        unique.append(key)
    return unique


def first_keyword(sql: str) -> str:
    """The first keyword of a statement, upper-cased, past whitespace, comments, bare ``;`` and a BOM."""
    i, n = 0, len(sql)
    while i < n:
        if sql[i].isspace() or sql[i] in (";", "\ufeff"):
            i += 1
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            if newline == -1:
                return ""
            i = newline + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end == -1:
                return ""
            i = end + 2
        else:
            break
    j = i
    while j < n and (sql[j].isalpha() or sql[j] == "_"):
        j += 1
    return sql[i:j].upper()
