"""Sessions on connected databases, each answering Arrow: PostgreSQL and SQLite through ADBC,
DuckDB files through a second, read-only DuckDB.

Every session only reads. PostgreSQL sessions run each query in a transaction
that is read-only by default (``default_transaction_read_only``) and rolled
back afterwards, so not even a setting a query changes outlives it; SQLite
files are opened with ``mode=ro``; DuckDB files with ``read_only`` and the same
sandbox as the boards' own DuckDB (no file access, no extensions, locked
configuration).

Sessions live in query worker processes (`worker`), which the engine can kill
whatever a session waits on. Driver errors become `RemoteFailure`, sorted into
what a user can act on. Their text may still hold a secret: the caller scrubs it.
"""

from __future__ import annotations

import contextlib
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args
from urllib.parse import quote

import duckdb
import pyarrow as pa

from ballast_tui.engine.remote.arrow import normalize
from ballast_tui.engine.remote.urls import Target

FailureKind = Literal[
    "connect",
    "lost",
    "missing_table",
    "timeout",
    "untranslatable",
    "query",
    "abandoned",
    "cancelled",
    "worker",
]
FAILURE_KINDS: frozenset[str] = frozenset(get_args(FailureKind))
Params = Sequence[Any] | Mapping[str, Any]

# PostgreSQL SQLSTATEs that say "this SQL is not what I speak", where a translated query may fall back.
_UNTRANSLATABLE_STATES = frozenset({"42601", "42883", "42803", "42804", "42846", "42725", "0A000", "42P18"})
_MISSING_STATES = frozenset({"42P01", "3F000"})
_LOST_STATES = frozenset({"57P01", "57P02", "57P03"})
_LOST_WORDS = ("server closed the connection", "no connection to the server", "terminating connection")
# Every table, view and materialized view the role may read, with its columns, in one query.
_PG_TABLES = """
SELECT n.nspname::text AS schema_name, c.relname::text AS table_name, c.relkind::text AS relkind,
       a.attname::text AS column_name, t.typname::text AS type_name
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND has_table_privilege(c.oid, 'SELECT')
ORDER BY 1, 2, a.attnum"""
_PG_KINDS = {"v": "view", "m": "materialized view", "f": "foreign table"}
_SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})
_PG_TYPES = {
    "int2": "SMALLINT",
    "int4": "INTEGER",
    "int8": "BIGINT",
    "float4": "FLOAT",
    "float8": "DOUBLE",
    "numeric": "DECIMAL",
    "bool": "BOOLEAN",
    "text": "VARCHAR",
    "varchar": "VARCHAR",
    "bpchar": "VARCHAR",
    "name": "VARCHAR",
    "date": "DATE",
    "time": "TIME",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMP WITH TIME ZONE",
    "bytea": "BLOB",
    "uuid": "UUID",
    "json": "JSON",
    "jsonb": "JSON",
    "interval": "INTERVAL",
}


