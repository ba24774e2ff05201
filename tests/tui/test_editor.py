"""The block editor and the new-block dialog, driven by the keyboard on the demo workspace.

What the editor stored is read back through the tool registry, as another
client would see it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, SelectionList, Static, Switch

from ballast_tui.app import BallastApp
from ballast_tui.engine.errors import Locked
from ballast_tui.engine.users import User
from ballast_tui.engine.workspace import Workspace
from ballast_tui.screens.conflict_dialog import ConflictDialog
from ballast_tui.screens.dashboard import DashboardScreen
from ballast_tui.screens.dialogs import ConfirmDialog
from ballast_tui.screens.editor import BlockEditorScreen
from ballast_tui.screens.new_block import NewBlockScreen
from ballast_tui.tools.registry import Context, load_registry
from ballast_tui.widgets.block_cell import BlockCell
from ballast_tui.widgets.sql_editor import CompletionPopup, SqlEditor, Table, completions, word_at
from tests.tui.conftest import make_app, settle

Board = tuple[Workspace, str]


def call(ws: Workspace, tool: str, by: User | None = None, session: str | None = None, **args: Any) -> Any:
    """A tool call from another client: the local user by default, or `by` in `session`."""
    return load_registry().call(Context(ws, by or ws.users.local(), session_id=session), tool, args)


def block(ws: Workspace, board_id: str, name: str) -> dict[str, Any]:
    blocks = call(ws, "dashboard_get", dashboard_id=board_id)["dashboard"]["blocks"]
    return next(b for b in blocks if b["name"] == name)


def bob(ws: Workspace, board_id: str) -> User:
    """A second person, editor of the board."""
    user, _token = ws.users.create("bob")
    call(ws, "dashboard_grant", dashboard_id=board_id, user="bob", role="editor")
    return user


async def open_editor(pilot: Pilot[None], board_id: str, blk: dict[str, Any]) -> BlockEditorScreen:
    app = pilot.app
    await app.push_screen(BlockEditorScreen(board_id, blk))
    await settle(pilot)
    assert isinstance(app.screen, BlockEditorScreen)
    return app.screen


def text_of(screen: BlockEditorScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def replace_sql(pilot: Pilot[None], sql: str) -> None:
    """Select all of the focused SQL editor (f7) and type `sql` over it."""
    await pilot.press("f7", *sql)
    focused = pilot.app.focused
    if isinstance(focused, SqlEditor) and focused.completing:
        await pilot.press("escape")


async def test_sql_draft_runs_without_saving_then_saves_and_reruns_downstream(demo_ws: Board) -> None:
    ws, board_id = demo_ws
    kpis = block(ws, board_id, "kpis")
    revenue_run = block(ws, board_id, "revenue")["current_run_id"]
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, board_id, kpis)
        assert isinstance(app.focused, SqlEditor)
        await pilot.press(*["down"] * 8, "end", "enter", *"WHERE quantity > 2")
        await pilot.press("ctrl+r")
        await settle(pilot)
        table = editor.query_one("#preview-table", DataTable)
        assert table.display and table.row_count == 1
        assert [str(c.label) for c in table.columns.values()] == ["revenue", "orders", "avg_order_value"]
        assert "1 row" in text_of(editor, "#preview-status")
        assert "orders BIGINT" in text_of(editor, "#preview-status")
        assert block(ws, board_id, "kpis")["config"] == kpis["config"]  # the draft ran, nothing stored

        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        saved = block(ws, board_id, "kpis")
        assert saved["version"] == kpis["version"] + 1
        assert saved["config"]["sql"].endswith("FROM filtered\nWHERE quantity > 2")
        downstream = block(ws, board_id, "revenue")
        assert downstream["current_run_id"] != revenue_run and downstream["state"] == "success"
        assert ws.sessions.locks(board_id) == []


async def test_bad_sql_shows_the_error_inline_and_saves_nothing(demo_ws: Board) -> None:
    ws, board_id = demo_ws
    kpis = block(ws, board_id, "kpis")
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, board_id, kpis)
        await replace_sql(pilot, "selec broken from filtered")
        await pilot.press("ctrl+r")
        await settle(pilot)
        status = editor.query_one("#preview-status", Static)
        assert "syntax error" in text_of(editor, "#preview-status") and status.has_class("error-text")
        assert not editor.query_one("#preview-table").display

        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is editor
        message = editor.query_one("#message", Static)
        assert message.display and message.has_class("error-text")
        assert "syntax error" in text_of(editor, "#message")
        assert block(ws, board_id, "kpis")["version"] == kpis["version"]


async def test_the_lock_holds_others_off_while_open_and_goes_with_the_editor(demo_ws: Board) -> None:
    ws, board_id = demo_ws
    kpis = block(ws, board_id, "kpis")
    other = bob(ws, board_id)
    change = {"dashboard_id": board_id, "block_id": kpis["id"], "config": {"sql": "select 1 as revenue"}}
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, board_id, kpis)
        assert editor.holds_lock
        try:
            call(ws, "dashboard_update_block", other, "other", **change)
        except Locked as refusal:
            assert refusal.extra["lock"]["holder"]["name"] == ws.users.local().name
        else:
            raise AssertionError("bob changed a block someone else holds")

        await pilot.press("x")  # an unsaved change: closing asks first
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is editor and editor.holds_lock
        await pilot.press("escape", "y")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert ws.sessions.locks(board_id) == []
        assert block(ws, board_id, "kpis")["version"] == kpis["version"]
        call(ws, "dashboard_update_block", other, "other", **change)
        await settle(pilot)  # the grid follows bob's change before the app closes


async def test_a_block_locked_by_another_session_opens_read_only_naming_the_holder(demo_ws: Board) -> None:
    ws, board_id = demo_ws
    kpis = block(ws, board_id, "kpis")
    call(ws, "block_open", bob(ws, board_id), "other", dashboard_id=board_id, block_id=kpis["id"])
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, board_id, kpis)
        assert editor.read_only and not editor.holds_lock
        assert "Read-only: bob" in text_of(editor, "#lock-status")
        assert editor.query_one(SqlEditor).read_only
        assert editor.query_one("#name", Input).disabled
        assert editor.check_action("save", ()) is None  # shown, disabled
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is editor
        assert block(ws, board_id, "kpis")["version"] == kpis["version"]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert [lock["holder"]["name"] for lock in ws.sessions.locks(board_id)] == ["bob"]


async def changed_behind_the_editor(pilot: Pilot[None], ws: Workspace, board_id: str) -> BlockEditorScreen:
    """Open kpis, let the editor's lock lapse, and have bob change the block meanwhile."""
    kpis = block(ws, board_id, "kpis")
    other = bob(ws, board_id)
    editor = await open_editor(pilot, board_id, kpis)
    ws.sessions.lock_timeout = 0.0  # no heartbeat in time: the editor's lock lapses
    call(
        ws,
        "dashboard_update_block",
        other,
        "other",
        dashboard_id=board_id,
        block_id=kpis["id"],
        config={"sql": "SELECT 1 AS revenue, 2 AS orders, 3 AS avg_order_value"},
    )
    ws.sessions.lock_timeout = 30.0
    await replace_sql(pilot, "select 7 as revenue, 8 as orders, 9 as avg_order_value")
    await pilot.press("ctrl+s")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ConflictDialog)
    assert f"now version {kpis['version'] + 1}" in str(pilot.app.screen.message)
    return editor


