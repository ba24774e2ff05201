"""The workspace's connections: stored encrypted, listed without secrets, queried by name.

`Connections` keeps the rows (the URL sealed with the workspace key), the
lazily looked-up catalog of each connection (its tables and columns, cached
for `Settings.catalog_ttl_s`), the worker processes its queries run in (see
`pool`: whatever a database does, a query ends within the time limit plus a
few seconds), and a bounded in-memory cache of what was read, per board and
refresh. Every failure comes out as a `QueryError` naming the connection, its
text scrubbed of the password and URL.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from ballast_tui.config import Settings
from ballast_tui.engine.blocks import validate_name
from ballast_tui.engine.errors import Conflict, InvalidRequest, NotFound
from ballast_tui.engine.executor import QueryError
from ballast_tui.engine.ids import new_id
from ballast_tui.engine.remote.drivers import RemoteFailure, TableInfo
from ballast_tui.engine.remote.pool import SessionPool
from ballast_tui.engine.remote.secretbox import SecretBox, SecretBoxError
from ballast_tui.engine.remote.urls import Target, parse_url, scrub
from ballast_tui.storage.db import Database, dumps, loads, utcnow

LISTING_RETRY_S = 30.0


@dataclass(frozen=True)
class Connection:
    """A connection as anyone may see it: never its URL."""

    id: str
    name: str
    driver: str
    display: dict[str, Any]
    created_by: str | None
    created_at: str
    listed_at: str | None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "driver": self.driver,
            **{k: v for k, v in self.display.items() if k != "driver"},
            "created_by": self.created_by,
            "created_at": self.created_at,
            "tables_listed_at": self.listed_at,
        }


def _connection(row: dict[str, Any]) -> Connection:
    return Connection(
        row["id"],
        row["name"],
        row["driver"],
        loads(row["display"], {}),
        row["created_by"],
        row["created_at"],
        row["listed_at"],
    )


class Connections:
    """Every connection of one workspace."""

    def __init__(self, db: Database, root: Path, settings: Settings) -> None:
        self.db = db
        self.root = root
        self.settings = settings
        self.box = SecretBox(root)
        self.pool = SessionPool(settings.duckdb_threads, settings.memory_limit)
        self.results = ResultCache(settings.remote_cache_bytes)
        self._targets: dict[str, Target] = {}
        self._lock = threading.Lock()
        # A listing that just failed is not tried again at once: an unreachable host would
        # otherwise hold every catalog view for its connect timeout.
        self._failed_listing: dict[str, tuple[float, QueryError]] = {}

    @property
    def time_limit(self) -> float:
        """Seconds a query or listing on a connection may run: `remote_query_timeout_s`, else the
        engine's own time limit."""
        chosen = self.settings.remote_query_timeout_s
        return self.settings.query_timeout_s if chosen is None else chosen

    # -- rows -------------------------------------------------------------------

    def all(self) -> list[Connection]:
        return [_connection(r) for r in self.db.rows("SELECT * FROM connections ORDER BY name")]

    def names(self) -> set[str]:
        return {r["name"] for r in self.db.rows("SELECT name FROM connections")}

    def find(self, name: str) -> Connection | None:
        row = self.db.row("SELECT * FROM connections WHERE name = ?", [name.lower()])
        return _connection(row) if row else None

    def get(self, name: str) -> Connection:
        found = self.find(name)
        if found is None:
            raise NotFound(f"no connection named {name!r}")
        return found

    # -- grants: whose boards may read a connection ----------------------------------

    def granted_to(self, user_id: str) -> list[Connection]:
        """The connections a board owned by `user_id` may read (granted to them, or to everyone)."""
        rows = self.db.rows(
            "SELECT c.* FROM connections c WHERE EXISTS (SELECT 1 FROM connection_grants g "
            "WHERE g.connection_id = c.id AND g.grantee IN (?, '*')) ORDER BY c.name",
            [user_id],
        )
        return [_connection(r) for r in rows]

    def find_for(self, name: str, user_id: str) -> Connection | None:
        """Connection `name` when a board owned by `user_id` may read it; None otherwise, exactly as
        for a connection that does not exist (its tables are unknown sources to that board)."""
        row = self.db.row(
            "SELECT c.* FROM connections c WHERE c.name = ? AND EXISTS (SELECT 1 FROM connection_grants g "
            "WHERE g.connection_id = c.id AND g.grantee IN (?, '*'))",
            [name.lower(), user_id],
        )
        return _connection(row) if row else None

    def grants(self, connection: Connection) -> list[str]:
        """Who may read a connection: user ids, and '*' for every user."""
        rows = self.db.rows(
            "SELECT grantee FROM connection_grants WHERE connection_id = ? ORDER BY grantee", [connection.id]
        )
        return [r["grantee"] for r in rows]

    def grant(self, tx: Any, connection: Connection, grantee: str, by: str | None) -> bool:
        """Let `grantee` (a user id, or '*') read the connection; whether that changed anything."""
        cursor = tx.execute(
            "INSERT OR IGNORE INTO connection_grants (connection_id, grantee, granted_by, granted_at) "
            "VALUES (?, ?, ?, ?)",
            [connection.id, grantee, by, utcnow()],
        )
        return bool(cursor.rowcount)

    def revoke(self, tx: Any, connection: Connection, grantee: str) -> bool:
        """Take `grantee`'s grant back; whether there was one."""
        cursor = tx.execute(
            "DELETE FROM connection_grants WHERE connection_id = ? AND grantee = ?", [connection.id, grantee]
        )
        return bool(cursor.rowcount)

    def add(self, name: str, url: str, created_by: str | None, check: bool = True) -> Connection:
        """Store a new connection (its URL encrypted); with `check`, only once it answers."""
        validate_name(name)
        target = parse_url(url, self.time_limit)
        self._refuse_workspace_files(target)
        if self.find(name) is not None:
            raise Conflict(f"a connection named {name!r} exists; remove it first to replace it")
        connection = Connection(
            new_id("con"), name, target.driver, target.display, created_by, utcnow(), None
        )
        tables = self._list(connection, target) if check else None
        with self.db.write() as tx:
            if tx.execute("SELECT 1 FROM connections WHERE name = ?", [name]).fetchone():
                raise Conflict(f"a connection named {name!r} exists; remove it first to replace it")
            tx.table("connections").insert(
                {
                    "id": connection.id,
                    "name": name,
                    "driver": target.driver,
                    "secret": self.box.seal(url.strip()),
                    "display": dumps(target.display),
                    "listed_at": None,
                    "created_by": created_by,
                    "created_at": connection.created_at,
                }
            )
            if tables is not None:
                self._store_tables(tx, connection.id, tables)
        with self._lock:
            self._targets[connection.id] = target
        return self.get(name)

    def _refuse_workspace_files(self, target: Target) -> None:
        """A connection may not point inside the workspace: its database would hand every board's SQL,
        and the password hashes, to any board's SQL."""
        if target.driver not in ("sqlite", "duckdb"):
            return
        path = Path(target.display["path"]).expanduser().resolve()
        root = self.root.resolve()
        if path == root or root in path.parents:
            raise InvalidRequest(
                f"a connection may not point inside the workspace directory ({root}); "
                "connect a copy elsewhere, or the database it came from"
            )

    def remove(self, name: str) -> Connection:
        connection = self.get(name)
        with self.db.write() as tx:
            tx.execute("DELETE FROM connections WHERE id = ?", [connection.id])
        with self._lock:
            self._targets.pop(connection.id, None)
        self.pool.forget(connection.id)
        return connection

    def target(self, connection: Connection) -> Target:
        """The decrypted URL, parsed; kept in memory only."""
        with self._lock:
            cached = self._targets.get(connection.id)
        if cached is not None:
            return cached
        row = self.db.row("SELECT secret FROM connections WHERE id = ?", [connection.id])
        if row is None:
            raise QueryError(f"connection {connection.name!r} was removed")
        try:
            target = parse_url(self.box.open(row["secret"]), self.time_limit)
        except (SecretBoxError, InvalidRequest) as error:
            raise QueryError(f"connection {connection.name!r}: {error}") from None
        with self._lock:
            self._targets[connection.id] = target
        return target

    # -- the catalog ------------------------------------------------------------------

    def tables(self, connection: Connection, refresh: bool = False) -> list[TableInfo]:
        """The connection's tables and views, from the cache unless stale or `refresh`."""
        if not refresh and connection.listed_at is not None and not self._stale(connection.listed_at):
            return self.cached_tables(connection)
        with self._lock:
            failed = self._failed_listing.get(connection.id)
        if not refresh and failed is not None and time.monotonic() - failed[0] < LISTING_RETRY_S:
            raise failed[1]
        try:
            tables = self._list(connection, self.target(connection))
        except QueryError as error:
            with self._lock:
                self._failed_listing[connection.id] = (time.monotonic(), error)
            raise
        with self._lock:
            self._failed_listing.pop(connection.id, None)
        with self.db.write() as tx:
            self._store_tables(tx, connection.id, tables)
        return tables

    def cached_tables(self, connection: Connection) -> list[TableInfo]:
        rows = self.db.rows(
            "SELECT * FROM connection_tables WHERE connection_id = ? ORDER BY schema_name, table_name",
            [connection.id],
        )
        return [
            TableInfo(r["schema_name"], r["table_name"], r["table_type"] or "table", loads(r["columns"], []))
            for r in rows
        ]

    def table(self, connection: Connection, schema: str, name: str) -> TableInfo | None:
        """A table by name as written (exact match first, then ignoring case); None if not there."""
        try:
            tables = self.tables(connection)
        except QueryError:
            tables = self.cached_tables(connection)
        exact = [t for t in tables if t.schema == schema and t.name == name]
        loose = [t for t in tables if t.schema.lower() == schema.lower() and t.name.lower() == name.lower()]
        return exact[0] if exact else (loose[0] if len(loose) == 1 else None)

    def forget_tables(self, connection: Connection) -> None:
        """Look the tables up again next time (e.g. after one was found dropped)."""
        with self.db.write() as tx:
            tx.execute("UPDATE connections SET listed_at = NULL WHERE id = ?", [connection.id])

    def _stale(self, listed_at: str) -> bool:
        when = datetime.fromisoformat(listed_at.replace("Z", "+00:00"))
        return (datetime.now(UTC) - when).total_seconds() > self.settings.catalog_ttl_s

    def _list(self, connection: Connection, target: Target) -> list[TableInfo]:
        timeout = self.time_limit
        with self._failures(connection, target, timeout):
            return self.pool.tables(connection.id, target, timeout)

    def _store_tables(self, tx: Any, connection_id: str, tables: Sequence[TableInfo]) -> None:
        tx.execute("DELETE FROM connection_tables WHERE connection_id = ?", [connection_id])
        tx.table("connection_tables").insert_all(
            {
                "connection_id": connection_id,
                "schema_name": t.schema,
                "table_name": t.name,
                "table_type": t.kind,
                "columns": dumps(t.columns),
            }
            for t in tables
        )
        tx.execute("UPDATE connections SET listed_at = ? WHERE id = ?", [utcnow(), connection_id])

    # -- queries ---------------------------------------------------------------------

    def query(
        self, connection: Connection, sql: str, params: Sequence[Any] | dict[str, Any], board_id: str | None
    ) -> pa.Table:
        """One read-only query on the connection, as Arrow; `QueryError` naming it on failure.

        Whatever the database does, this returns or fails within the time limit plus
        `ABANDON_AFTER_S` (see `pool`).
        """
        target = self.target(connection)
        timeout = self.time_limit
        with self._failures(connection, target, timeout):
            return self.pool.query(connection.id, target, sql, params, timeout, board_id)

    @contextmanager
    def _failures(self, connection: Connection, target: Target, timeout: float) -> Iterator[None]:
        """`RemoteFailure` inside becomes `RemoteQueryError` naming the connection."""
        try:
            yield
        except RemoteFailure as failure:
            if failure.kind == "missing_table":
                self.forget_tables(connection)
            raise RemoteQueryError(connection.name, failure, target, timeout) from None

    def cancel(self, board_id: str | None = None) -> int:
        """Stop the running queries of one board (or all); never waits on a database."""
        return self.pool.cancel(board_id)

    def close(self) -> None:
        """Kill the running queries' workers and close every kept session."""
        self.pool.close()


