"""The demo workspace: a "Sales overview" dashboard over generated sales (nothing downloaded).

The data comes from a plain in-memory DuckDB connection of its own (not the
sandboxed executor, which may not write files), deterministic for a given
number of rows and end day. Everything else goes through the tool registry,
exactly as a person at the TUI or an agent over MCP would build it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import suppress
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage.private import FILE_MODE, make_dirs
from ballast_tui.tools.registry import Context, load_registry

DEMO_TITLE = "Sales overview"
DEMO_FILE = "demo_sales.parquet"
DAYS = 400

REGIONS: list[tuple[str, float]] = [
    ("North", 0.28),
    ("West", 0.22),
    ("South", 0.20),
    ("East", 0.16),
    ("Central", 0.14),
]
# (product, category, list price, share of orders)
PRODUCTS: list[tuple[str, str, float, float]] = [
    ("Laptop", "Electronics", 1199.0, 0.07),
    ("Monitor", "Electronics", 289.0, 0.10),
    ("Headphones", "Electronics", 149.0, 0.15),
    ("Desk", "Furniture", 449.0, 0.05),
    ("Chair", "Furniture", 239.0, 0.08),
    ("Notebook", "Office", 6.5, 0.22),
    ("Pen set", "Office", 14.0, 0.18),
    ("Coffee beans", "Grocery", 18.0, 0.15),
]
CHANNELS: list[tuple[str, float]] = [("Online", 0.55), ("Retail", 0.30), ("Partner", 0.15)]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _pick(uniform: str, choices: list[tuple[str, float]]) -> str:
    """A CASE choosing among `choices` by cumulative share of a uniform [0, 1) expression."""
    total = sum(share for _, share in choices)
    arms, cumulative = [], 0.0
    for name, share in choices[:-1]:
        cumulative += share / total
        arms.append(f"WHEN {uniform} < {cumulative:.6f} THEN {_literal(name)}")
    return f"CASE {' '.join(arms)} ELSE {_literal(choices[-1][0])} END"


def sales_query(rows: int, end_day: date, days: int = DAYS) -> str:
    """The SELECT that generates `rows` sales over the `days` days up to `end_day`.

    Pseudo-random numbers are hashes of the order id, so the data is the same
    for the same arguments, whatever the number of threads. More orders on
    recent days (a growing business), larger baskets on Fridays and Saturdays
    and in November and December.
    """
    if rows < 1:
        raise ValueError("rows must be positive")
    u = "((hash(order_id, {k}) % 1000003)::DOUBLE / 1000003)".format
    product_case = _pick(u(k=3), [(p, share) for p, _, _, share in PRODUCTS])
    categories = " ".join(f"WHEN {_literal(p)} THEN {_literal(c)}" for p, c, _, _ in PRODUCTS)
    prices = " ".join(f"WHEN {_literal(p)} THEN {price}" for p, _, price, _ in PRODUCTS)
    return f"""
        WITH ids AS (SELECT range + 1 AS order_id FROM range({int(rows)})),
        drawn AS (
            SELECT
                order_id,
                (DATE {_literal(end_day.isoformat())}
                    - least({days - 1}, floor({days} * CASE WHEN {u(k=1)} < 0.45 THEN {u(k=2)}
                                                  ELSE 1 - sqrt({u(k=2)}) END))::INTEGER) AS day,
                {_pick(u(k=4), REGIONS)} AS region,
                {product_case} AS product,
                {_pick(u(k=5), CHANNELS)} AS channel,
                {u(k=6)} AS u_quantity,
                {u(k=7)} AS u_price
            FROM ids
        ),
        priced AS (
            SELECT
                order_id, day, region, product,
                CASE product {categories} END AS category,
                channel,
                greatest(1, round((1 + floor(pow(u_quantity, 3) * 8))
                    * CASE WHEN dayofweek(day) IN (5, 6) THEN 1.4 ELSE 1.0 END
                    * CASE WHEN month(day) IN (11, 12) THEN 1.3 ELSE 1.0 END))::INTEGER AS quantity,
                round((CASE product {prices} END) * (0.85 + 0.3 * u_price)
                    * CASE channel WHEN 'Partner' THEN 0.9 ELSE 1.0 END, 2) AS unit_price
            FROM drawn
        )
        SELECT order_id, day, region, product, category, channel, quantity, unit_price,
               round(quantity * unit_price, 2) AS revenue
        FROM priced
        ORDER BY order_id
    """


def write_sales_parquet(path: Path, rows: int, end_day: date, threads: int | None = None) -> Path:
    """Generate the sales into a Parquet file at `path` (0600, written under a temporary name, renamed)."""
    make_dirs(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    config: dict[str, Any] = {"threads": threads} if threads else {}
    con = duckdb.connect(":memory:", config=config)
    try:
        con.execute(
            f"COPY ({sales_query(rows, end_day)}) TO {_literal(str(tmp))} "
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
        )
    finally:
        con.close()
    os.chmod(tmp, FILE_MODE)  # DuckDB made it with the umask's mode
    os.replace(tmp, path)
    return path


INTRO = """\
# Sales overview

