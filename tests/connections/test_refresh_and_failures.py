"""Connected data is cached per dashboard until a refresh; failures name the connection and never
its secret."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from ballast_tui.engine.context import Context
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import load_registry
from tests.conftest import ToolClient
from tests.connections.conftest import SECRET, add_sql, last_run, rows
from tests.connections.test_connection_tools import assert_no_secret, database_bytes
from tests.connections.test_pushdown import executed
from tests.pg_server import PostgresServer, free_port


@pytest.fixture
def events_table(postgres: PostgresServer) -> str:
    """A fresh table `sales.events_<n>` the test may change."""
    name = f"sales.events_{time.monotonic_ns()}"
    postgres.execute(
        f"CREATE TABLE {name} (id int, kind text)", f"INSERT INTO {name} VALUES (1, 'a'), (2, 'b')"
    )
    return name


def test_refresh_reads_connected_tables_anew(
    admin: ToolClient, board: str, wh: str, postgres: PostgresServer, events_table: str
) -> None:
    admin(
        "dashboard_add_block",
        dashboard_id=board,
        type="param-enum",
        name="kind",
        config={"options": ["a", "b"]},
    )
    add_sql(
        admin,
        board,
        "counted",
        f"SELECT count(*) AS n FROM wh.{events_table} WHERE kind = $kind",
        inputs=["kind"],
    )
    admin("dashboard_set_displayed", dashboard_id=board, block_id="counted", displayed=True)
    assert rows(admin, board, "counted") == [{"n": 1}]
    postgres.execute(f"INSERT INTO {events_table} VALUES (3, 'a')")
    # Until a refresh, the dashboard shows what it read, like any output: back on "a", the
    # earlier run is reused without asking the warehouse.
    admin("dashboard_set_control", dashboard_id=board, block_id="kind", value="b")
    back = admin("dashboard_set_control", dashboard_id=board, block_id="kind", value="a")
    assert back["cascade"]["reused"] and rows(admin, board, "counted") == [{"n": 1}]
    # A refresh reads the warehouse again.
    refreshed = admin("dashboard_refresh", dashboard_id=board)
    assert refreshed["cascade"]["failed"] == []
    assert rows(admin, board, "counted") == [{"n": 2}]
    run = last_run(admin, board, "counted")
    assert run["trigger"] == "refresh" and run["remote"][0]["cached"] is False


def test_published_dashboard_does_not_query_the_warehouse_per_viewer(
    ws: Workspace, admin: ToolClient, board: str, wh: str, postgres: PostgresServer
) -> None:
    admin(
        "dashboard_add_block",
        dashboard_id=board,
        type="param-enum",
        name="region",
        config={"options": ["eu", "us", "apac"]},
    )
    add_sql(
        admin,
        board,
        "per_region",
        "SELECT count(*) AS viewers_see FROM wh.sales.orders WHERE region = $region",
        inputs=["region"],
    )
    for name in ("region", "per_region"):
        admin("dashboard_set_displayed", dashboard_id=board, block_id=name, displayed=True)
    slug = admin("dashboard_publish", dashboard_id=board)["slug"]
    marker = "AS viewers_see FROM sales.orders"
    before = len(executed(postgres, marker))
    for _viewer in range(5):
        plain = load_registry().call(Context.anonymous(ws), "public_dashboard", {"slug": slug})
        assert [b["rows"] for b in plain["dashboard"]["blocks"] if b["name"] == "per_region"] == [
            [{"viewers_see": 10}]
        ]
    assert len(executed(postgres, marker)) == before  # stored outputs: no query at all
    for _viewer in range(5):
        chosen = load_registry().call(
            Context.anonymous(ws), "public_dashboard", {"slug": slug, "filter_overrides": {"region": "us"}}
        )
        assert [b["rows"] for b in chosen["dashboard"]["blocks"] if b["name"] == "per_region"] == [
            [{"viewers_see": 10}]
        ]
    assert len(executed(postgres, marker)) == before + 1  # one query for five viewers of "us"
    admin("dashboard_refresh", dashboard_id=board)
    load_registry().call(
        Context.anonymous(ws), "public_dashboard", {"slug": slug, "filter_overrides": {"region": "us"}}
    )
    assert len(executed(postgres, marker)) == before + 3  # the refresh, then "us" read once more


def error_of(answer: dict[str, object]) -> str:
    block = answer["block"]
    assert isinstance(block, dict) and block["state"] == "error", block
    return str(block["error"])


def test_wrong_password_gives_an_error_run_naming_the_connection(
    admin: ToolClient, board: str, postgres: PostgresServer
) -> None:
    admin("connection_add", name="wh", url=postgres.url("reader", SECRET + "x"), check=False, grant=["*"])
    message = error_of(add_sql(admin, board, "sales", "SELECT * FROM wh.sales.orders"))
    assert message.startswith("connection 'wh': could not connect")
    assert 'password authentication failed for user "reader"' in message
    assert_no_secret(message)
    run = last_run(admin, board, "sales")
    assert run["status"] == "error" and run["error"] == message


def test_unreachable_database_gives_an_error_run_naming_the_connection(admin: ToolClient, board: str) -> None:
    url = f"postgresql://reader:{quote(SECRET, safe='')}@127.0.0.1:{free_port()}/postgres"
    admin("connection_add", name="gone", url=url, check=False, grant=["*"])
    message = error_of(add_sql(admin, board, "sales", "SELECT * FROM gone.sales.orders"))
    assert message.startswith("connection 'gone': could not connect") and "Connection refused" in message
    assert_no_secret(message)
    assert url not in message


def test_dropped_table_gives_an_error_run_and_leaves_the_catalog(
    admin: ToolClient, board: str, wh: str, postgres: PostgresServer, events_table: str
) -> None:
    add_sql(admin, board, "kinds", f"SELECT kind FROM wh.{events_table} ORDER BY kind")
    admin("dashboard_set_displayed", dashboard_id=board, block_id="kinds", displayed=True)
    assert rows(admin, board, "kinds") == [{"kind": "a"}, {"kind": "b"}]
    postgres.execute(f"DROP TABLE {events_table}")
    result = admin("dashboard_refresh", dashboard_id=board)
    assert len(result["cascade"]["failed"]) == 1
    run = last_run(admin, board, "kinds")
    assert run["status"] == "error" and run["trigger"] == "refresh"
    assert run["error"].startswith("connection 'wh': relation ")
    assert "does not exist" in run["error"] and "dropped or renamed" in run["error"]
    names = {s["name"] for s in admin("catalog_list", dashboard_id=board)["sources"]}
    assert f"wh.{events_table}" not in names and "wh.sales.orders" in names


def test_query_timeout_gives_an_error_run_and_the_engine_stays_responsive(
    make_ws: Callable[..., Workspace], pg_url: str
) -> None:
    ws = make_ws("slow", query_timeout_s=1.0)
    admin = ToolClient(ws, ws.users.local())
    admin("connection_add", name="wh", url=pg_url, grant=["*"])
    board = admin("dashboard_create", title="slow")["dashboard"]["id"]
    started = time.monotonic()
    message = error_of(
        add_sql(admin, board, "sleepy", "SELECT pg_sleep(5) AS slept FROM wh.sales.orders LIMIT 1")
    )
    assert time.monotonic() - started < 4
    assert message == "connection 'wh': the query ran longer than the time limit of 1 s and was cancelled"
    quick = add_sql(admin, board, "quick", "SELECT count(*) AS n FROM wh.sales.orders")
    assert quick["block"]["state"] == "success"


def test_sqlite_timeout_stops_waiting_even_though_it_cannot_be_interrupted(
    make_ws: Callable[..., Workspace], sqlite_file: Path
) -> None:
    ws = make_ws("slow-sqlite", query_timeout_s=1.0)
    admin = ToolClient(ws, ws.users.local())
    admin("connection_add", name="app", url=f"sqlite://{sqlite_file}", grant=["*"])
    board = admin("dashboard_create", title="slow")["dashboard"]["id"]
    started = time.monotonic()
    message = error_of(
        add_sql(
            admin,
            board,
            "counting",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000000) "
            "SELECT count(*) AS n FROM c, app.main.users",
        )
    )
    assert time.monotonic() - started < 3
    assert message == "connection 'app': the query ran longer than the time limit of 1 s and was cancelled"


def test_the_secret_never_appears_in_answers_logs_audit_or_runs(
    ws: Workspace,
    admin: ToolClient,
    board: str,
    postgres: PostgresServer,
    pg_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    answers = [
        admin("connection_add", name="wh", url=pg_url, grant=["*"]),
        admin(
            "connection_add", name="bad", url=postgres.url("reader", SECRET + "!"), check=False, grant=["*"]
        ),
        admin("connection_list", refresh=True),
        admin("catalog_list", dashboard_id=board),
        add_sql(admin, board, "ok", "SELECT count(*) AS n FROM wh.sales.orders"),
        add_sql(admin, board, "broken", "SELECT * FROM bad.sales.orders"),
        admin("dashboard_refresh", dashboard_id=board),
        admin("dashboard_runs", dashboard_id=board, block_id="broken"),
        admin("dashboard_audit", dashboard_id=board),
    ]
    text = json.dumps(answers)
    assert "could not connect" in text  # the failure is there, in words ...
    assert_no_secret(text)  # ... and the secret is not
    assert_no_secret(caplog.text)
    assert_no_secret(json.dumps(ws.db.rows("SELECT * FROM audit")))
    assert_no_secret(json.dumps(ws.db.rows("SELECT id, error, remote FROM runs")))
    assert_no_secret(database_bytes(ws))
    assert pg_url not in text and pg_url not in caplog.text
