"""Text that users and agents write is shown as written on every screen, never read as markup.

A board titled `Q3 [b]plan[/b] [/i]` once crashed the TUI of everyone who opened
it (`MarkupError`). Here every string a person or agent can write (the board's
title, chart titles, column names, cell values, control options, Markdown text,
error messages, audit details, token labels) looks like markup, and each screen
is opened through the Pilot on a real workspace: the text must be on screen
exactly as written, and nothing may crash.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.screen import Screen

from ballast_tui.app import BallastApp
from ballast_tui.engine.workspace import Workspace
from ballast_tui.screens.audit import AuditScreen
from ballast_tui.screens.catalog import CatalogScreen
from ballast_tui.screens.compare import CompareScreen
from ballast_tui.screens.dashboard import DashboardScreen
from ballast_tui.screens.dialogs import ConfirmDialog
from ballast_tui.screens.editor import BlockEditorScreen
from ballast_tui.screens.export import ExportScreen
from ballast_tui.screens.graph import GraphScreen
from ballast_tui.screens.history import HistoryScreen
from ballast_tui.screens.refresh_settings import RefreshSettingsScreen
from ballast_tui.screens.run_view import RunScreen
from ballast_tui.screens.share import ShareScreen
from ballast_tui.screens.tokens import TokensScreen
from ballast_tui.screens.version_diff import VersionDiffScreen
from ballast_tui.screens.versions import VersionsScreen
from ballast_tui.tools.registry import Context, load_registry
from tests.tui.conftest import FIXED_TODAY, make_app, settle

TITLE = "Q3 [b]plan[/b] [/i]"
BOLD = "[b]x[/b] [/i] [red]"
LINK = "[link=javascript:x]y[/link]"
CLICK = "[@click=app.quit]z[/]"
SIZE = (160, 50)


def call(ws: Workspace, tool: str, **arguments: Any) -> dict[str, Any]:
    return load_registry().call(Context(ws, ws.users.local(), client="test"), tool, arguments)


def blocks(ws: Workspace, board_id: str) -> dict[str, dict[str, Any]]:
    found = call(ws, "dashboard_get", dashboard_id=board_id)["dashboard"]["blocks"]
    return {b["name"]: b for b in found}


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[tuple[Workspace, str]]:
    """A board whose every written string looks like markup; its id."""
    ws = Workspace(tmp_path / "ws", today=lambda: FIXED_TODAY)
    board = call(ws, "dashboard_create", title=TITLE)["dashboard"]["id"]
    rows = [{"label": BOLD, LINK: 7, "v": 3}, {"label": CLICK, LINK: 8, "v": 4}]
    call(ws, "catalog_push", dashboard_id=board, name="marks", rows=rows)
    added: list[tuple[str, str, dict[str, Any]]] = [
        ("cells", "table", {"source": "marks"}),
        ("picked", "sql", {"sql": "SELECT * FROM marks"}),
        ("total", "metric", {"source": "marks", "column": LINK}),
        ("bars", "chart", {"source": "marks", "kind": "bar", "x": "label", "y": "v", "title": CLICK}),
        ("notes", "markdown", {"text": f"# {TITLE}\n\n{BOLD} {LINK} {CLICK}"}),
        ("pick", "param-enum", {"options": [BOLD, "plain"], "default": BOLD}),
        ("broken", "sql", {"sql": "SELECT CAST('[/i] oops' AS INTEGER) AS n"}),
    ]
    for name, block_type, config in added:
        made = call(ws, "dashboard_add_block", dashboard_id=board, type=block_type, name=name, config=config)
        if name != "picked":  # (kept for the run screens; the dashboard has no room for it)
            call(
                ws,
                "dashboard_set_displayed",
                dashboard_id=board,
                block_id=made["block"]["id"],
                displayed=True,
            )
    yield ws, board
    ws.close()


def on_screen(app: BallastApp) -> str:
    """What the terminal shows now, as plain text (every layer of the screen, toasts included)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def opened(pilot: Pilot[None], screen: Screen[Any]) -> str:
    """Push `screen` on the running app, wait for it to settle, answer what is on screen."""
    await pilot.app.push_screen(screen)
    await settle(pilot, rounds=4)
    assert pilot.app.screen is screen
    return on_screen(pilot.app)  # type: ignore[arg-type]


def shows(text: str, *wanted: str) -> None:
    missing = [w for w in wanted if w not in text]
    assert not missing, f"not shown as written: {missing}\n{text}"