Generated sales of a small shop: **5 regions**, **8 products** in 4 categories, three channels,
over the last 400 days. Pick a **period** and a **region** above: every block below re-runs from
them, and blocks whose inputs did not change reuse their earlier results.
"""

FILTERED_SQL = """\
SELECT *
FROM sales
WHERE day BETWEEN $period_start AND $period_end
  AND ($region = 'All' OR region = $region)"""

DAILY_SQL = """\
SELECT day,
       round(sum(revenue), 2) AS revenue,
       count(*) AS orders,
       round(coalesce(sum(revenue) FILTER (WHERE channel = 'Online'), 0), 2) AS online,
       round(coalesce(sum(revenue) FILTER (WHERE channel = 'Retail'), 0), 2) AS retail,
       round(coalesce(sum(revenue) FILTER (WHERE channel = 'Partner'), 0), 2) AS partner
FROM filtered
GROUP BY day
ORDER BY day"""

BY_PRODUCT_SQL = """\
SELECT product,
       category,
       round(sum(revenue), 2) AS revenue,
       sum(quantity)::BIGINT AS units,
       count(*) AS orders,
       round(sum(revenue) / count(*), 2) AS avg_order_value,
       round(100 * sum(revenue) / sum(sum(revenue)) OVER (), 1) AS revenue_share_pct
FROM filtered
GROUP BY product, category
ORDER BY revenue DESC"""

BY_REGION_SQL = """\
SELECT region,
       round(sum(revenue), 2) AS revenue,
       count(*) AS orders
FROM filtered
GROUP BY region
ORDER BY revenue DESC"""

KPIS_SQL = """\
SELECT round(coalesce(sum(revenue), 0), 2) AS revenue,
       count(*) AS orders,
       round(coalesce(sum(revenue) / nullif(count(*), 0), 0), 2) AS avg_order_value
