"""A board worth drawing, for the tests of `ballast show` and `dashboard_render`: a line chart with a
title and a metric shown, the SQL block they read hidden."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

CHART_TITLE = "Daily amount"
METRIC_NAME = "first_amount"
BRAILLE = range(0x2800, 0x2900)
"""The characters plotext draws a line chart's points with."""


class Caller(Protocol):
    def __call__(self, tool: str, **arguments: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class DrawnBoard:
    board: str
    sql: str
    chart: str
    metric: str


def build_drawn_board(call: Caller, title: str = "Sales") -> DrawnBoard:
    """The board, built and run through the tools as `call`'s user (its owner)."""
    board = call("dashboard_create", title=title)["dashboard"]["id"]

    def add(type_: str, name: str, config: dict[str, Any]) -> str:
        block = call("dashboard_add_block", dashboard_id=board, type=type_, name=name, config=config)
        return str(block["block"]["id"])

    sql = add(
        "sql",
        "daily",
        {"sql": "select range as day, (range * 7) % 23 as amount from range(40)"},
    )
    chart = add(
        "chart", "trend", {"source": "daily", "kind": "line", "x": "day", "y": "amount", "title": CHART_TITLE}
    )
    metric = add("metric", METRIC_NAME, {"source": "daily", "column": "amount"})
    for block in (metric, chart):
        call("dashboard_set_displayed", dashboard_id=board, block_id=block, displayed=True)
    return DrawnBoard(board, sql, chart, metric)


def has_chart_drawing(text: str) -> bool:
    """Whether `text` holds a line chart's plotted points."""
    return sum(ord(c) in BRAILLE for c in text) >= 10
