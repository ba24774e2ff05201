"""What is sent to a connected database: push-down translation, and pulls with only provably safe
filters (a table of cases: SQL and bound values in, the remote query out)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ballast_tui.engine.remote.drivers import TableInfo
from ballast_tui.engine.remote.planner import Untranslatable, plan_pulls, plan_pushdown

ORDERS = TableInfo(
    "sales",
    "orders",
    "table",
    [
        {"name": "id", "type": "INTEGER"},
        {"name": "region", "type": "VARCHAR"},
        {"name": "amount", "type": "DECIMAL"},
        {"name": "ordered_on", "type": "DATE"},
        {"name": "score", "type": "FLOAT"},
        {"name": "placed_at", "type": "TIMESTAMP WITH TIME ZONE"},
    ],
)
LOCAL = {"targets": ["region", "goal"]}


def lookup(connection: str, schema: str, table: str) -> TableInfo | None:
    return ORDERS if (connection, schema.lower(), table.lower()) == ("wh", "sales", "orders") else None


def pull(sql: str, bound: dict[str, Any] | None = None, driver: str = "postgresql") -> Any:
    plan = plan_pulls(sql, {"wh": driver}, lookup, LOCAL, bound or {})
    [query] = plan.pulls.values()
    return plan, query


ALL = '"id", "region", "amount", "ordered_on", "score", "placed_at"'


@pytest.mark.parametrize(
    ("sql", "bound", "where"),
    [
        ("SELECT * FROM wh.sales.orders WHERE amount > 10", {}, '"amount" > 10'),
        ("SELECT * FROM wh.sales.orders WHERE region = 'eu'", {}, "\"region\" = 'eu'"),
        ("SELECT * FROM wh.sales.orders WHERE region IN ('eu', 'us')", {}, "\"region\" IN ('eu', 'us')"),
        ("SELECT * FROM wh.sales.orders WHERE region > 'm'", {}, None),  # text order: collations differ
        ("SELECT * FROM wh.sales.orders WHERE score > 1", {}, None),  # floats: not provably equal
        ("SELECT * FROM wh.sales.orders WHERE placed_at > DATE '2026-01-01'", {}, None),  # time zones
        ("SELECT * FROM wh.sales.orders WHERE lower(region) = 'eu'", {}, None),  # functions stay local
        ("SELECT * FROM wh.sales.orders WHERE region = $r", {"r": "eu"}, '"region" = $1'),
        ("SELECT * FROM wh.sales.orders WHERE region = $r", {"r": 5}, None),  # types disagree
        (
            "SELECT * FROM wh.sales.orders WHERE ordered_on BETWEEN $p_start AND $p_end",
            {"p_start": dt.date(2026, 1, 1), "p_end": dt.date(2026, 1, 31)},
            '"ordered_on" BETWEEN $1 AND $2',
        ),
        (
            "SELECT * FROM wh.sales.orders WHERE (region = 'eu' OR amount > 5) AND id IS NOT NULL",
            {},
            '("region" = \'eu\' OR "amount" > 5) AND NOT "id" IS NULL',
        ),
        ("SELECT * FROM wh.sales.orders WHERE region IN (SELECT region FROM targets)", {}, None),
        (
            "SELECT o.id FROM wh.sales.orders o JOIN targets t ON t.region = o.region "
            "WHERE o.amount > t.goal",
            {},
            None,  # reads two tables
        ),
        (
            "SELECT o.id FROM wh.sales.orders o JOIN targets t ON t.region = o.region WHERE o.amount > 3",
            {},
            '"amount" > 3',
        ),
        (
            "SELECT o.id FROM wh.sales.orders o LEFT JOIN targets t USING (region) WHERE o.amount > 3",
            {},
            '"amount" > 3',  # the preserved side of a left join
        ),
        (
            "SELECT t.goal FROM targets t LEFT JOIN wh.sales.orders o USING (region) WHERE o.amount > 3",
            {},
            None,  # the null-extended side: filtering first would keep rows the WHERE drops
        ),
        (
            "SELECT o.id FROM wh.sales.orders o FULL JOIN targets t USING (region) WHERE o.amount > 3",
            {},
            None,
        ),
        (
            "SELECT * FROM (SELECT * FROM wh.sales.orders LIMIT 5) s WHERE s.amount > 3",
            {},
            None,  # the filter is outside the table's own SELECT
        ),
    ],
)
def test_filters_are_pushed_only_when_safe(sql: str, bound: dict[str, Any], where: str | None) -> None:
    _plan, query = pull(sql, bound)
    if where is None:
        assert " WHERE " not in query.sql
        assert query.filters == 0
    else:
        assert query.sql.endswith(f" WHERE {where}"), query.sql
        assert query.filters >= 1


@pytest.mark.parametrize(
    ("sql", "columns"),
    [
        ("SELECT * FROM wh.sales.orders", ALL),
        ("SELECT region, sum(amount) FROM wh.sales.orders GROUP BY ALL", '"region", "amount"'),
        ("SELECT count(*) FROM wh.sales.orders", '"id"'),  # one column still carries the rows
        ("SELECT o.id FROM wh.sales.orders o JOIN targets USING (region)", '"id", "region"'),
        ("SELECT COLUMNS('a.*') FROM wh.sales.orders", ALL.replace('"', "")),  # unknown to sqlglot: all
    ],
)
def test_only_the_columns_the_query_uses_are_pulled(sql: str, columns: str) -> None:
    plan, query = pull(sql)
    if plan.pruned:
        assert query.sql.startswith(f'SELECT {columns} FROM "sales"."orders"'), query.sql
    else:
        assert query.sql.startswith('SELECT * FROM "sales"."orders"')


def test_the_local_sql_keeps_the_text_and_names_the_pulled_relation() -> None:
    plan, _query = pull(
        "SELECT orders.region, t.goal -- per region\nFROM wh.sales.orders JOIN targets t USING (region)"
    )
    assert plan.local_sql == (
        "SELECT orders.region, t.goal -- per region\nFROM __remote_1 AS orders JOIN targets t USING (region)"
    )


def test_a_table_read_twice_is_pulled_once_without_filters() -> None:
    plan = plan_pulls(
        "SELECT * FROM wh.sales.orders a JOIN wh.sales.orders b ON a.id = b.id + 1 WHERE a.amount > 3",
        {"wh": "postgresql"},
        lookup,
        LOCAL,
        {},
    )
    assert list(plan.pulls) == ["__remote_1"]
    assert " WHERE " not in plan.pulls["__remote_1"].sql
    assert plan.local_sql.count("__remote_1") == 2


def test_unknown_columns_pull_everything_as_written() -> None:
    plan = plan_pulls("SELECT x FROM wh.Other.Thing WHERE x = 1", {"wh": "postgresql"}, lookup, LOCAL, {})
    assert plan.pulls["__remote_1"].sql == "SELECT * FROM Other.Thing"


def test_sqlite_pushes_only_what_its_type_affinity_compares_alike() -> None:
    info = TableInfo(
        "main", "users", "table", [{"name": "id", "type": "INTEGER"}, {"name": "day", "type": "DATE"}]
    )
    plan = plan_pulls(
        "SELECT * FROM app.main.users WHERE id >= 2 AND day >= DATE '2026-01-01'",
        {"app": "sqlite"},
        lambda *_: info,
        {},
        {},
    )
    assert plan.pulls["__remote_1"].sql == 'SELECT "id", "day" FROM "main"."users" WHERE "id" >= 2'


@pytest.mark.parametrize(
    ("driver", "expected"),
    [
        ("postgresql", "SELECT COUNT(*) AS n FROM sales.orders WHERE region = $1 OR note = $1 AND id > $2"),
        ("sqlite", "SELECT COUNT(*) AS n FROM sales.orders WHERE region = ?1 OR note = ?1 AND id > ?2"),
        ("duckdb", "SELECT COUNT(*) AS n FROM sales.orders WHERE region = $r OR note = $r AND id > $k"),
    ],
)
def test_pushdown_binds_each_name_once_in_the_drivers_style(driver: str, expected: str) -> None:
    query = plan_pushdown(
        "SELECT count(*) AS n FROM wh.sales.orders WHERE region = $r OR note = $r AND id > $k", "wh", driver
    )
    assert query.sql == expected and query.params == ["r", "k"]


def test_pushdown_spells_out_group_by_all() -> None:
    query = plan_pushdown(
        "SELECT region, date_trunc('month', ordered_on) AS m, sum(amount) FROM wh.sales.orders GROUP BY ALL",
        "wh",
        "postgresql",
    )
    assert query.sql.endswith("GROUP BY 1, 2")


def test_pushdown_spells_out_order_by_all_keeping_duckdbs_null_order() -> None:
    query = plan_pushdown(
        "SELECT region, count(*) AS n FROM wh.sales.orders GROUP BY ALL ORDER BY ALL DESC", "wh", "postgresql"
    )
    assert query.sql.endswith("GROUP BY 1 ORDER BY 1 DESC NULLS LAST, 2 DESC NULLS LAST")
    with pytest.raises(Untranslatable):
        plan_pushdown("SELECT * FROM wh.sales.orders ORDER BY ALL", "wh", "postgresql")
