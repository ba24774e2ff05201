"""The catalog screen shows a connected app database's tables, and will not rename them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ballast_tui.engine.workspace import Workspace
from ballast_tui.screens.catalog import CatalogScreen
from ballast_tui.tools.registry import Context, load_registry
from tests.tui.conftest import make_app, settle


async def test_catalog_screen_lists_connected_tables_with_their_columns(
    demo_ws: tuple[Workspace, str], tmp_path: Path
) -> None:
    ws, board_id = demo_ws
    app_db = tmp_path / "app.db"
    with sqlite3.connect(app_db) as con:
        con.execute("CREATE TABLE signups (id INTEGER PRIMARY KEY, email TEXT, day TEXT)")
    load_registry().call(
        Context(ws, ws.users.local()),
        "connection_add",
        {"name": "app", "url": f"sqlite://{app_db}", "grant": ["*"]},
    )
    app = make_app(ws, board_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CatalogScreen)
        names = [str(k.value) for k in screen.query_one("#sources").rows]
        assert names[-1] == "app.main.signups"
        screen.select("app.main.signups")
        await settle(pilot)
        detail = str(screen.query_one("#detail").content)
        assert "table of connection app (sqlite)" in detail
        assert "email" in detail and "VARCHAR" in detail
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, CatalogScreen)  # no rename dialog for a connected table
        assert "app.main.signups" in [str(k.value) for k in screen.query_one("#sources").rows]


def test_run_details_show_the_sql_sent_to_a_connection() -> None:
    from ballast_tui.screens.run_format import describe_inputs

    run = {
        "id": "run_x",
        "status": "success",
        "trigger": "refresh",
        "inputs": {},
        "remote": [
            {"connection": "wh", "mode": "pushdown", "rows": 3, "sql": "SELECT region FROM sales.orders"},
        ],
    }
    assert "sent     wh (pushdown, 3 rows): SELECT region FROM sales.orders" in describe_inputs(run).plain
