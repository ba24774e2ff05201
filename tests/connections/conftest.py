"""Fixtures: a real PostgreSQL started for this session, real SQLite and DuckDB files, and
workspaces connected to them.

No PostgreSQL means failure with the install command, never a skip: CI installs the server
binaries (see .ci/run and the README).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ballast_tui.config import Settings
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient
from tests.pg_server import PostgresMissing, PostgresServer

# The reader's password: characters that must be percent-encoded in a URL, so every spelling counts.
SECRET = "Sup3r/s3cr3t:p@ss#word"
READER = "reader"

ORDERS = """
CREATE TABLE sales.orders (
    id integer PRIMARY KEY,
    region text NOT NULL,
    amount numeric(10, 2) NOT NULL,
    ordered_on date NOT NULL
)"""
ORDER_ROWS = """
INSERT INTO sales.orders
SELECT g, CASE WHEN g % 3 = 0 THEN 'us' WHEN g % 3 = 1 THEN 'eu' ELSE 'apac' END,
       g * 1.25, DATE '2026-01-01' + g
FROM generate_series(1, 30) AS g"""


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session, with a read-only role and a `sales.orders` table."""
    try:
        server = PostgresServer().start()
    except PostgresMissing as missing:
        pytest.fail(str(missing), pytrace=False)
    try:
        server.create_role(READER, SECRET)
        server.execute("CREATE SCHEMA sales", ORDERS, ORDER_ROWS)
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """The reader's URL, password percent-encoded."""
    return postgres.url(READER, SECRET)


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    """An app database: `users` (id, name, region, score)."""
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, region TEXT, score INTEGER)")
        con.executemany(
            "INSERT INTO users VALUES (?, ?, ?, ?)",
            [(1, "ann", "eu", 10), (2, "bob", "us", 20), (3, "cai", "eu", 30), (4, "dee", "apac", 40)],
        )
    return path


@pytest.fixture
def duckdb_file(tmp_path: Path) -> Path:
    """A DuckDB warehouse file: `analytics.visits` (day, region, visits)."""
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA analytics")
    con.execute(
        "CREATE TABLE analytics.visits AS SELECT DATE '2026-01-01' + i::INT AS day, "
        "['eu', 'us'][i % 2 + 1] AS region, i * 10 AS visits FROM range(10) t(i)"
    )
    con.close()
    return path


@pytest.fixture
def make_ws(tmp_path: Path) -> Iterator[Callable[..., Workspace]]:
    """Factory: a workspace (settings as given) closed at the end."""
    opened: list[Workspace] = []

    def make(name: str = "ws", **settings: Any) -> Workspace:
        ws = Workspace(tmp_path / name, Settings(**settings))
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.close()


@pytest.fixture
def admin(call: ToolClient) -> ToolClient:
    """The workspace's first user (the OS user who opened it): an administrator."""
    assert call.user.is_admin
    return call


@pytest.fixture
def wh(admin: ToolClient, pg_url: str) -> str:
    """The PostgreSQL database connected as `wh`."""
    admin("connection_add", name="wh", url=pg_url, grant=["*"])
    return "wh"


def add_sql(call: ToolClient, board: str, name: str, sql: str, **config: Any) -> dict[str, Any]:
    """Add a SQL block; the answer (block and cascade)."""
    return call(
        "dashboard_add_block", dashboard_id=board, type="sql", name=name, config={"sql": sql, **config}
    )


def last_run(call: ToolClient, board: str, block: str) -> dict[str, Any]:
    return call("dashboard_runs", dashboard_id=board, block_id=block, limit=1)["runs"][0]


def rows(call: ToolClient, board: str, block: str) -> list[dict[str, Any]]:
    return call("dashboard_block_data", dashboard_id=board, block_id=block, limit=1000)["rows"]  # type: ignore[no-any-return]