async def test_a_stale_version_is_a_conflict_and_overwrite_saves_mine(demo_ws: Board) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        editor = await changed_behind_the_editor(pilot, ws, board_id)
        assert "someone else changed this block" in text_of(editor, "#message")
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        saved = block(ws, board_id, "kpis")
        assert saved["config"]["sql"].startswith("select 7") and saved["version"] == 3
        assert ws.sessions.locks(board_id) == []


async def test_a_stale_version_can_be_reloaded(demo_ws: Board) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        editor = await changed_behind_the_editor(pilot, ws, board_id)
        await pilot.press("r")
        await settle(pilot)
        assert app.screen is editor and editor.version == 2 and editor.holds_lock
        assert editor.query_one(SqlEditor).text.startswith("SELECT 1 AS revenue")
        assert not editor.dirty
        assert block(ws, board_id, "kpis")["config"]["sql"].startswith("SELECT 1")


async def test_completion_offers_block_names_and_inserts_the_chosen_one(demo_ws: Board) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, board_id, block(ws, board_id, "kpis"))
        await pilot.press("f7", *"select * from fil", "ctrl+space")
        await settle(pilot)
        popup = editor.query_one(CompletionPopup)
        sql = editor.query_one(SqlEditor)
        assert popup.display and "filtered" in [c.name for c in popup.items]
        assert app.focused is sql  # typing goes on in the editor
        await pilot.press("enter")
        assert sql.text == "select * from filtered" and not popup.display
        await pilot.press("space", *"where reg", "ctrl+space")  # columns of the tables it reads
        assert [c.name for c in popup.items][:1] == ["region"]
        await pilot.press("tab")
        assert sql.text == "select * from filtered where region"