FROM filtered"""


def _blocks_spec() -> list[tuple[str, str, dict[str, Any], bool]]:
    """(name, type, config, displayed) in the order they are added (upstream first)."""
    regions = ["All", *[name for name, _ in REGIONS]]
    return [
        ("intro", "markdown", {"text": INTRO}, True),
        ("period", "filter-daterange", {"default": "90d"}, True),
        ("region", "param-enum", {"options": regions, "default": "All"}, True),
        ("filtered", "sql", {"sql": FILTERED_SQL, "inputs": ["period", "region"]}, False),
        ("daily", "sql", {"sql": DAILY_SQL}, False),
        ("by_product", "sql", {"sql": BY_PRODUCT_SQL}, False),
        ("by_region", "sql", {"sql": BY_REGION_SQL}, False),
        ("kpis", "sql", {"sql": KPIS_SQL}, False),
        ("revenue", "metric", {"source": "kpis", "column": "revenue", "format": "$,.0f"}, True),
        ("orders", "metric", {"source": "kpis", "column": "orders", "format": ",.0f"}, True),
        (
            "avg_order_value",
            "metric",
            {"source": "kpis", "column": "avg_order_value", "format": "$,.2f"},
            True,
        ),
        (
            "daily_revenue",
            "chart",
            {"source": "daily", "kind": "line", "x": "day", "y": "revenue", "title": "Revenue per day"},
            True,
        ),
        (
            "revenue_by_region",
            "chart",
            {"source": "by_region", "kind": "bar", "x": "region", "y": "revenue", "title": "By region"},
            True,
        ),
        (
            "revenue_by_product",
            "chart",
            {
                "source": "by_product",
                "kind": "bar",
                "x": "product",
                "y": "revenue",
                "title": "Revenue by product",
            },
            True,
        ),
        (
            "channel_mix",
            "chart",
            {
                "source": "daily",
                "kind": "area",
                "x": "day",
                "y": ["online", "retail", "partner"],
                "title": "Revenue per day by channel",
            },
            True,
        ),
        (
            "order_sizes",
            "chart",
            {
                "source": "filtered",
                "kind": "histogram",
                "x": "revenue",
                "y": "quantity",
                "title": "Order sizes (revenue per order)",
            },
            True,
        ),
        (
            "product_orders",
            "chart",
            {
                "source": "by_product",
                "kind": "scatter",
                "x": "orders",
                "y": "avg_order_value",
                "title": "Orders vs average order value, per product",
            },
            True,
        ),
        (
            "top_products",
            "table",
            {
                "source": "by_product",
                "columns": [
                    "product",
                    "category",
                    "revenue",
                    "units",
                    "orders",
                    "avg_order_value",
                    "revenue_share_pct",
                ],
            },
            True,
        ),
    ]


def _layout_rows(ids: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"blocks": [ids["intro"]], "height": 120},
        {"blocks": [ids["period"], ids["region"]], "cols": [6, 6], "height": 60},
        {"blocks": [ids["revenue"], ids["orders"], ids["avg_order_value"]], "height": 80},
        {"blocks": [ids["daily_revenue"], ids["revenue_by_region"]], "cols": [8, 4], "height": 300},
        {"blocks": [ids["revenue_by_product"], ids["channel_mix"]], "cols": [6, 6], "height": 280},
        {"blocks": [ids["order_sizes"], ids["product_orders"]], "cols": [6, 6], "height": 280},
        {"blocks": [ids["top_products"]], "height": 240},
    ]


class DemoError(RuntimeError):
    """The demo could not be built as intended (a block failed)."""


def build_demo(ws: Workspace, rows: int = 300_000) -> str:
    """Create the "Sales overview" dashboard in `ws`, through the tools only; return its id."""
    registry = load_registry()
    ctx = Context(ws, ws.users.local(), client="demo")

    def call(tool: str, **arguments: Any) -> dict[str, Any]:
        return registry.call(ctx, tool, arguments)

    board_id = str(call("dashboard_create", title=DEMO_TITLE)["dashboard"]["id"])
    try:
        _fill(call, ws, board_id, rows)
    except BaseException:
        # No half-built demo for `open_or_build_demo` to find next time.
        with suppress(Exception):
            call("dashboard_delete", dashboard_id=board_id)
        raise
    return board_id


def _fill(call: Callable[..., dict[str, Any]], ws: Workspace, board_id: str, rows: int) -> None:
    data_file = write_sales_parquet(ws.paths.imports / DEMO_FILE, rows, ws.today())
    try:
        call("catalog_import", dashboard_id=board_id, name="sales", format="parquet", path=DEMO_FILE)
    finally:
        data_file.unlink(missing_ok=True)

    ids: dict[str, str] = {}
    for name, block_type, config, _displayed in _blocks_spec():
        answer = call("dashboard_add_block", dashboard_id=board_id, type=block_type, name=name, config=config)
        ids[name] = answer["block"]["id"]
        failed = answer["cascade"]["failed"] + answer["cascade"].get("upstream_error", [])
        if failed or answer["block"]["state"] != "success":
            raise DemoError(f"demo block {name!r} did not run: {answer['block'].get('error')}")
    for name, _type, _config, displayed in _blocks_spec():
        if displayed:
            call("dashboard_set_displayed", dashboard_id=board_id, block_id=ids[name], displayed=True)
    call("dashboard_set_layout", dashboard_id=board_id, rows=_layout_rows(ids))


def find_demo(ws: Workspace) -> str | None:
    """The id of the workspace's "Sales overview" dashboard the local user sees, if any."""
    ctx = Context(ws, ws.users.local(), client="demo")
    dashboards = load_registry().call(ctx, "dashboard_list", {})["dashboards"]
    return next((str(d["id"]) for d in dashboards if d["title"] == DEMO_TITLE), None)


def open_or_build_demo(root: Path) -> tuple[Workspace, str]:
    """Open the workspace at `root`; its existing demo dashboard, else a new one."""
    ws = Workspace(root)
    try:
        board_id = find_demo(ws) or build_demo(ws)
    except BaseException:
        ws.close()
        raise
    return ws, board_id
