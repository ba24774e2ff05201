"""The demo dashboard: built through the tools, every block type, every block succeeding, and live."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ballast_tui.demo import DEMO_TITLE, build_demo, open_or_build_demo
from ballast_tui.engine.blocks import BLOCK_TYPES
from ballast_tui.engine.layout import validate_layout
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient

ROWS = 20_000


@pytest.fixture
def demo(ws: Workspace, call: ToolClient) -> tuple[str, dict[str, Any]]:
    board_id = build_demo(ws, rows=ROWS)
    return board_id, call("dashboard_get", dashboard_id=board_id)["dashboard"]


def _by_name(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["name"]: b for b in dashboard["blocks"]}


def _metric_value(call: ToolClient, board_id: str, block_id: str) -> Any:
    rows = call("dashboard_block_data", dashboard_id=board_id, block_id=block_id)["rows"]
    assert len(rows) == 1
    return next(iter(rows[0].values()))


def test_demo_uses_every_block_type_and_both_controls(demo: tuple[str, dict[str, Any]]) -> None:
    _board_id, dashboard = demo
    assert dashboard["title"] == DEMO_TITLE
    assert {b["type"] for b in dashboard["blocks"]} == set(BLOCK_TYPES)
    blocks = _by_name(dashboard)
    assert blocks["period"]["type"] == "filter-daterange"
    assert blocks["period"]["value"] == "90d"
    assert blocks["region"]["type"] == "param-enum"
    assert blocks["region"]["value"] == "All"
    assert blocks["region"]["config"]["options"][0] == "All"
    assert blocks["filtered"]["config"]["inputs"] == ["period", "region"]


def test_every_demo_block_succeeds(demo: tuple[str, dict[str, Any]]) -> None:
    _board_id, dashboard = demo
    states = {b["name"]: (b["state"], b["error"]) for b in dashboard["blocks"]}
    assert all(state == ("success", None) for state in states.values()), states


def test_hidden_sql_blocks_feed_displayed_charts(demo: tuple[str, dict[str, Any]]) -> None:
    _board_id, dashboard = demo
    blocks = _by_name(dashboard)
    hidden_sql = {n for n, b in blocks.items() if b["type"] == "sql" and not b["displayed"]}
    fed = {
        b["config"]["source"]
        for b in dashboard["blocks"]
        if b["type"] == "chart" and b["displayed"] and b["config"]["source"] in hidden_sql
    }
    assert len(fed) >= 2, fed


def test_demo_layout_validates_and_holds_every_displayed_block(
    demo: tuple[str, dict[str, Any]],
) -> None:
    _board_id, dashboard = demo
    displayed = {b["id"]: b["type"] for b in dashboard["blocks"] if b["displayed"]}
    layout = dashboard["layout"]
    assert validate_layout(layout, displayed, {b["id"] for b in dashboard["blocks"]}) == layout
    placed = [block_id for row in layout["rows"] for block_id in row["blocks"]]
    assert sorted(placed) == sorted(displayed)
    blocks = _by_name(dashboard)
    assert layout["rows"][0]["blocks"] == [blocks["intro"]["id"]]
    assert layout["rows"][1]["blocks"] == [blocks["period"]["id"], blocks["region"]["id"]]


def test_region_control_reruns_downstream_and_changes_revenue(
    demo: tuple[str, dict[str, Any]], call: ToolClient
) -> None:
    board_id, dashboard = demo
    blocks = _by_name(dashboard)
    before = _metric_value(call, board_id, blocks["revenue"]["id"])

    answer = call(
        "dashboard_set_control", dashboard_id=board_id, block_id=blocks["region"]["id"], value="North"
    )

    ran = set(answer["cascade"]["ran"])
    for name in ("filtered", "daily", "kpis", "revenue", "daily_revenue", "top_products"):
        assert blocks[name]["id"] in ran, name
    assert blocks["period"]["id"] not in ran and blocks["intro"]["id"] not in ran
    assert answer["cascade"]["failed"] == []
    after = _metric_value(call, board_id, blocks["revenue"]["id"])
    assert 0 < after < before


def test_open_or_build_demo_reuses_the_existing_dashboard(tmp_path: Path) -> None:
    ws, board_id = open_or_build_demo(tmp_path / "demo")
    ws.close()
    # The second open finds the dashboard the first one built instead of building another.
    ws, again = open_or_build_demo(tmp_path / "demo")
    try:
        assert again == board_id
    finally:
        ws.close()
