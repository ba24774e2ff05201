"""Connected tables in the catalog, read by SQL blocks: pushed down whole, or pulled once each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ballast_tui.engine.errors import ToolError
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient
from tests.connections.conftest import add_sql, last_run, rows
from tests.pg_server import PostgresServer


def executed(postgres: PostgresServer, fragment: str) -> list[str]:
    """The statements the server executed that contain `fragment`, each with its bound parameters."""
    log = postgres.log_text()
    found = []
    for match in re.finditer(
        r"LOG:  (?:execute <unnamed>|statement): (.*?)\n(?:.*DETAIL:  (parameters: .*)\n)?", log
    ):
        if fragment in match.group(1):
            found.append(match.group(1) + (f"  [{match.group(2)}]" if match.group(2) else ""))
    return found


def test_catalog_lists_each_connection_table_with_columns_looked_up_lazily(
    ws: Workspace, admin: ToolClient, board: str, pg_url: str, sqlite_file: Path, postgres: PostgresServer
) -> None:
    admin("connection_add", name="wh", url=pg_url, check=False, grant=["*"])
    admin("connection_add", name="app", url=f"sqlite://{sqlite_file}", check=False, grant=["*"])
    assert all(c["tables"] is None for c in admin("connection_list")["connections"])  # nothing looked up yet
    catalog = admin("catalog_list", dashboard_id=board)
    by_name = {s["name"]: s for s in catalog["sources"]}
    orders = by_name["wh.sales.orders"]
    assert (
        orders["kind"] == "connection" and orders["connection"] == "wh" and orders["format"] == "postgresql"
    )
    assert orders["columns"] == [
        {"name": "id", "type": "INTEGER"},
        {"name": "region", "type": "VARCHAR"},
        {"name": "amount", "type": "DECIMAL"},
        {"name": "ordered_on", "type": "DATE"},
    ]
    assert by_name["app.main.users"]["columns"][:2] == [
        {"name": "id", "type": "INTEGER"},
        {"name": "name", "type": "VARCHAR"},
    ]
    assert {c["name"]: c["tables"] for c in catalog["connections"]}["app"] == 1
    # Cached: a table created since is not seen until the list is looked up again.
    postgres.execute("CREATE TABLE sales.returns (order_id int, reason text)")
    try:
        assert "wh.sales.returns" not in {
            s["name"] for s in admin("catalog_list", dashboard_id=board)["sources"]
        }
        admin("connection_list", refresh=True)
        assert "wh.sales.returns" in {s["name"] for s in admin("catalog_list", dashboard_id=board)["sources"]}
    finally:
        postgres.execute("DROP TABLE sales.returns")


def test_block_reading_one_connection_runs_there_and_the_run_shows_the_sql_sent(
    admin: ToolClient, board: str, wh: str, postgres: PostgresServer
) -> None:
    answer = add_sql(
        admin,
        board,
        "by_region",
        "SELECT region, count(*) AS orders, sum(amount) AS revenue\n"
        "FROM wh.sales.orders GROUP BY ALL ORDER BY region",
    )
    assert answer["block"]["state"] == "success", answer["block"]["error"]
    assert rows(admin, board, "by_region") == [
        {"region": "apac", "orders": 10, "revenue": 193.75},
        {"region": "eu", "orders": 10, "revenue": 181.25},
        {"region": "us", "orders": 10, "revenue": 206.25},
    ]
    [sent] = last_run(admin, board, "by_region")["remote"]
    assert sent["connection"] == "wh" and sent["mode"] == "pushdown" and sent["rows"] == 3
    # Translated for PostgreSQL: no connection name, GROUP BY ALL spelled out.
    assert sent["sql"] == (
        "SELECT region, COUNT(*) AS orders, SUM(amount) AS revenue FROM sales.orders "
        "GROUP BY 1 ORDER BY region"
    )
    # Only the aggregate travelled: the server ran the whole query.
    assert executed(postgres, "SUM(amount) AS revenue FROM sales.orders")
    catalog = {s["name"]: s for s in admin("catalog_list", dashboard_id=board)["sources"]}
    assert catalog["by_region"]["row_count"] == 3
    upstream = admin("dashboard_get", dashboard_id=board)["dashboard"]["blocks"][0]["upstream"]
    assert upstream == ["wh.sales.orders"]


def test_bound_parameters_stay_parameters_on_the_remote_side(
    admin: ToolClient, board: str, wh: str, postgres: PostgresServer
) -> None:
    admin(
        "dashboard_add_block",
        dashboard_id=board,
        type="param-enum",
        name="region",
        config={"options": ["eu", "us", "apac"], "default": "eu"},
    )
    admin(
        "dashboard_add_block",
        dashboard_id=board,
        type="filter-daterange",
        name="period",
        config={"default": {"start": "2026-01-05", "end": "2026-01-20"}},
    )
    add_sql(
        admin,
        board,
        "picked",
        "SELECT count(*) AS n, min(ordered_on) AS first FROM wh.sales.orders "
        "WHERE region = $region AND ordered_on BETWEEN $period_start AND $period_end",
        inputs=["region", "period"],
    )
    assert rows(admin, board, "picked") == [{"n": 6, "first": "2026-01-05"}]
    [sent] = last_run(admin, board, "picked")["remote"]
    assert sent["params"] == ["region", "period_start", "period_end"]
    assert "region = $1" in sent["sql"] and "BETWEEN $2 AND $3" in sent["sql"]
    assert "'eu'" not in sent["sql"]
    statements = executed(postgres, "BETWEEN $2 AND $3")
    assert statements and "$1 = 'eu', $2 = '2026-01-05', $3 = '2026-01-20'" in statements[-1]
    admin("dashboard_set_control", dashboard_id=board, block_id="region", value="us")
    assert rows(admin, board, "picked") == [{"n": 5, "first": "2026-01-07"}]
    assert "$1 = 'us'" in executed(postgres, "BETWEEN $2 AND $3")[-1]


def test_block_mixing_a_connection_with_local_data_pulls_the_remote_table_once_filtered(
    admin: ToolClient, board: str, wh: str
) -> None:
    admin(
        "catalog_push",
        dashboard_id=board,
        name="targets",
        rows=[{"region": "eu", "goal": 100}, {"region": "us", "goal": 150}],
    )
    answer = add_sql(
        admin,
        board,
        "versus_target",
        "SELECT o.region, sum(o.amount) AS revenue, any_value(t.goal) AS goal,\n"
        "       (SELECT count(*) FROM wh.sales.orders) AS all_orders\n"
        "FROM wh.sales.orders o JOIN targets t ON t.region = o.region\n"
        "WHERE o.amount > 10 AND o.region IN ('eu', 'us') GROUP BY ALL ORDER BY 1",
    )
    assert answer["block"]["state"] == "success", answer["block"]["error"]
    assert rows(admin, board, "versus_target") == [
        {"region": "eu", "revenue": 166.25, "goal": 100, "all_orders": 30},
        {"region": "us", "revenue": 195.0, "goal": 150, "all_orders": 30},
    ]
    [pulled] = last_run(admin, board, "versus_target")["remote"]
    # Read twice in the SQL, fetched once; only the columns used; no filter (two readers disagree).
    assert pulled["mode"] == "pull" and pulled["table"] == "wh.sales.orders"
    assert pulled["columns"] == ["region", "amount"] and pulled["rows"] == 30
    add_sql(
        admin,
        board,
        "filtered",
        "SELECT o.region, sum(o.amount) AS revenue, any_value(t.goal) AS goal\n"
        "FROM wh.sales.orders o JOIN targets t ON t.region = o.region\n"
        "WHERE o.amount > 10 AND o.region IN ('eu', 'us') AND t.goal > 0 GROUP BY ALL ORDER BY 1",
    )
    [pulled] = last_run(admin, board, "filtered")["remote"]
    assert pulled["sql"] == (
        'SELECT "region", "amount" FROM "sales"."orders" WHERE "amount" > 10 AND "region" IN (\'eu\', \'us\')'
    )
    assert pulled["pushed_filters"] == 2 and pulled["rows"] == 15
    assert rows(admin, board, "filtered") == [
        {"region": "eu", "revenue": 166.25, "goal": 100},
        {"region": "us", "revenue": 195.0, "goal": 150},
    ]


def test_pushed_filter_binds_control_values_remotely(admin: ToolClient, board: str, wh: str) -> None:
    admin("catalog_push", dashboard_id=board, name="names", rows=[{"region": "eu", "label": "Europe"}])
    admin(
        "dashboard_add_block",
        dashboard_id=board,
        type="param-enum",
        name="region",
        config={"options": ["eu", "us"]},
    )
    add_sql(
        admin,
        board,
        "labelled",
        "SELECT n.label, count(*) AS n FROM wh.sales.orders o JOIN names n USING (region) "
        "WHERE o.region = $region GROUP BY ALL",
        inputs=["region"],
    )
    assert rows(admin, board, "labelled") == [{"label": "Europe", "n": 10}]
    [pulled] = last_run(admin, board, "labelled")["remote"]
    assert pulled["sql"].endswith('WHERE "region" = $1') and pulled["params"] == ["region"]


def test_sqlite_file_is_pushed_down_with_its_own_placeholders(
    admin: ToolClient, board: str, sqlite_file: Path
) -> None:
    admin("connection_add", name="app", url=f"sqlite://{sqlite_file}", grant=["*"])
    admin(
        "dashboard_add_block",
        dashboard_id=board,
        type="param-enum",
        name="region",
        config={"options": ["eu", "us"]},
    )
    add_sql(
        admin,
        board,
        "people",
        "SELECT name, score FROM app.main.users WHERE region = $region ORDER BY score DESC",
        inputs=["region"],
    )
    assert rows(admin, board, "people") == [{"name": "cai", "score": 30}, {"name": "ann", "score": 10}]
    [sent] = last_run(admin, board, "people")["remote"]
    assert sent["driver"] == "sqlite" and sent["mode"] == "pushdown"
    assert "region = ?1" in sent["sql"] and sent["params"] == ["region"]


def test_duckdb_file_is_read_only_and_answers_arrow(admin: ToolClient, board: str, duckdb_file: Path) -> None:
    admin("connection_add", name="lake", url=f"duckdb://{duckdb_file}", grant=["*"])
    catalog = {s["name"]: s for s in admin("catalog_list", dashboard_id=board)["sources"]}
    assert catalog["lake.analytics.visits"]["columns"][0] == {"name": "day", "type": "DATE"}
    add_sql(
        admin,
        board,
        "visits",
        "SELECT region, sum(visits) AS visits FROM lake.analytics.visits GROUP BY ALL ORDER BY ALL",
    )
    assert rows(admin, board, "visits") == [{"region": "eu", "visits": 200}, {"region": "us", "visits": 250}]
    assert last_run(admin, board, "visits")["remote"][0]["mode"] == "pushdown"
    # The file stays free for its owner between queries, and nothing here can write to it.
    import duckdb

    duckdb.connect(str(duckdb_file)).close()
    sneaky = add_sql(admin, board, "sneaky", "SELECT * FROM lake.analytics.visits, read_csv('/etc/passwd')")
    assert sneaky["block"]["state"] == "error"
    assert sneaky["block"]["error"].startswith("connection 'lake': ")
    assert "file system operations are disabled" in sneaky["block"]["error"]


def test_one_block_reads_two_connections(admin: ToolClient, board: str, wh: str, sqlite_file: Path) -> None:
    admin("connection_add", name="app", url=f"sqlite://{sqlite_file}", grant=["*"])
    add_sql(
        admin,
        board,
        "joined",
        "SELECT u.region, count(DISTINCT u.id) AS users, count(o.id) AS orders\n"
        "FROM app.main.users u JOIN wh.sales.orders o ON o.region = u.region\n"
        "WHERE u.score >= 20 GROUP BY ALL ORDER BY 1",
    )
    assert rows(admin, board, "joined") == [
        {"region": "apac", "users": 1, "orders": 10},
        {"region": "eu", "users": 1, "orders": 10},
        {"region": "us", "users": 1, "orders": 10},
    ]
    sent = {s["connection"]: s for s in last_run(admin, board, "joined")["remote"]}
    assert sent["app"]["sql"] == 'SELECT "id", "region", "score" FROM "main"."users" WHERE "score" >= 20'
    assert sent["wh"]["columns"] == ["id", "region"]


def test_query_the_database_cannot_take_falls_back_to_pulling(admin: ToolClient, board: str, wh: str) -> None:
    add_sql(
        admin,
        board,
        "duck_only",
        "SELECT list_sort(list(region)) AS regions FROM (SELECT DISTINCT region FROM wh.sales.orders)",
    )
    assert rows(admin, board, "duck_only") == [{"regions": ["apac", "eu", "us"]}]
    attempts = last_run(admin, board, "duck_only")["remote"]
    assert attempts[0]["mode"] == "pushdown" and "fallback" in attempts[0]
    assert attempts[1]["mode"] == "pull"


def test_unknown_connection_or_table_is_refused_when_saving(admin: ToolClient, board: str, wh: str) -> None:
    with pytest.raises(ToolError) as no_table:
        add_sql(admin, board, "typo", "SELECT * FROM wh.sales.ordres")
    assert "connection 'wh' has no table sales.ordres" in no_table.value.message
    assert "wh.sales.orders" in no_table.value.message
    with pytest.raises(ToolError) as no_connection:
        add_sql(admin, board, "nowhere", "SELECT * FROM nowhere.sales.orders")
    assert "'nowhere' is not a connection" in no_connection.value.message
    with pytest.raises(ToolError) as two_parts:
        add_sql(admin, board, "short", "SELECT * FROM wh.orders")
    assert "connection.schema.table" in two_parts.value.message
    assert admin("dashboard_get", dashboard_id=board)["dashboard"]["blocks"] == []


def test_blocks_mixing_connections_and_local_data_keep_the_sandbox(
    admin: ToolClient, board: str, wh: str
) -> None:
    admin("catalog_push", dashboard_id=board, name="local", rows=[{"a": 1}])
    escape = add_sql(
        admin, board, "escape", "SELECT * FROM wh.sales.orders, local, read_csv('/etc/passwd') LIMIT 1"
    )
    assert escape["block"]["state"] == "error"
    assert "file system operations are disabled" in escape["block"]["error"]


def test_chart_and_metric_read_a_connected_table_as_their_source(
    admin: ToolClient, board: str, wh: str
) -> None:
    chart = admin(
        "dashboard_add_block",
        dashboard_id=board,
        type="chart",
        name="amounts",
        config={"source": "wh.sales.orders", "kind": "line", "x": "ordered_on", "y": "amount"},
    )
    assert chart["block"]["state"] == "success", chart["block"]["error"]
    [sent] = last_run(admin, board, "amounts")["remote"]
    assert sent["mode"] == "pushdown" and sent["sql"] == 'SELECT "ordered_on", "amount" FROM "sales"."orders"'
    data = admin("dashboard_block_data", dashboard_id=board, block_id="amounts", max_points=10)
    assert data["row_count"] == 30 and data["series"]["points"] <= 10
    metric = admin(
        "dashboard_add_block",
        dashboard_id=board,
        type="metric",
        name="first_amount",
        config={"source": "wh.sales.orders", "column": "amount"},
    )
    assert metric["block"]["state"] == "success"
    assert admin("dashboard_get", dashboard_id=board)["dashboard"]["blocks"][1]["upstream"] == [
        "wh.sales.orders"
    ]