async def test_editing_a_chart_from_the_grid(demo_ws: Board) -> None:
    ws, board_id = demo_ws
    chart = block(ws, board_id, "revenue_by_region")
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        board = app.screen
        assert isinstance(board, DashboardScreen)
        cell = next(c for c in board.query(BlockCell) if c.block["id"] == chart["id"])
        cell.focus()
        await pilot.press("e")
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, BlockEditorScreen) and editor.holds_lock
        assert editor.query_one("#source", Select).value == "by_region"
        assert editor.query_one("#kind", Select).value == "bar"
        assert editor.query_one("#x", Select).value == "region"
        assert editor.query_one("#y", SelectionList).selected == ["revenue"]
        title = editor.query_one("#title", Input)
        title.focus()
        await pilot.press("end", *" (90 days)", "ctrl+r")
        await settle(pilot)
        assert "5 rows" in text_of(editor, "#preview-status")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is board
        saved = block(ws, board_id, "revenue_by_region")
        assert saved["config"]["title"] == "By region (90 days)" and saved["version"] == chart["version"] + 1


async def test_new_block_dialog_adds_a_markdown_block_to_the_grid(demo_ws: Board) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, NewBlockScreen)
        await pilot.press("down", "down", "down", "down", "enter", *"notes", "enter")
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, BlockEditorScreen) and editor.block["name"] == "notes"
        assert editor.holds_lock
        notes = block(ws, board_id, "notes")
        assert notes["type"] == "markdown" and notes["displayed"] and notes["config"] == {"text": "# Title"}
        await pilot.press("escape")
        await settle(pilot)
        board = app.screen
        assert isinstance(board, DashboardScreen)
        assert notes["id"] in [c.block["id"] for c in board.query(BlockCell)]
        assert ws.sessions.locks(board_id) == []


async def test_new_chart_on_an_empty_board_explains_instead_of_failing(demo_ws: Board) -> None:
    ws, _ = demo_ws
    empty = call(ws, "dashboard_create", title="Empty")["dashboard"]["id"]
    app: BallastApp = make_app(ws, empty)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("a", "down", "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, NewBlockScreen)
        assert "has none yet" in str(app.screen.query_one("#new-message", Static).render())
        assert call(ws, "dashboard_get", dashboard_id=empty)["dashboard"]["blocks"] == []


async def test_every_form_reads_back_the_config_it_was_opened_with(demo_ws: Board) -> None:
    ws, board_id = demo_ws
    blocks = call(ws, "dashboard_get", dashboard_id=board_id)["dashboard"]["blocks"]
    app = make_app(ws, board_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        for blk in blocks:
            editor = await open_editor(pilot, board_id, blk)
            assert editor.draft() == (blk["name"], blk["config"]), blk["name"]
            assert not editor.dirty
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, DashboardScreen), blk["name"]
        assert ws.sessions.locks(board_id) == []


async def test_the_heartbeat_keeps_the_lock(demo_ws: Board) -> None:
    ws, board_id = demo_ws
    kpis = block(ws, board_id, "kpis")
    ws.sessions.lock_timeout = 2.0  # roomy: a loaded machine may take a while between beats
    app = make_app(ws, board_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, board_id, kpis)
        for _ in range(6):  # 3 s in all, past the lock's 2 s: only the heartbeats keep it
            await asyncio.sleep(0.5)
            editor.keep_lock()
            await settle(pilot)
        assert ws.sessions.holder(board_id, kpis["id"]) is not None and editor.holds_lock
        # No editor heartbeat: it lapses (the app's own beat, every 10 s, cannot keep a 2 s lock).
        async with asyncio.timeout(8):
            while ws.sessions.holder(board_id, kpis["id"]) is not None:
                await asyncio.sleep(0.1)


SQL_CATALOG = {
    "sales": Table("source", ("day", "region", "revenue")),
    "filtered": Table("sql block", ("day", "region", "revenue")),
    "region": Table("param-enum block", ("value",)),
}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select * from fil|", ["filtered"]),
        ("select * from re|", ["region", "filtered"]),  # tables first after FROM; starting, then containing
        ("select reg| from filtered", ["region", "region"]),  # the column of what it reads, then the block
        ("select f.re| from filtered f", ["region", "revenue"]),  # after an alias: that table's columns only
        ("select re| from nowhere", ["region", "filtered"]),  # reads nothing known: no columns
        ("select 'from x' -- from sales\nfrom filtered where da|", ["day"]),  # strings, comments skipped
    ],
)
def test_completion_candidates(sql: str, expected: list[str]) -> None:
    before = sql.split("|")[0].split("\n")[-1]
    whole = sql.replace("|", "")
    prefix, qualifier = word_at(before, len(before))
    names = [c.name for c in completions(sql.split("|")[0], whole, prefix, qualifier, SQL_CATALOG)]
    assert names == expected


