"""The first screen: the boards this person may see; create, open, clone, delete, filter."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input

from ballast_tui.formatting import age
from ballast_tui.screens.dialogs import ConfirmDialog, PromptDialog
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.footer import Footer

INTERVALS = {300: "5 min", 900: "15 min", 3600: "hourly", 86400: "daily"}


class DashboardsScreen(UsesBackend, Screen[None]):
    """Every board the person has a role on."""

    CSS_PATH = "dashboards.tcss"
    BINDINGS = [
        Binding("enter", "open", "Open", show=True),
        Binding("n", "new", "New"),
        Binding("c", "clone", "Clone"),
        Binding("d", "delete", "Delete"),
        Binding("slash", "filter", "Filter"),
        Binding("r", "reload", "Reload"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.boards: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="type to filter dashboards…", id="filter")
        yield DataTable(id="boards", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Title", "Role", "Sharing", "Refresh", "Changed")
        table.focus()
        # The list loads on ScreenResume, which Textual also sends when the screen is first shown.

    def on_screen_resume(self) -> None:
        if self.app.screen is self:  # not when a dashboard opened on top at launch
            self.reload()

    @work(exclusive=True, group="boards")
    async def reload(self) -> None:
        answer = await self.call("dashboard_list")
        if answer is None:
            return
        self.boards = answer["dashboards"]
        self.refill()
        start = getattr(self.app, "start_services", None)
        if start is not None:
            self.call_after_refresh(start)  # the list is on screen: serve the workspace now

    def refill(self) -> None:
        table = self.query_one(DataTable)
        wanted = self.query_one("#filter", Input).value.strip().lower()
        selected = self.selected_id()
        table.clear()
        for board in self.boards:
            if wanted and wanted not in board["title"].lower():
                continue
            sharing = (
                ("public 🔒" if board["passwordProtected"] else "public") if board["isPublic"] else "private"
            )
            refresh = INTERVALS.get(board["refreshInterval"], "") if board["refreshEnabled"] else "off"
            title = Text(board["title"])
            table.add_row(title, board["role"], sharing, refresh, age(board["updatedAt"]), key=board["id"])
        if selected is not None and selected in [str(r.value) for r in table.rows]:
            table.move_cursor(row=table.get_row_index(selected))

    def selected_id(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(key.value)

    def selected_board(self) -> dict[str, Any] | None:
        board_id = self.selected_id()
        return next((b for b in self.boards if b["id"] == board_id), None)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.refill()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.query_one(DataTable).focus()

    def action_reload(self) -> None:
        self.reload()

    def action_open(self) -> None:
        from ballast_tui.screens.dashboard import DashboardScreen

        board_id = self.selected_id()
        if board_id:
            self.app.push_screen(DashboardScreen(board_id))

    @work
    async def action_new(self) -> None:
        title = await self.app.push_screen_wait(
            PromptDialog("Title of the new dashboard", placeholder="Revenue")
        )
        if not title:
            return
        answer = await self.call("dashboard_create", title=title)
        if answer is None:
            return
        from ballast_tui.screens.dashboard import DashboardScreen

        self.app.push_screen(DashboardScreen(answer["dashboard"]["id"]))

    @work
    async def action_clone(self) -> None:
        board = self.selected_board()
        if board is None:
            return
        answer = await self.call("dashboard_clone", dashboard_id=board["id"])
        if answer is None:
            return
        self.notify(f"Cloned as {answer['dashboard']['title']}")
        self.reload()

    @work
    async def action_delete(self) -> None:
        board = self.selected_board()
        if board is None:
            return
        sure = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Delete {board['title']!r} with all its blocks, runs and data? This cannot be undone."
            )
        )
        if not sure:
            return
        if await self.call("dashboard_delete", dashboard_id=board["id"]) is None:
            return
        self.notify(f"Deleted {board['title']}")
        self.reload()
