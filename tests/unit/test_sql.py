"""Reading the tables and parameters of block SQL, refusing non-queries, renaming tables in place."""

from __future__ import annotations

import pytest

from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.sql import ParsedQuery, parse_query
from ballast_tui.engine.sql_rewrite import quote_identifier, rename_table

# --- tables ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "tables"),
    [
        pytest.param("SELECT * FROM sales", {"sales"}, id="plain"),
        pytest.param("select * from Sales", {"sales"}, id="lower_cased"),
        pytest.param('SELECT * FROM "My Table"', {"my table"}, id="quoted_keeps_text"),
        pytest.param("SELECT * FROM warehouse.public.orders", {"warehouse.public.orders"}, id="qualified"),
        pytest.param(
            "SELECT * FROM a JOIN b USING (id) LEFT JOIN c ON c.id = a.id", {"a", "b", "c"}, id="joins"
        ),
        pytest.param("SELECT * FROM a, b", {"a", "b"}, id="comma_join"),
        pytest.param("SELECT * FROM (SELECT * FROM inner_t) AS s", {"inner_t"}, id="derived_table"),
        pytest.param("SELECT (SELECT max(x) FROM s) AS m", {"s"}, id="scalar_subquery"),
        pytest.param("SELECT * FROM t WHERE x IN (SELECT y FROM u)", {"t", "u"}, id="in_subquery"),
        pytest.param(
            "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k = t.k)", {"t", "u"}, id="exists"
        ),
        pytest.param("SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.k = t.k)", {"t", "u"}, id="lateral"),
        pytest.param("SELECT a FROM x UNION SELECT a FROM y", {"x", "y"}, id="union"),
        pytest.param(
            "(SELECT a FROM x) INTERSECT (SELECT a FROM y) EXCEPT SELECT a FROM z",
            {"x", "y", "z"},
            id="set_ops",
        ),
        pytest.param("FROM t", {"t"}, id="from_first"),
        pytest.param("FROM t SELECT a", {"t"}, id="from_first_select"),
        pytest.param("FROM t1, t2 SELECT *", {"t1", "t2"}, id="from_first_comma_join"),
        pytest.param("FROM t1 JOIN t2 USING (a), t3", {"t1", "t2", "t3"}, id="from_first_join_and_comma"),
        pytest.param("SELECT * FROM (t1 JOIN t2 ON t1.a = t2.a)", {"t1", "t2"}, id="parenthesized_join"),
        pytest.param("TABLE t", {"t"}, id="table_statement"),
        pytest.param("FROM t PIVOT (sum(b) FOR a IN (1, 2))", {"t"}, id="pivot_clause"),
        pytest.param("VALUES (1), (2)", set(), id="values"),
        pytest.param("SELECT 1;", set(), id="trailing_semicolon"),
        pytest.param("SELECT 1; -- done", set(), id="trailing_comment"),
        pytest.param("SELECT * FROM range(10)", set(), id="range_function"),
        pytest.param("SELECT * FROM read_parquet('x.parquet'), unnest([1, 2])", set(), id="table_functions"),
        pytest.param("SELECT * FROM my_macro(1) AS m", set(), id="macro_call"),
        pytest.param("SELECT * FROM 'data.csv'", set(), id="file_path_string"),
        pytest.param("SELECT 'sales' AS s -- FROM sales", set(), id="string_and_comment"),
        pytest.param("SELECT * FROM t AS x JOIN t AS y ON x.k = y.k", {"t"}, id="self_join_once"),
    ],
)
def test_tables_read_by_query(sql: str, tables: set[str]) -> None:
    assert parse_query(sql).tables == frozenset(tables)


@pytest.mark.parametrize(
    ("sql", "tables"),
    [
        pytest.param("WITH c AS (SELECT 1) SELECT * FROM c", set(), id="cte_only"),
        pytest.param(
            "WITH c AS (SELECT * FROM base) SELECT * FROM c JOIN other USING (k)",
            {"base", "other"},
            id="cte_body",
        ),
        pytest.param("WITH Sales AS (SELECT 1) SELECT * FROM sales", set(), id="case_insensitive"),
        pytest.param("WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b", set(), id="chained"),
        pytest.param(
            "WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a", {"b"}, id="later_cte_not_visible"
        ),
        pytest.param(
            "WITH t AS (SELECT * FROM t) SELECT * FROM t", {"t"}, id="non_recursive_body_reads_table"
        ),
        pytest.param(
            "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r",
            set(),
            id="recursive",
        ),
        pytest.param(
            "SELECT * FROM (WITH q AS (SELECT 1) SELECT * FROM q) AS s JOIN q ON true",
            {"q"},
            id="cte_scoped_to_subquery",
        ),
        pytest.param("WITH c AS (SELECT 1) SELECT * FROM main.c", {"main.c"}, id="qualified_is_not_cte"),
        pytest.param("WITH c AS (SELECT 1) SELECT * FROM c UNION SELECT * FROM d", {"d"}, id="cte_in_union"),
    ],
)
def test_cte_name_is_not_a_table(sql: str, tables: set[str]) -> None:
    assert parse_query(sql).tables == frozenset(tables)


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        pytest.param("SELECT * FROM t WHERE d >= $start AND d < $End", {"start", "end"}, id="lower_cased"),
        pytest.param("SELECT $a + $a", {"a"}, id="repeated_once"),
        pytest.param("SELECT '$not_a_param', $$ $nor_this $$ -- $nor_that", set(), id="strings_and_comments"),
        pytest.param("SELECT * FROM t WHERE k IN (SELECT k FROM u WHERE v = $v)", {"v"}, id="in_subquery"),
    ],
)
def test_named_params_are_reported(sql: str, params: set[str]) -> None:
    assert parse_query(sql).params == frozenset(params)