async def test_the_chart_form_offers_series_and_stacked_from_the_sources_columns_and_saves_them(
    regions_ws: Board,
) -> None:
    ws, board_id = regions_ws
    plain = call(
        ws,
        "dashboard_add_block",
        dashboard_id=board_id,
        type="chart",
        name="plain",
        config={"source": "weekly", "kind": "line", "x": "week", "y": "revenue"},
    )["block"]
    app = make_app(ws, board_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, board_id, plain)
        series = editor.query_one("#series", Select)
        assert series.value == Select.NULL  # none
        assert [value for _label, value in series._options if value != Select.NULL] == [
            "week",
            "region",
            "revenue",
        ]
        stacked_row = editor.query_one("#stacked-row")
        assert not stacked_row.display  # a line cannot stack
        # The kind: line -> bar (the next option); the switch shows, off as bars start.
        editor.query_one("#kind", Select).focus()
        await pilot.press("enter", "down", "enter")
        await settle(pilot)
        assert editor.query_one("#kind", Select).value == "bar"
        assert stacked_row.display and editor.query_one("#stacked", Switch).value is False
        # The series: none -> region (none, week, region).
        series.focus()
        await pilot.press("enter", "down", "down", "enter")
        await settle(pilot)
        assert series.value == "region"
        editor.query_one("#stacked", Switch).focus()
        await pilot.press("space")
        await settle(pilot)
        assert editor.draft()[1] == {
            "source": "weekly",
            "kind": "bar",
            "x": "week",
            "y": "revenue",
            "series": "region",
            "stacked": True,
        }
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
    saved = block(ws, board_id, "plain")
    assert saved["config"]["series"] == "region" and saved["config"]["stacked"] is True
    assert saved["state"] == "success" and saved["version"] == plain["version"] + 1
    data = call(ws, "dashboard_block_data", dashboard_id=board_id, block_id=plain["id"])["series"]
    assert data["names"] == ["North", "South", "East", "West"] and data["stacked"] is True


async def test_the_stacked_switch_follows_the_kind_and_reads_back_the_config(regions_ws: Board) -> None:
    ws, board_id = regions_ws
    stacked = block(ws, board_id, "stacked")
    app = make_app(ws, board_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, board_id, stacked)
        assert editor.query_one("#series", Select).value == "region"
        assert editor.query_one("#stacked", Switch).value is True
        assert editor.draft() == ("stacked", stacked["config"]) and not editor.dirty
        kind = editor.query_one("#kind", Select)
        kind.value = "line"
        await settle(pilot)
        assert not editor.query_one("#stacked-row").display
        assert "stacked" not in editor.draft()[1]  # a line never stacks: the config leaves it out
        kind.value = "area"
        await settle(pilot)
        assert editor.query_one("#stacked-row").display
        assert editor.draft()[1]["stacked"] is True  # the switch the person turned on stays on
