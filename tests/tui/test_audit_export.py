"""The audit log screen, exporting from the app, and `ballast export` drawing the dashboard as SVG."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from ballast_tui.demo import build_demo
from ballast_tui.engine.workspace import Workspace
from ballast_tui.screens.audit import AuditScreen, summarize_details
from ballast_tui.screens.dashboard import DashboardScreen
from ballast_tui.screens.export import ExportScreen
from ballast_tui.tools.registry import Context, load_registry
from ballast_tui.widgets.block_cell import BlockCell
from tests.tui.conftest import make_app, settle


def call(ws: Workspace, tool: str, **arguments: Any) -> dict[str, Any]:
    return load_registry().call(Context(ws, ws.users.local()), tool, arguments)


def svg_text(svg: str) -> str:
    """The SVG's text as a person reads it (Rich writes spaces as &#160;)."""
    return html.unescape(svg).replace("\xa0", " ")


def block_id(ws: Workspace, board_id: str, name: str) -> str:
    blocks = call(ws, "dashboard_get", dashboard_id=board_id)["dashboard"]["blocks"]
    return next(b["id"] for b in blocks if b["name"] == name)


def test_details_read_short() -> None:
    assert summarize_details({"layout": {"rows": [1, 2, 3]}}) == "layout=3 rows"
    assert summarize_details({"user": "bob", "role": "viewer"}) == "user=bob, role=viewer"
    assert len(summarize_details({"sql": "x" * 500})) == 60


async def test_audit_shows_the_latest_change_first_and_filters(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    ws.users.create("bob")
    call(ws, "dashboard_grant", dashboard_id=board_id, user="bob", role="viewer")
    call(ws, "dashboard_set_refresh", dashboard_id=board_id, refreshEnabled=True)
    app = make_app(ws, board_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        table = screen.query_one("#events")
        first = table.get_row_at(0)
        assert str(first[1]) == ws.users.local().name and first[2] == "refresh_settings"
        assert table.row_count == len(call(ws, "dashboard_audit", dashboard_id=board_id)["events"])

        await pilot.press(*"grant")  # typing on the list filters
        await settle(pilot)
        assert screen.query_one("#filter").value == "grant"
        assert table.row_count == 1
        assert [str(c) for c in table.get_row_at(0)[2:4]] == ["grant", "bob"]
        assert "role=viewer" in str(table.get_row_at(0)[4])

        await pilot.press("escape")  # clears the filter first
        await settle(pilot)
        assert table.row_count > 1 and isinstance(app.screen, AuditScreen)

        # A change made elsewhere appears at the top as it happens.
        call(ws, "dashboard_publish", dashboard_id=board_id)
        for _ in range(20):
            await settle(pilot)
            if table.get_row_at(0)[2] == "publish":
                break
        assert table.get_row_at(0)[2] == "publish"

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


async def test_exporting_the_focused_block_writes_its_whole_output(
    demo_ws: tuple[Workspace, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, board_id = demo_ws
    monkeypatch.chdir(tmp_path)
    target = block_id(ws, board_id, "order_sizes")
    row_count = call(ws, "dashboard_block_data", dashboard_id=board_id, block_id=target, limit=1)["row_count"]
    assert row_count > 1000  # more than a page: the export must not stop at one
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.screen.query_one(f"#cell-{target}", BlockCell).focus()
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        assert app.screen.query_one("#path").value == "./order_sizes.csv"
        await pilot.press("tab", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        lines = (tmp_path / "order_sizes.csv").read_text().splitlines()
        assert len(lines) == row_count + 1

        await pilot.press("x")
        await settle(pilot)
        await pilot.press("down", "enter")  # Parquet
        assert app.screen.query_one("#path").value == "./order_sizes.parquet"
        await pilot.press("tab", "enter")
        await settle(pilot)
        assert pq.read_metadata(tmp_path / "order_sizes.parquet").num_rows == row_count
        assert any(
            f"Wrote {row_count:,} rows to order_sizes.parquet" in n.message for n in app._notifications
        )

        await pilot.press("x")
        await settle(pilot)
        await pilot.press("tab", "ctrl+u", *"sizes.json")  # the typed extension picks the format
        assert app.screen.query_one("#what").pressed_index == 2
        await pilot.press("enter")
        await settle(pilot)
        assert len(json.loads((tmp_path / "sizes.json").read_text())) == row_count


async def test_exporting_the_dashboard_as_svg_draws_what_is_on_screen(
    demo_ws: tuple[Workspace, str], tmp_path: Path
) -> None:
    ws, board_id = demo_ws
    out = tmp_path / "board.svg"
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("down", "down", "down", "enter")  # the whole dashboard as SVG
        path = app.screen.query_one("#path")
        assert path.value == "./sales-overview.svg"
        await pilot.press("tab", *["backspace"] * len(path.value), *str(out), "enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
    svg = out.read_text()
    assert svg.startswith("<svg") and "Sales overview" in svg_text(svg)
    assert "as SVG" not in svg_text(svg)  # the dialog was gone before the picture was taken


def test_ballast_export_draws_the_dashboard_as_svg(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    try:
        board_id = build_demo(ws, rows=5_000)
    finally:
        ws.close()
    out = tmp_path / "board.svg"
    command = [
        sys.executable,
        "-m",
        "ballast_tui.cli",
        "--workspace",
        str(tmp_path / "ws"),
        "export",
        board_id,
    ]
    done = subprocess.run([*command, "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    text = svg_text(out.read_text())
    assert out.read_text().startswith("<svg")
    for shown in (
        "Sales overview",
        "period",
        "region",
        "revenue",
        "orders",
        "avg_order_value",
        "Revenue per day",
    ):
        assert shown in text

    refused = subprocess.run(
        [*command, "--block", "top_products", "--format", "svg"], capture_output=True, text=True
    )
    assert refused.returncode == 1 and "svg draws the whole dashboard" in refused.stderr
