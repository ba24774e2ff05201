"""One block in the grid: a title line with its state, and its view.

States: running (a spinner), success (the age of its data), error (the
message), upstream error, pending. The cell fetches its own data in an
exclusive worker, so a newer load cancels an older one.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static

from ballast_tui.formatting import age
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.views import BlockView, view_for

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class BlockCell(UsesBackend, Vertical, can_focus=True):
    """A displayed block: title, state and view."""

    DEFAULT_CSS = """
    BlockCell { border: round $panel; height: 1fr; padding: 0 1; }
    BlockCell:focus-within, BlockCell:focus { border: round $accent; }
    BlockCell > .cell-title { height: 1; }
    BlockCell.-error { border: round $error; }
    BlockCell > .cell-error { color: $error; height: auto; }
    """

    state: reactive[str] = reactive("pending")
    running: reactive[bool] = reactive(False)

    def __init__(self, dashboard_id: str, block: dict[str, Any]) -> None:
        super().__init__(id=f"cell-{block['id']}")
        self.dashboard_id = dashboard_id
        self.block = block
        self.finished_at: str | None = None
        self._tick = 0

    def compose(self) -> ComposeResult:
        yield Static(classes="cell-title")
        yield Static(classes="cell-error")
        yield view_for(self.block)

    @property
    def view(self) -> BlockView:
        return self.query_one(BlockView)

    def on_mount(self) -> None:
        self.set_interval(0.1, self._spin)
        self.set_interval(30, self._render_title)
        self.state = self.block["state"]
        self.load()

    def _spin(self) -> None:
        if self.running:
            self._tick += 1
            self._render_title()

    def _render_title(self) -> None:
        title = self.block.get("config", {}).get("title") or self.block["name"]
        if self.running:
            status = f"{SPINNER[self._tick % len(SPINNER)]} running"
        elif self.state == "success":
            status = age(self.finished_at)
        else:
            status = self.state.replace("_", " ")
        self.query_one(".cell-title", Static).update(f"[b]{title}[/b]  [dim]{status}[/dim]")

    def watch_state(self, state: str) -> None:
        self.set_class(state in ("error", "upstream_error"), "-error")
        self._render_title()

    def watch_running(self, running: bool) -> None:
        self._render_title()

    def update_block(self, block: dict[str, Any]) -> None:
        """New config or state from the board."""
        self.block = block
        self.state = block["state"]

    @work(exclusive=True, group="load")
    async def load(self) -> None:
        """Fetch the block's current output at the size the view can show, and draw it."""
        data = await self.call(
            "dashboard_block_data",
            dashboard_id=self.dashboard_id,
            block_id=self.block["id"],
            **self.view.data_request(),
        )
        if data is None:
            return
        self.finished_at = data.get("finished_at")
        self.state = data["status"]
        error = self.query_one(".cell-error", Static)
        error.update(data.get("error") or "" if self.state in ("error", "upstream_error") else "")
        error.display = self.state in ("error", "upstream_error")
        self.view.show(self.block, data)
        self._render_title()