async def test_the_dashboard_and_its_list_show_written_text_as_written(
    hostile: tuple[Workspace, str],
) -> None:
    ws, _board = hostile
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shows(on_screen(app), TITLE)  # the list of dashboards
        await pilot.press("enter")
        await settle(pilot, rounds=5)
        assert isinstance(app.screen, DashboardScreen)
        text = on_screen(app)
        # The board's title; a table's cells; a metric's label (its column); a chart's title; a
        # control's option; a failed block's error, which quotes the SQL.
        shows(text, TITLE, BOLD, CLICK, LINK, "'[/i] oops'")
        assert app.return_code is None  # still running: nothing crashed


async def test_the_block_screens_show_names_values_and_errors_as_written(
    hostile: tuple[Workspace, str],
) -> None:
    ws, board = hostile
    found = blocks(ws, board)
    # A second run of the query over changed rows, to compare with the first.
    changed = [{"label": BOLD, LINK: 7, "v": 3}, {"label": "[/i] now", LINK: 8, "v": 5}]
    call(ws, "catalog_push", dashboard_id=board, name="marks", rows=changed)
    runs = call(ws, "dashboard_runs", dashboard_id=board, block_id=found["picked"]["id"])["runs"]
    assert len(runs) == 2
    app = make_app(ws, board)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, rounds=5)
        shows(await opened(pilot, GraphScreen(board)), TITLE)
        await pilot.press(*["down"] * 6)  # to the failed block: its error beside the list
        await settle(pilot)
        shows(on_screen(app), "'[/i] oops'")
        app.pop_screen()
        shows(await opened(pilot, BlockEditorScreen(board, found["bars"])), CLICK)
        app.pop_screen()
        await settle(pilot)
        editor = BlockEditorScreen(board, found["broken"])
        await opened(pilot, editor)
        await pilot.press("ctrl+r")  # run the draft: its error under the form
        await settle(pilot)
        shows(on_screen(app), "'[/i] oops'")
        app.pop_screen()
        await settle(pilot)
        shows(await opened(pilot, HistoryScreen(board, found["broken"])), "'[/i] oops'")
        app.pop_screen()
        oldest, newest = runs[-1], runs[0]
        shows(await opened(pilot, RunScreen(board, found["picked"], newest)), BOLD, "[/i] now", LINK)
        app.pop_screen()
        # The values that changed between the runs, and the column they are in.
        shows(
            await opened(pilot, CompareScreen(board, found["picked"], oldest, newest)),
            CLICK,
            "[/i] now",
            LINK,
        )
        app.pop_screen()
        shows(await opened(pilot, ExportScreen(board, found["cells"])), "cells's whole output")
        app.pop_screen()
        await settle(pilot)
        assert app.return_code is None


async def test_the_board_screens_show_titles_names_and_details_as_written(
    hostile: tuple[Workspace, str],
) -> None:
    ws, board = hostile
    bars = blocks(ws, board)["bars"]
    retitled = {**bars["config"], "title": BOLD}
    call(ws, "dashboard_update_block", dashboard_id=board, block_id=bars["id"], config=retitled)
    newest = call(ws, "dashboard_versions", dashboard_id=board)["versions"][0]["number"]
    ws.users.add_token(ws.users.local().id, LINK)
    app = make_app(ws, board)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, rounds=5)
        shows(await opened(pilot, VersionsScreen(board, TITLE)), TITLE)
        app.pop_screen()
        # The chart's title before and after, side by side.
        shows(await opened(pilot, VersionDiffScreen(board, newest - 1, newest)), CLICK, BOLD)
        app.pop_screen()
        shows(await opened(pilot, AuditScreen(board)), TITLE)
        app.pop_screen()
        shows(await opened(pilot, ShareScreen(board)), TITLE)
        app.pop_screen()
        shows(await opened(pilot, RefreshSettingsScreen(board)), TITLE)
        app.pop_screen()
        await settle(pilot)
        shows(await opened(pilot, CatalogScreen(board)), TITLE, LINK)  # a column named like a link
        app.pop_screen()
        shows(await opened(pilot, TokensScreen()), LINK)  # a token's label
        app.pop_screen()
        await settle(pilot)
        assert app.return_code is None


async def test_dialogs_notifications_and_refusals_show_written_text_as_written(
    hostile: tuple[Workspace, str],
) -> None:
    ws, _board = hostile
    app = make_app(ws)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("d")  # delete the highlighted board: the question names it
        await pilot.pause()  # (not settle: the worker that asks waits for the answer)
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        shows(on_screen(app), f"Delete {TITLE!r}")
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("c")  # clone it: the notification names the copy
        await settle(pilot)
        shows(on_screen(app), f"Cloned as {TITLE}")
        # A refusal in the contract's words quotes what was written.
        app.show_error(ValueError(f"no block named {CLICK}"))
        await settle(pilot)
        shows(on_screen(app), f"no block named {CLICK}")
        assert len(call(ws, "dashboard_list")["dashboards"]) == 2  # nothing deleted, one cloned
        assert app.return_code is None
