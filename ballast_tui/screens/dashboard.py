"""One dashboard: its grid of blocks, live, with everything a person does to it."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.grid import Grid
from ballast_tui.widgets.views import ControlChanged


class DashboardScreen(UsesBackend, Screen[None]):
    """A dashboard's grid, kept current by the board's events."""

    CSS_PATH = "dashboard.tcss"
    BINDINGS = [
        Binding("escape", "back", "Dashboards"),
        Binding("R", "refresh_board", "Refresh"),
        Binding("tab", "focus_next", "Next block", show=False),
        Binding("shift+tab", "focus_previous", "Previous block", show=False),
    ]

    def __init__(self, dashboard_id: str) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.dashboard: dict[str, Any] = {}
        self.blocks: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="board-title")
        yield Static(id="presence")
        yield Grid(id="grid")
        yield Footer()

    async def on_mount(self) -> None:
        await self.reload()
        self.follow_events()

    async def reload(self) -> None:
        """Fetch the board and rebuild the grid."""
        answer = await self.call("dashboard_get", dashboard_id=self.dashboard_id)
        if answer is None:
            self.dismiss()
            return
        self.dashboard = answer["dashboard"]
        self.blocks = {b["id"]: b for b in self.dashboard["blocks"]}
        self.render_title()
        await self.query_one(Grid).build(self.dashboard_id, self.dashboard["layout"], self.blocks)

    def render_title(self) -> None:
        d = self.dashboard
        sharing = "public" if d.get("isPublic") else "private"
        hidden = sum(1 for b in self.blocks.values() if not b["displayed"])
        self.query_one("#board-title", Static).update(
            f"[b]{d.get('title', '')}[/b]  [dim]{d.get('role')} · {sharing} · {len(self.blocks)} blocks"
            f" ({hidden} hidden)[/dim]"
        )

    @work(group="events", exclusive=True)
    async def follow_events(self) -> None:
        """Apply every event of the board as it comes; nothing polls."""
        async for event in self.backend.events(self.dashboard_id):
            await self.apply_event(event)

    async def apply_event(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        grid = self.query_one(Grid)
        if kind == "run_started":
            cell = grid.cell(event["block_id"])
            if cell is not None:
                cell.running = True
        elif kind == "run_finished":
            cell = grid.cell(event["block_id"])
            if cell is not None:
                cell.running = False
                cell.load()
        elif kind in ("layout_changed", "board_changed") or (
            kind == "block_changed" and event.get("change") in ("added", "deleted", "displayed")
        ):
            await self.reload()
        elif kind == "block_changed" and "block" in event:
            self.blocks[event["block_id"]] = {**self.blocks.get(event["block_id"], {}), **event["block"]}
            cell = grid.cell(event["block_id"])
            if cell is not None:
                cell.update_block(self.blocks[event["block_id"]])
        elif kind == "control_changed":
            block = self.blocks.get(event["block_id"])
            if block is not None:
                block["value"] = event["value"]
        elif kind == "board_deleted":
            self.notify("This dashboard was deleted.", severity="warning")
            self.dismiss()

    @on(ControlChanged)
    async def set_control(self, message: ControlChanged) -> None:
        await self.call(
            "dashboard_set_control",
            dashboard_id=self.dashboard_id,
            block_id=message.block_id,
            value=message.value,
        )

    def action_back(self) -> None:
        self.dismiss()

    @work(group="refresh", exclusive=True)
    async def action_refresh_board(self) -> None:
        answer = await self.call("dashboard_refresh", dashboard_id=self.dashboard_id)
        if answer is not None:
            failed = len(answer["cascade"]["failed"])
            self.notify(
                f"Refreshed {len(answer['cascade']['ran'])} blocks" + (f", {failed} failed" if failed else "")
            )