class RemoteQueryError(QueryError):
    """A connected database's failure, in words that name the connection and hold no secret."""

    def __init__(self, name: str, failure: RemoteFailure, target: Target, timeout: float) -> None:
        detail = scrub(failure.detail, target.secrets)
        what = {
            "connect": f"could not connect: {detail}",
            "lost": f"the connection was lost: {detail}",
            "missing_table": f"{detail} (dropped or renamed? the catalog lists the tables there now)",
            "timeout": f"the query ran longer than the time limit of {timeout:g} s and was cancelled",
        }.get(failure.kind, detail)
        if failure.kind == "timeout" and "user request" in detail:
            what = "the query was cancelled"
        super().__init__(f"connection {name!r}: {what}")
        self.kind = failure.kind
        self.connection = name


class ResultCache:
    """What was read from connections, by (board, refresh epoch, connection, SQL, values): an LRU in memory.

    Viewers' overrides of a published dashboard read from here instead of the
    warehouse; a refresh starts a new epoch, so nothing older is served after it.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, pa.Table] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> pa.Table | None:
        with self._lock:
            table = self._items.get(key)
            if table is not None:
                self._items.move_to_end(key)
            return table

    def put(self, key: str, table: pa.Table) -> None:
        size = table.nbytes
        if size > self.max_bytes // 4:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._items[key] = table
            self._bytes += size
            while self._bytes > self.max_bytes and self._items:
                _key, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.nbytes
