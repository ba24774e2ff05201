"""The `remote_query_timeout_s` setting: a query on a connected database is stopped at its own limit,
apart from the engine's `query_timeout_s`; unset, it follows `query_timeout_s`."""

from __future__ import annotations

import time
from pathlib import Path

from ballast_tui.engine.workspace import Workspace
from ballast_tui.settings import load_settings
from tests.conftest import ToolClient
from tests.connections.conftest import add_sql
from tests.connections.test_refresh_and_failures import error_of
from tests.connections.test_unresponsive import RUNAWAY


def runaway_error(root: Path, duckdb_file: Path) -> tuple[str, float]:
    """Run a query that never ends on a connected DuckDB file; its error and how long it took."""
    with Workspace(root, load_settings(root, environ={}).engine()) as ws:
        admin = ToolClient(ws, ws.users.local())
        admin("connection_add", name="app", url=f"duckdb://{duckdb_file}", grant=["*"])
        board = admin("dashboard_create", title="runaway")["dashboard"]["id"]
        started = time.monotonic()
        message = error_of(add_sql(admin, board, "counting", RUNAWAY["duckdb"]))
        took = time.monotonic() - started
        assert add_sql(admin, board, "local", "SELECT 1 AS one")["block"]["state"] == "success"
        return message, took


def test_the_remote_limit_from_ballast_toml_stops_a_connected_query(
    tmp_path: Path, duckdb_file: Path
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "ballast.toml").write_text("query_timeout_s = 300\nremote_query_timeout_s = 1\n")
    message, took = runaway_error(root, duckdb_file)
    assert message == "connection 'app': the query ran longer than the time limit of 1 s and was cancelled"
    assert took < 1 + 5


def test_without_it_the_connected_query_follows_the_engine_limit(tmp_path: Path, duckdb_file: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "ballast.toml").write_text("query_timeout_s = 1.5\n")
    message, took = runaway_error(root, duckdb_file)
    assert message == "connection 'app': the query ran longer than the time limit of 1.5 s and was cancelled"
    assert took < 1.5 + 5
