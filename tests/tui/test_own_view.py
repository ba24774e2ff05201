"""Your own view in the app: a viewer's control choice redraws only the viewer's screen, marked
"your view", stores nothing and leaves everyone else's board as it is; `b` goes back to the stored
values. An editor changes the stored values unless they switch to their own view with `o`."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Select, Static

from ballast_server.runner import start_server
from ballast_tui.app import BallastApp
from ballast_tui.engine.workspace import Workspace
from ballast_tui.remote import RemoteBackend
from ballast_tui.screens.dashboard import DashboardScreen
from ballast_tui.screens.own_view import reached_by
from ballast_tui.tools.registry import Context, load_registry
from ballast_tui.widgets.block_cell import BlockCell
from ballast_tui.widgets.views import MetricView, format_metric
from tests.tui.conftest import make_app, settle


def call(ws: Workspace, tool: str, **arguments: Any) -> dict[str, Any]:
    return load_registry().call(Context(ws, ws.users.local()), tool, arguments)


def block_id(ws: Workspace, board_id: str, name: str) -> str:
    blocks = call(ws, "dashboard_get", dashboard_id=board_id)["dashboard"]["blocks"]
    return str(next(b["id"] for b in blocks if b["name"] == name))


def cell(app: BallastApp, name: str) -> BlockCell:
    return next(c for c in app.screen.query(BlockCell) if c.block["name"] == name)


def metric(app: BallastApp, name: str) -> str:
    view = cell(app, name).view
    assert isinstance(view, MetricView)
    return view.text


def revenue_for(ws: Workspace, board_id: str, region: str) -> str:
    """The revenue metric as the engine computes it for `region`, stored nowhere."""
    run = call(
        ws,
        "dashboard_run_block",
        dashboard_id=board_id,
        block_id=block_id(ws, board_id, "kpis"),
        filter_overrides={"region": region},
    )["run"]
    return format_metric(run["rows"][0]["revenue"], "$,.0f")


def own_view_line(app: BallastApp) -> str:
    bar = app.screen.query_one("#own-view", Static)
    return str(bar.render()) if bar.display else ""


def stored(ws: Workspace, board_id: str) -> list[Any]:
    """What a stored change would touch: control values, runs, versions."""
    return [
        ws.db.rows("SELECT id, value, current_run_id FROM blocks WHERE board_id = ? ORDER BY id", [board_id]),
        ws.db.rows("SELECT count(*) AS n FROM runs WHERE board_id = ?", [board_id]),
        ws.db.rows("SELECT count(*) AS n FROM board_versions WHERE board_id = ?", [board_id]),
    ]


async def pick_region(pilot: Pilot[Any], app: BallastApp, presses: int = 1) -> None:
    """Open the region drop-down and take the option `presses` below the current one."""
    cell(app, "region").query_one(Select).focus()
    await pilot.press("enter", *["down"] * presses, "enter")


async def wait_until(check: Any, pilots: list[Any], timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            for pilot in pilots:
                await pilot.pause(0.05)


async def test_a_viewers_choice_redraws_only_their_screen(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    owner = ws.users.local()
    _bob, bob_token = ws.users.create("bob")
    call(ws, "dashboard_grant", dashboard_id=board_id, user="bob", role="viewer")
    north = revenue_for(ws, board_id, "North")
    runner, port = await start_server(ws, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    try:
        editor = BallastApp(await RemoteBackend(url, ws.users.add_token(owner.id)).start(), board_id)
        viewer = BallastApp(await RemoteBackend(url, bob_token).start(), board_id)
        async with editor.run_test(size=(120, 40)) as p1, viewer.run_test(size=(120, 40)) as p2:
            await settle(p1)
            await settle(p2)
            assert isinstance(viewer.screen, DashboardScreen) and viewer.screen.role == "viewer"
            everyone = metric(editor, "revenue")
            assert metric(viewer, "revenue") == everyone != north
            before = stored(ws, board_id)
            assert own_view_line(viewer) == ""

            await pick_region(p2, viewer)  # All → North, for bob alone
            await wait_until(lambda: metric(viewer, "revenue") == north, [p1, p2])
            line = own_view_line(viewer)
            assert "your view" in line and "region North" in line and "b: stored values" in line
            assert cell(viewer, "revenue").status_text().startswith("your view")
            assert not cell(viewer, "intro").status_text().startswith("your view")  # not reached

            # Nothing stored, nobody else sees it: the editor's board stays as it was.
            await asyncio.sleep(0.5)
            await settle(p1)
            assert stored(ws, board_id) == before
            assert metric(editor, "revenue") == everyone
            assert own_view_line(editor) == ""
            assert cell(editor, "region").query_one(Select).value == "All"

            # A stored change by the editor still reaches bob, under his own choice: his region
            # stays North while the editor's new period applies.
            await editor.backend.call(
                "dashboard_set_control",
                dashboard_id=board_id,
                block_id=block_id(ws, board_id, "period"),
                value="30d",
            )
            north_30 = revenue_for(ws, board_id, "North")
            everyone_30 = revenue_for(ws, board_id, "All")
            assert north_30 != north
            await wait_until(lambda: metric(viewer, "revenue") == north_30, [p1, p2])
            await wait_until(lambda: metric(editor, "revenue") == everyone_30, [p1, p2])
            assert cell(viewer, "region").query_one(Select).value == "North"

            # `b`: back to the stored values.
            await p2.press("b")
            await wait_until(lambda: metric(viewer, "revenue") == everyone_30, [p1, p2])
            assert own_view_line(viewer) == ""
            assert cell(viewer, "region").query_one(Select).value == "All"
            assert not cell(viewer, "revenue").status_text().startswith("your view")
    finally:
        await runner.cleanup()


async def test_an_editor_stores_by_default_and_chooses_their_own_view_with_o(
    demo_ws: tuple[Workspace, str],
) -> None:
    ws, board_id = demo_ws
    north, south = revenue_for(ws, board_id, "North"), revenue_for(ws, board_id, "South")
    region_id = block_id(ws, board_id, "region")
    app = make_app(ws, board_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert "your view" in own_view_line(app) and "o: store changes" in own_view_line(app)
        before = stored(ws, board_id)
        await pick_region(pilot, app, presses=3)  # All → South, as their own view
        await wait_until(lambda: metric(app, "revenue") == south, [pilot])
        assert stored(ws, board_id) == before
        assert "region South" in own_view_line(app)

        # `o` again: back to the stored values, and the next choice is stored for everyone.
        await pilot.press("o")
        await wait_until(lambda: own_view_line(app) == "" and metric(app, "revenue") != south, [pilot])
        await pick_region(pilot, app)  # All → North, stored
        await wait_until(lambda: metric(app, "revenue") == north, [pilot])
        assert call(ws, "dashboard_get", dashboard_id=board_id)["dashboard"]["blocks"]
        value = next(
            b["value"]
            for b in call(ws, "dashboard_get", dashboard_id=board_id)["dashboard"]["blocks"]
            if b["id"] == region_id
        )
        assert value == "North" and own_view_line(app) == ""


def test_a_control_reaches_the_blocks_downstream_of_it_only(demo_ws: tuple[Workspace, str]) -> None:
    """What a viewer's pick redraws: the control and everything below it, not the rest of the board."""
    ws, board_id = demo_ws
    blocks = {b["id"]: b for b in call(ws, "dashboard_get", dashboard_id=board_id)["dashboard"]["blocks"]}
    names = {b["name"]: b["id"] for b in blocks.values()}
    reached = {blocks[b]["name"] for b in reached_by(blocks, {names["region"]})}
    assert {"region", "kpis", "revenue", "daily_revenue", "revenue_by_product"} <= reached
    assert not reached & {"intro", "period"}
    assert reached_by(blocks, {names["intro"]}) == {names["intro"]}
    assert reached_by(blocks, {"blk_not_on_this_board"}) == set()