class RemoteFailure(Exception):
    """A connected database refused or failed; `detail` is the database's own words (unscrubbed).

    Besides the database's failures: ``abandoned`` (no answer by the deadline: the worker running it
    was killed), ``cancelled`` (someone stopped it), ``worker`` (the process running it died).
    """

    def __init__(self, kind: FailureKind, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def failure_kind(text: object) -> FailureKind:
    """A kind named in a worker's answer (``query`` for anything unknown)."""
    return cast(FailureKind, text) if text in FAILURE_KINDS else "query"


def can_interrupt(driver: str) -> bool:
    """Whether a running query of `driver` can be interrupted (ADBC's SQLite driver cannot)."""
    return driver != "sqlite"


@dataclass(frozen=True)
class TableInfo:
    """A table or view a connection exposes, with its columns (``{"name", "type"}``)."""

    schema: str
    name: str
    kind: str
    columns: list[dict[str, str]]


class Session(ABC):
    """One open connection; used by one thread at a time (in a worker process: see `worker`)."""

    @abstractmethod
    def query(self, sql: str, params: Params) -> pa.Table:
        """Run one read-only query with bound parameters; its rows as Arrow."""

    @abstractmethod
    def tables(self) -> list[TableInfo]:
        """Every user table and view, with columns."""

    @abstractmethod
    def cancel(self) -> None:
        """Interrupt the running query, from another thread."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""


def open_session(target: Target, threads: int, memory_limit: str) -> Session:
    """A session on `target`; `RemoteFailure` of kind ``connect`` when it cannot be opened."""
    if target.driver == "postgresql":
        return _PostgresSession(target)
    if target.driver == "sqlite":
        return _SqliteSession(target)
    return _DuckdbSession(target, threads, memory_limit)


# --- ADBC ----------------------------------------------------------------------------


def _primary_message(error: Exception) -> str:
    """The database's message without the driver's prefixes and the echoed query."""
    for key, value in getattr(error, "details", None) or []:
        if key == b"PG_DIAG_MESSAGE_PRIMARY" and value:
            return bytes(value).decode(errors="replace")
    text = str(error)
    text = re.split(r"\n\s*(?:Query was:|query:)", text, maxsplit=1)[0]
    text = re.sub(r"^[A-Z_]+: ", "", text)
    text = re.sub(r"^\[(?:libpq|SQLite)\] ", "", text)
    text = re.sub(
        r"^(?:Failed to (?:connect|prepare query|execute query[^:]*)|Execution error[^:]*): ", "", text
    )
    text = re.sub(r"^(?:could not begin COPY: )?(?:ERROR|FATAL):\s+", "", text)
    text = re.sub(r"\.?\s*SQLSTATE: \w+\s*$", "", text)
    return " ".join(text.split()) or type(error).__name__


def _classify_adbc(error: Exception) -> RemoteFailure:
    sqlstate = getattr(error, "sqlstate", None) or ""
    message = _primary_message(error)
    lowered = message.lower()
    if sqlstate in _MISSING_STATES or "no such table" in lowered:
        return RemoteFailure("missing_table", message)
    if sqlstate == "57014":
        return RemoteFailure("timeout", message)
    if sqlstate.startswith("08") or sqlstate in _LOST_STATES or any(w in lowered for w in _LOST_WORDS):
        return RemoteFailure("lost", message)
    if (
        sqlstate in _UNTRANSLATABLE_STATES
        or "no such function" in lowered
        or lowered.startswith(("near ", "syntax error"))
    ):
        return RemoteFailure("untranslatable", message)
    return RemoteFailure("query", message)


def _objects(connection: Any, schema_for: str | None = None) -> list[TableInfo]:
    """Tables and views from ADBC's GetObjects (``schema_for`` names schema-less catalogs)."""
    found: list[TableInfo] = []
    for catalog in connection.adbc_get_objects(depth="columns").read_all().to_pylist():
        for schema in catalog["catalog_db_schemas"] or []:
            schema_name = schema["db_schema_name"] or schema_for or catalog["catalog_name"] or ""
            if schema_name in _SYSTEM_SCHEMAS or schema_name.startswith("pg_temp"):
                continue
            for table in schema["db_schema_tables"] or []:
                columns = sorted(table["table_columns"] or [], key=lambda c: c.get("ordinal_position") or 0)
                found.append(
                    TableInfo(
                        schema_name,
                        table["table_name"],
                        str(table["table_type"] or "table").lower(),
                        [
                            {"name": c["column_name"], "type": _type_name(c.get("xdbc_type_name"))}
                            for c in columns
                        ],
                    )
                )
    return sorted(found, key=lambda t: (t.schema, t.name))


def _type_name(native: str | None) -> str:
    if not native:
        return "ANY"
    return _PG_TYPES.get(native.lower(), native.upper())


class _PostgresSession(Session):
    def __init__(self, target: Target) -> None:
        import adbc_driver_postgresql.dbapi as postgresql

        try:
            self._con = postgresql.connect(target.uri, autocommit=False)
        except Exception as error:  # the driver's errors share no base class worth naming here
            raise RemoteFailure("connect", _primary_message(error)) from None
        self._cursor: Any = None

    def query(self, sql: str, params: Params) -> pa.Table:
        cursor = self._cursor = self._con.cursor()
        try:
            cursor.execute(sql, list(params) or None)
            return normalize(cursor.fetch_arrow_table())
        except Exception as error:
            raise _classify_adbc(error) from None
        finally:
            self._cursor = None
            self._rollback()
            cursor.close()

    def tables(self) -> list[TableInfo]:
        rows = self.query(_PG_TABLES, []).to_pylist()
        found: dict[tuple[str, str], TableInfo] = {}
        for row in rows:
            key = (row["schema_name"], row["table_name"])
            kind = _PG_KINDS.get(row["relkind"], "table")
            info = found.setdefault(key, TableInfo(key[0], key[1], kind, []))
            native = row["type_name"]
            is_array = native.startswith("_")
            name = _type_name(native[1:] if is_array else native)
            info.columns.append({"name": row["column_name"], "type": f"{name}[]" if is_array else name})
        return list(found.values())

    def _rollback(self) -> None:
        with contextlib.suppress(Exception):  # a lost connection is found out by the next query
            self._con.rollback()

    def cancel(self) -> None:
        cursor = self._cursor
        if cursor is not None:
            cursor.adbc_cancel()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._con.close()


class _SqliteSession(Session):
    # ADBC's SQLite driver cannot interrupt a query: its worker process is killed instead.

    def __init__(self, target: Target) -> None:
        import adbc_driver_sqlite.dbapi as sqlite

        path = Path(target.uri)
        if not _is_file(path):
            raise RemoteFailure("connect", f"there is no SQLite file at {path}")
        try:
            self._con = sqlite.connect(f"file:{quote(str(path), safe='/')}?mode=ro")
        except Exception as error:
            raise RemoteFailure("connect", _primary_message(error)) from None

    def query(self, sql: str, params: Params) -> pa.Table:
        cursor = self._con.cursor()
        try:
            cursor.execute(sql, list(params) or None)
            return normalize(cursor.fetch_arrow_table())
        except Exception as error:
            raise _classify_adbc(error) from None
        finally:
            cursor.close()

    def tables(self) -> list[TableInfo]:
        try:
            return _objects(self._con, schema_for="main")
        except Exception as error:
            raise _classify_adbc(error) from None

    def cancel(self) -> None:
        pass

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._con.close()


# --- DuckDB files -----------------------------------------------------------------------


class _DuckdbSession(Session):
    def __init__(self, target: Target, threads: int, memory_limit: str) -> None:
        path = Path(target.uri)
        if not _is_file(path):
            raise RemoteFailure("connect", f"there is no DuckDB file at {path}")
        try:
            self._con = duckdb.connect(
                str(path),
                read_only=True,
                config={
                    "autoinstall_known_extensions": False,
                    "autoload_known_extensions": False,
                    "python_enable_replacements": False,
                    "enable_external_access": False,
                    "memory_limit": memory_limit,
                    "temp_directory": "",
                    "threads": threads,
                },
            )
            self._con.execute("SET lock_configuration = true")
        except duckdb.Error as error:
            raise RemoteFailure("connect", _first_line(error)) from None

    def query(self, sql: str, params: Params) -> pa.Table:
        try:
            return normalize(self._con.sql(sql, params=dict(params) or None).to_arrow_table())
        except duckdb.InterruptException:
            raise RemoteFailure("timeout", "the query was interrupted") from None
        except duckdb.CatalogException as error:
            kind: FailureKind = "missing_table" if "does not exist" in str(error) else "query"
            raise RemoteFailure(kind, _first_line(error)) from None
        except duckdb.Error as error:
            raise RemoteFailure("query", _first_line(error)) from None

    def tables(self) -> list[TableInfo]:
        rows = self._con.execute(
            """
            SELECT t.table_schema, t.table_name, t.table_type, c.column_name, c.data_type
            FROM information_schema.tables t
            JOIN information_schema.columns c USING (table_catalog, table_schema, table_name)
            WHERE t.table_catalog = current_database()
              AND t.table_schema NOT IN ('information_schema', 'pg_catalog')
            ORDER BY t.table_schema, t.table_name, c.ordinal_position"""
        ).fetchall()
        found: dict[tuple[str, str], TableInfo] = {}
        for schema, name, kind, column, column_type in rows:
            info = found.setdefault(
                (schema, name), TableInfo(schema, name, "view" if kind == "VIEW" else "table", [])
            )
            info.columns.append({"name": column, "type": column_type})
        return list(found.values())

    def cancel(self) -> None:
        self._con.interrupt()

    def close(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self._con.close()


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, say
        return False


def _first_line(error: Exception) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
