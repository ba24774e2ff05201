"""The catalog screen: what a board's SQL can read; importing a file and renaming a source by keyboard."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from ballast_tui.engine.workspace import Workspace
from ballast_tui.screens.catalog import CatalogScreen, source_name_for
from ballast_tui.screens.dialogs import PromptDialog
from ballast_tui.tools.registry import Context, load_registry
from tests.tui.conftest import make_app, settle


def sources(ws: Workspace, board_id: str) -> dict[str, dict]:
    answer = load_registry().call(Context(ws, ws.users.local()), "catalog_list", {"dashboard_id": board_id})
    return {s["name"]: s for s in answer["sources"]}


def test_source_names_follow_the_sql_name_rule() -> None:
    assert source_name_for(Path("~/Q3 Targets (final).CSV")) == "q3_targets_final"
    assert source_name_for(Path("2024-sales.parquet")) == "_2024_sales"
    assert source_name_for(Path("---.json")) == "data"


async def test_catalog_lists_sources_and_block_outputs_with_their_columns(
    demo_ws: tuple[Workspace, str],
) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CatalogScreen)
        table = screen.query_one("#sources")
        assert table.row_count == len(sources(ws, board_id))
        assert [str(k.value) for k in table.rows][:2] == ["sales", "intro"]
        detail = str(screen.query_one("#detail").content)
        assert "sales" in detail and "5,000 rows" in detail and "region" in detail and "VARCHAR" in detail
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, CatalogScreen)


async def test_importing_a_csv_by_keyboard_creates_the_source(
    demo_ws: tuple[Workspace, str], tmp_path: Path
) -> None:
    ws, board_id = demo_ws
    data = tmp_path / "Q3 Targets.csv"
    data.write_text("region,target\nNorth,100\nSouth,80\nEast,75\n")
    app = make_app(ws, board_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        await pilot.press(*str(data), "enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        assert app.screen.query_one("#answer").value == "q3_targets"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CatalogScreen)
        imported = sources(ws, board_id)["q3_targets"]
        assert imported["row_count"] == 3 and imported["format"] == "csv"
        assert [c["name"] for c in imported["columns"]] == ["region", "target"]
        assert "Imported 3 rows" in str(app.screen.query_one("#status").content)
        assert "q3_targets" in [str(k.value) for k in app.screen.query_one("#sources").rows]


async def test_renaming_a_source_shows_the_rewritten_blocks(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        await pilot.press("r")  # the cursor is on the first row: the source "sales"
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        await pilot.press(*["backspace"] * len("sales"), *"orders_raw", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CatalogScreen)
        status = str(app.screen.query_one("#status").content)
        assert "Renamed sales → orders_raw" in status and "Rewritten: filtered" in status
        assert "orders_raw" in sources(ws, board_id) and "sales" not in sources(ws, board_id)


async def test_a_viewer_sees_the_catalog_but_import_says_why_not(demo_ws: tuple[Workspace, str]) -> None:
    from ballast_tui.app import BallastApp
    from ballast_tui.backend import LocalBackend

    ws, board_id = demo_ws
    bob, _ = ws.users.create("bob")
    load_registry().call(
        Context(ws, ws.users.local()),
        "dashboard_grant",
        {"dashboard_id": board_id, "user": "bob", "role": "viewer"},
    )
    app = BallastApp(LocalBackend(ws, bob), board_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        assert isinstance(app.screen, CatalogScreen)
        assert app.screen.query_one("#sources").row_count > 1
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, CatalogScreen)  # no prompt: the refusal instead
        assert any("a viewer may not change this board" in n.message for n in app._notifications)


async def test_a_workbook_asks_for_its_sheet_and_replacing_asks_first(
    demo_ws: tuple[Workspace, str], tmp_path: Path
) -> None:
    from ballast_tui.screens.dialogs import ConfirmDialog
    from tests.xlsx_files import write_xlsx

    ws, board_id = demo_ws
    book = write_xlsx(
        tmp_path / "2026 Plan.xlsx",
        {"Q1": [["team", "n"], ["ops", 1]], "Q2": [["team", "n"], ["a", 1], ["b", 2]]},
    )
    app = make_app(ws, board_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        for attempt in range(2):
            await pilot.press("i")
            await pilot.pause()
            await pilot.press(*str(book), "enter")
            await shown(pilot, PromptDialog)  # which sheet?
            assert app.screen.query_one("#answer").value == "Q1"
            app.screen.query_one("#answer").value = "Q2"
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen.query_one("#answer").value == "_2026_plan_q2"  # the one rule's name
            await pilot.press("enter")
            if attempt == 1:
                await shown(pilot, ConfirmDialog)  # the source exists: replace it?
                await pilot.press("escape")
            await settle(pilot)
        assert isinstance(app.screen, CatalogScreen)
        assert sources(ws, board_id)["_2026_plan_q2"]["row_count"] == 2
        before = sources(ws, board_id)
        notes = tmp_path / "notes.txt"
        notes.write_text("a,b\n1,2\n")
        await pilot.press("i")
        await pilot.pause()
        await pilot.press(*str(notes), "enter")
        await settle(pilot)
        assert isinstance(app.screen, CatalogScreen)
        told = [str(n.message) for n in app._notifications]
        assert any(
            "cannot import notes.txt" in text and ".tsv.gz" in text and ".xlsx" in text for text in told
        )
        assert sources(ws, board_id) == before


async def shown(pilot: Pilot[None], screen: type) -> None:
    """Wait (a few seconds at most) until the app shows a screen of this kind."""
    for _ in range(100):
        if isinstance(pilot.app.screen, screen):
            return
        await pilot.pause(0.05)
    raise AssertionError(f"{screen.__name__} never appeared; the screen is {pilot.app.screen!r}")
