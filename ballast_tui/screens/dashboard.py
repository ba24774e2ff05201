"""One dashboard: its grid of blocks, live, with everything a person does to it."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Header, Static

from ballast_tui.engine import events as ev
from ballast_tui.formatting import who
from ballast_tui.screens.board_keys import BoardKeys
from ballast_tui.screens.own_view import OwnView, reached_by
from ballast_tui.widgets.block_cell import BlockCell
from ballast_tui.widgets.cell_data import EarlyAnswers, answers_for, ask_early, ask_now
from ballast_tui.widgets.footer import Footer
from ballast_tui.widgets.grid import Grid
from ballast_tui.widgets.views import ControlChanged

FIRST_DATA_WAIT_S = 0.5
"""The grid is shown with its first data, or this long after the screen opens if that is slower."""


class DashboardScreen(BoardKeys, Screen[None]):
    """A dashboard's grid, kept current by the board's events."""

    CSS_PATH = "dashboard.tcss"
    AUTO_FOCUS = ""
    """Nothing focused on mounting: `reload` focuses the first cell once the grid is built (the empty
    grid focused first would restyle every cell when it passes focus on)."""
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("e", "edit_block", "Edit"),
        Binding("a", "add_block", "Add"),
        Binding("g", "graph", "Blocks"),
        Binding("h", "history", "History"),
        Binding("k", "catalog", "Catalog"),
        Binding("s", "share", "Share"),
        Binding("x", "export", "Export"),
        Binding("R", "refresh_board", "Refresh"),
        Binding("t", "refresh_settings", "Auto-refresh", show=False),
        Binding("u", "audit", "Audit", show=False),
        Binding("v", "versions", "Versions", show=False),
        Binding("o", "own_view", "Own view", show=False),
        Binding("b", "stored_values", "Stored values"),
        Binding("ctrl+up", "move_block('up')", "Move block up", show=False),
        Binding("ctrl+down", "move_block('down')", "Move block down", show=False),
        Binding("ctrl+left", "move_block('left')", "Move block left", show=False),
        Binding("ctrl+right", "move_block('right')", "Move block right", show=False),
        Binding("plus,equals_sign", "resize_row(20)", "Taller row", show=False),
        Binding("minus", "resize_row(-20)", "Shorter row", show=False),
        Binding("right_square_bracket", "resize_width(1)", "Wider block", show=False),
        Binding("left_square_bracket", "resize_width(-1)", "Narrower block", show=False),
        Binding("tab", "app.focus_next", "Next block", show=False),
        Binding("shift+tab", "app.focus_previous", "Previous block", show=False),
    ]

    def __init__(self, dashboard_id: str) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.dashboard: dict[str, Any] = {}
        self.blocks: dict[str, dict[str, Any]] = {}
        self.sessions: list[dict[str, Any]] = []
        self.locks: dict[str, dict[str, Any]] = {}
        self.connection = "live"
        self.own_view = OwnView()
        self._own_view_line = Text()
        self._stale: set[str] | None = set()
        """The cells the next `redraw_cells` redraws (None: all of them)."""
        self._redraw_soon = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="board-title")
        yield Static(id="presence")
        yield Static(id="own-view")
        grid = Grid(id="grid")
        # Not drawn empty: shown with its first data (or after FIRST_DATA_WAIT_S), drawn once.
        grid.display = False
        yield grid
        yield Footer()

    def on_mount(self) -> None:
        self.set_timer(FIRST_DATA_WAIT_S, self.show_grid)
        self.open_board()

    @work(group="open", exclusive=True)
    async def open_board(self) -> None:
        """Fetch the board, build its grid, then follow its events. A worker, not the mount handler:
        the screen goes on with its own messages meanwhile (its first styling, while only its frame
        is there, instead of once more for every cell after the grid is built)."""
        await self.reload()
        self.follow_events()

    async def reload(self) -> None:
        """Fetch the board and rebuild the grid."""
        answer = await self.call("dashboard_get", dashboard_id=self.dashboard_id)
        if answer is None:
            self.leave()
            return
        focused = self.focused_block()
        self.dashboard = answer["dashboard"]
        self.blocks = {b["id"]: b for b in self.dashboard["blocks"]}
        self.locks = {lock["block_id"]: lock for lock in self.dashboard.get("locks", [])}
        self.own_view.keep_only(self.blocks)
        self.render_title()
        self.render_own_view()
        grid = self.query_one(Grid)
        shown = {block_id: self.own_view.shown(b) for block_id, b in self.blocks.items()}
        plan = grid.plan(self.dashboard["layout"], shown)
        early = ask_early(self.call, self.dashboard_id, plan, shown, self.own_view.overrides())
        with self.app.batch_update():  # no frame of a grid half built
            await grid.build(self.dashboard_id, self.dashboard["layout"], shown, load=False)
        for each in grid.cells():
            each.overrides = self.own_view.overrides()
        self._stale = None
        self.redraw_cells(early)
        cell = grid.cell(focused["id"]) if focused else None
        if cell is not None:
            cell.focus()
        elif grid.cells():
            grid.cells()[0].focus()
        self.mark_locks()

    def render_title(self) -> None:
        d = self.dashboard
        sharing = "public" if d.get("isPublic") else "private"
        hidden = sum(1 for b in self.blocks.values() if not b["displayed"])
        self.query_one("#board-title", Static).update(
            Text.assemble(
                (str(d.get("title", "")), "bold"),
                "  ",
                (f"{d.get('role')} · {sharing} · {len(self.blocks)} blocks ({hidden} hidden)", "dim"),
            )
        )

    def render_presence(self) -> None:
        """Who else is here (people and agents) and what each has open; the connection when it is down."""
        me = self.backend.session.session_id
        others = [s for s in self.sessions if s["session"] != me]
        text = Text()
        if self.connection == "lost":
            text.append(" connection lost: reconnecting… ", "reverse red")
            text.append("  ")
        for index, session in enumerate(others):
            if index == 0:
                text.append("also here:", "dim")
            text.append(" " if index == 0 else " · ")
            text.append(who(session["user"]["name"], session["kind"]), "bold")
            block = self.blocks.get(session.get("block_id") or "")
            if block:
                text.append(" ")
                text.append("editing", "dim")
                text.append(f" {block['name']}")
        bar = self.query_one("#presence", Static)
        bar.update(text)
        bar.display = bool(text)

    def mark_locks(self) -> None:
        """Mark each cell held by someone else with the holder's name (an agent marked as one)."""
        me = self.backend.session.session_id
        for cell in self.query_one(Grid).cells():
            lock = self.locks.get(cell.block["id"])
            mine = lock is not None and lock.get("session") == me
            holder = lock["holder"] if lock is not None else {}
            cell.locked_by = "" if lock is None or mine else who(str(holder["name"]), holder.get("kind"))

    @work(group="events", exclusive=True)
    async def follow_events(self) -> None:
        """Apply every event of the board as it comes; nothing polls."""
        async for event in self.backend.events(self.dashboard_id):
            try:
                await self.apply_event(event)
            except NoMatches:
                # The grid and the presence bar live as long as the screen: missing, the app is
                # taking the screen down and an event arrived in between.
                return

    async def apply_event(self, event: ev.Event) -> None:
        grid = self.query_one(Grid)
        match event:
            case ev.Presence(sessions=sessions):
                self.sessions = sessions
                self.render_presence()
            case ev.LockChanged(block_id=block_id, lock=lock):
                if lock:
                    self.locks[block_id] = lock
                else:
                    self.locks.pop(block_id, None)
                self.mark_locks()
            case ev.Connection(state=state):
                self.connection = state
                self.render_presence()
                if state == "resumed":
                    await self.reload()
            case ev.Reload():
                await self.reload()
            case ev.RunStarted(block_id=block_id):
                cell = grid.cell(block_id)
                if cell is not None:
                    cell.running = True
            case ev.RunFinished(block_id=block_id):
                cell = grid.cell(block_id)
                if cell is not None:
                    cell.running = False
                    self.redraw_soon({block_id})
            case ev.LayoutChanged() | ev.BoardChanged():
                await self.reload()
            case ev.BlockChanged(change="added" | "deleted" | "displayed"):
                await self.reload()
            case ev.BlockChanged(block_id=block_id, block=dict() as block):
                self.blocks[block_id] = {**self.blocks.get(block_id, {}), **block}
                cell = grid.cell(block_id)
                if cell is not None:
                    cell.update_block(self.own_view.shown(self.blocks[block_id]))
            case ev.ControlChanged(block_id=block_id, value=value):
                stored = self.blocks.get(block_id)
                if stored is not None:
                    stored["value"] = value
            case ev.BoardDeleted():
                self.notify("This dashboard was deleted.", severity="warning")
                self.leave()
            case ev.AccessLost():
                self.notify("You no longer have access to this dashboard.", severity="warning")
                self.leave()

    @on(ControlChanged)
    async def set_control(self, message: ControlChanged) -> None:
        """A control picked: your own view for a viewer (or an editor who chose it), else stored."""
        if self.own_view.applies(self.role):
            self.own_view.choose(message.block_id, message.value)
            self.apply_own_view(changed={message.block_id})
            return
        await self.call(
            "dashboard_set_control",
            dashboard_id=self.dashboard_id,
            block_id=message.block_id,
            value=message.value,
        )

    @property
    def role(self) -> str | None:
        """The caller's role in this board."""
        role = self.dashboard.get("role")
        return str(role) if role else None

    def render_own_view(self) -> None:
        """The "your view" line, redrawn only when it says something new (an update re-lays out)."""
        line = self.own_view.describe(self.blocks, self.role)
        if line == self._own_view_line:
            return
        before, self._own_view_line = self._own_view_line, line
        bar = self.query_one("#own-view", Static)
        width = bar.content_region.width
        # One line before and after: the screen's layout stays, so only the bar is redrawn.
        same_size = bar.display and bool(line) and 0 < max(before.cell_len, line.cell_len) <= width
        bar.update(line, layout=not same_size)
        bar.display = bool(line)

    def apply_own_view(self, changed: set[str] | None = None) -> None:
        """Redraw the cells for the values in force (yours, or the stored ones): those the `changed`
        controls reach, or every cell."""
        overrides = self.own_view.overrides()
        cells = self.query_one(Grid).cells()
        for cell in cells:
            cell.overrides = overrides
        if changed is None:
            self._stale = None
        elif self._stale is not None:
            self._stale |= reached_by(self.blocks, changed)
        # Asked first: the requests reach the tool threads while the screen re-lays out for the rest.
        early = ask_now(self.call, self.stale_cells())
        was_shown = self.query_one("#own-view", Static).display
        self.render_own_view()
        if was_shown != self.own_view.active:
            self.refresh_bindings()
        for cell in cells:
            stored = self.blocks.get(cell.block["id"])
            if stored is not None:
                cell.update_block(self.own_view.shown(stored))
        self.redraw_cells(early)

    def stale_cells(self) -> list[BlockCell]:
        """The cells the next `redraw_cells` redraws."""
        stale = self._stale
        return [c for c in self.query_one(Grid).cells() if stale is None or c.block["id"] in stale]

    def redraw_soon(self, block_ids: set[str]) -> None:
        """Redraw these cells once the events already come are applied: a cascade's runs finish
        together, and their cells are fetched at once and drawn in one screen update."""
        if self._stale is not None:
            self._stale |= block_ids
        if not self._redraw_soon:
            self._redraw_soon = True
            self.call_later(self._redraw_now)

    def _redraw_now(self) -> None:
        self._redraw_soon = False
        self.redraw_cells()

    @work(group="own-view", exclusive=True)
    async def redraw_cells(self, early: EarlyAnswers | None = None) -> None:
        """Every cell's data fetched at once and drawn in one screen update (not one per answer):
        the first paint, a change of your own view, a cascade's finished runs. An `early` answer
        serves a cell that takes it (`BlockCell.takes`; else the cell asks again)."""
        cells = self.stale_cells()
        answers = await answers_for(cells, early)
        self._stale = set()  # (a redraw cancelled by a newer one leaves its cells to that one)
        with self.app.batch_update():
            for cell, data in zip(cells, answers, strict=True):
                if data is not None and cell.is_attached:
                    cell.present(data)
            self.show_grid()
        self.call_after_refresh(self.drawn)

    def show_grid(self) -> None:
        """Show the grid (hidden until its first data came)."""
        self.query_one(Grid).display = True

    def drawn(self) -> None:
        """The board is on screen: the app may start what waited for that (its embedded server)."""
        start = getattr(self.app, "start_services", None)
        if start is not None:
            start()

    def action_own_view(self) -> None:
        """An editor switches between changing the stored values and a view of their own."""
        if self.own_view.applies(self.role) and not self.own_view.chosen:
            self.notify("As a viewer, the controls change your own view only.", title="your view")
            return
        if self.own_view.chosen:
            self.action_stored_values()
            self.notify("Control changes now change the stored values: everyone sees them.")
        else:
            self.own_view.chosen = True
            self.render_own_view()
            self.refresh_bindings()
            self.notify("Control changes now change only what you see; nothing is stored.", title="your view")

    def action_stored_values(self) -> None:
        """Leave your own view: the board as everyone sees it."""
        if self.own_view.active:
            self.own_view.reset()
            self.apply_own_view()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stored_values":
            return self.own_view.active
        return True

    def action_back(self) -> None:
        self.leave()

    def leave(self) -> None:
        """Back to the list of boards: the screen below, or a new list when the app was opened on this
        board (`ballast open ID` draws the board first and makes the list only when it is left)."""
        if len(self.app.screen_stack) > 2:
            self.dismiss()
        else:
            from ballast_tui.screens.dashboards import DashboardsScreen  # made only when needed

            self.app.switch_screen(DashboardsScreen())

    @work(group="refresh", exclusive=True)
    async def action_refresh_board(self) -> None:
        answer = await self.call("dashboard_refresh", dashboard_id=self.dashboard_id)
        if answer is not None:
            failed = len(answer["cascade"]["failed"])
            self.notify(
                f"Refreshed {len(answer['cascade']['ran'])} blocks" + (f", {failed} failed" if failed else "")
            )