def test_parsed_query_is_a_value() -> None:
    assert parse_query("SELECT $p FROM t") == ParsedQuery(tables=frozenset({"t"}), params=frozenset({"p"}))


# --- refusals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "mentions"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("   \n ", "empty", id="blank"),
        pytest.param(" ; ", "empty", id="semicolon_only"),
        pytest.param("-- just a comment", "empty", id="comment_only"),
        pytest.param("SELECT 1; SELECT 2", "2 statements", id="two_selects"),
        pytest.param("SELECT 1; DROP TABLE t", "2 statements", id="select_then_drop"),
        pytest.param("INSERT INTO t VALUES (1)", "INSERT", id="insert"),
        pytest.param("UPDATE t SET a = 1", "UPDATE", id="update"),
        pytest.param("DELETE FROM t", "DELETE", id="delete"),
        pytest.param("CREATE TABLE t AS SELECT 1", "CREATE", id="create"),
        pytest.param("DROP TABLE t", "DROP", id="drop"),
        pytest.param("COPY t TO 'out.csv'", "COPY", id="copy"),
        pytest.param("SET threads = 1", "SET", id="set"),
        pytest.param("PRAGMA version", "PRAGMA", id="pragma"),
        pytest.param("ATTACH 'other.db' AS other", "ATTACH", id="attach"),
        pytest.param("DETACH other", "DETACH", id="detach"),
        pytest.param("INSTALL httpfs", "INSTALL", id="install"),
        pytest.param("LOAD httpfs", "LOAD", id="load"),
        pytest.param("EXPLAIN SELECT 1", "EXPLAIN", id="explain"),
        pytest.param("DESCRIBE t", "DESCRIBE", id="describe"),
        pytest.param("SHOW TABLES", "SHOW", id="show"),
        pytest.param("SUMMARIZE t", "SUMMARIZE", id="summarize"),
        pytest.param("CALL pragma_version()", "CALL", id="call"),
        pytest.param("PIVOT t ON a USING sum(b)", "PIVOT", id="pivot_statement"),
        pytest.param("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", "INSERT", id="with_insert"),
        pytest.param("SELECT * INTO t2 FROM t", "INTO", id="select_into"),
        pytest.param("SELECT * FROM", "could not parse", id="truncated"),
        pytest.param("SELECT 'unterminated", "could not parse", id="unterminated_string"),
        pytest.param("this is not sql", "could not parse", id="garbage"),
        pytest.param("SELECT (1", "could not parse", id="unbalanced"),
    ],
)
def test_refuses_anything_but_one_query(sql: str, mentions: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_query(sql)
    assert mentions in raised.value.message


@pytest.mark.parametrize(
    ("sql", "shown"),
    [
        pytest.param("SELECT * FROM t WHERE a = ?", "?", id="question_mark"),
        pytest.param("SELECT * FROM t WHERE a = $1", "$1", id="dollar_number"),
        pytest.param("SELECT ?1", "?1", id="numbered_question_mark"),
        pytest.param("SELECT $name, $2", "$2", id="mixed"),
    ],
)
def test_positional_params_are_refused_in_favour_of_named(sql: str, shown: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_query(sql)
    assert shown in raised.value.message
    assert "named parameters" in raised.value.message


def test_refusal_is_a_400_invalid_request() -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_query("DROP TABLE t")
    assert raised.value.to_dict()["error"] == "invalid_request"
    assert raised.value.status == 400


# --- rename ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "old", "new", "expected"),
    [
        pytest.param("SELECT * FROM sales", "sales", "revenue", "SELECT * FROM revenue", id="plain"),
        pytest.param(
            "SELECT  a ,b\n  FROM   Sales   -- sales come first\n WHERE note = 'sales' /* sales */",
            "sales",
            "revenue",
            "SELECT  a ,b\n  FROM   revenue   -- sales come first\n WHERE note = 'sales' /* sales */",
            id="keeps_formatting_comments_strings",
        ),
        pytest.param(
            "SELECT sales.amount, o.x FROM sales JOIN other AS o ON o.id = SALES.id",
            "sales",
            "revenue",
            "SELECT revenue.amount, o.x FROM revenue JOIN other AS o ON o.id = revenue.id",
            id="implicit_qualifiers",
        ),
        pytest.param(
            "SELECT sales.* FROM sales", "sales", "revenue", "SELECT revenue.* FROM revenue", id="star"
        ),
        pytest.param(
            "SELECT s.sales FROM sales AS s",
            "sales",
            "revenue",
            "SELECT s.sales FROM revenue AS s",
            id="column_and_alias_untouched",
        ),
        pytest.param(
            "SELECT sales FROM t WHERE sales.x > 0",
            "sales",
            "revenue",
            "SELECT sales FROM t WHERE sales.x > 0",
            id="struct_column_untouched",
        ),
        pytest.param(
            "WITH sales AS (SELECT * FROM sales) SELECT sales.a FROM sales",
            "sales",
            "revenue",
            "WITH sales AS (SELECT * FROM revenue) SELECT sales.a FROM sales",
            id="cte_of_same_name_untouched",
        ),
        pytest.param(
            "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k = t.k)",
            "t",
            "tt",
            "SELECT * FROM tt WHERE EXISTS (SELECT 1 FROM u WHERE u.k = tt.k)",
            id="correlated_qualifier",
        ),
        pytest.param(
            "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u AS t WHERE t.k = 1)",
            "t",
            "tt",
            "SELECT * FROM tt WHERE EXISTS (SELECT 1 FROM u AS t WHERE t.k = 1)",
            id="shadowing_alias_untouched",
        ),
        pytest.param(
            "FROM a, sales SELECT sales.x",
            "sales",
            "revenue",
            "FROM a, revenue SELECT revenue.x",
            id="from_first",
        ),
        pytest.param(
            "SELECT * FROM x UNION ALL SELECT * FROM (SELECT * FROM x) AS y WHERE y.k IN (SELECT k FROM x)",
            "x",
            "z",
            "SELECT * FROM z UNION ALL SELECT * FROM (SELECT * FROM z) AS y WHERE y.k IN (SELECT k FROM z)",
            id="everywhere",
        ),
        pytest.param(
            "SELECT * FROM sales", "sales", "My Sales", 'SELECT * FROM "My Sales"', id="quotes_new_name"
        ),
        pytest.param("SELECT * FROM sales", "sales", "select", 'SELECT * FROM "select"', id="quotes_keyword"),
        pytest.param(
            'SELECT "Sales".x FROM "Sales"',
            "sales",
            "revenue",
            "SELECT revenue.x FROM revenue",
            id="quoted_old",
        ),
        pytest.param(
            "SELECT orders.id, public.orders.x FROM wh.public.orders",
            "wh.public.orders",
            "o2",
            "SELECT o2.id, o2.x FROM o2",
            id="qualifiers_of_qualified_table",
        ),
        pytest.param(
            "SELECT * FROM wh.public.orders JOIN orders USING (k)",
            "wh.public.orders",
            "o2",
            "SELECT * FROM o2 JOIN orders USING (k)",
            id="qualified_old",
        ),
        pytest.param(
            "SELECT 'héllo', ü.x FROM ü", "ü", "u", "SELECT 'héllo', u.x FROM u", id="non_ascii_offsets"
        ),
        pytest.param(
            "SELECT * FROM 'sales'", "sales", "revenue", "SELECT * FROM 'sales'", id="file_path_untouched"
        ),
        pytest.param("SELECT * FROM other", "sales", "revenue", "SELECT * FROM other", id="no_reference"),
    ],
)
def test_rename_table_rewrites_only_table_references(sql: str, old: str, new: str, expected: str) -> None:
    assert rename_table(sql, old, new) == expected


def test_rename_without_reference_returns_same_text() -> None:
    sql = "SELECT   1 -- nothing here\n"
    assert rename_table(sql, "sales", "revenue") is sql


def test_renamed_query_reads_the_new_table() -> None:
    sql = "WITH c AS (SELECT * FROM sales WHERE sales.k > $min) SELECT * FROM c, sales"
    assert parse_query(rename_table(sql, "sales", "revenue")) == ParsedQuery(
        tables=frozenset({"revenue"}), params=frozenset({"min"})
    )


def test_rename_refuses_invalid_sql() -> None:
    with pytest.raises(InvalidRequest):
        rename_table("DROP TABLE sales", "sales", "revenue")


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("sales", "sales"),
        ("_tmp2", "_tmp2"),
        ("Sales", '"Sales"'),
        ("my sales", '"my sales"'),
        ("2024", '"2024"'),
        ("select", '"select"'),
        ('say "hi"', '"say ""hi"""'),
    ],
)
def test_quote_identifier_quotes_only_when_needed(name: str, written: str) -> None:
    assert quote_identifier(name) == written
