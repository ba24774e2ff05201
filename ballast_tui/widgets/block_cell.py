"""One block in the grid: a title line with its state, and its view.

States: running (a spinner), success (the age of its data), error (the
message), upstream error, pending. The cell fetches its own data in an
exclusive worker, so a newer load cancels an older one.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Static

from ballast_tui.formatting import age
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.views import BlockView, view_for

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class BlockCell(UsesBackend, Vertical, can_focus=True):
    """A displayed block: its title and state on the border, and its view inside.

    The title sits on the top border and the state (age, spinner, error) on the
    bottom one, so that every text row inside is the view's: a control fits a
    cell three rows tall.
    """

    DEFAULT_CSS = """
    BlockCell {
        border: round $foreground 25%; height: 1fr; padding: 0 1;
        border-title-color: $text; border-subtitle-color: $text-muted;
        border-subtitle-align: right;
    }
    BlockCell:focus-within, BlockCell:focus { border: round $accent; border-title-color: $accent; }
    BlockCell.-locked { border-subtitle-color: $warning; }
    BlockCell.-error { border: round $error; border-subtitle-color: $error; }
    BlockCell > .cell-error { color: $error; height: auto; max-height: 100%; display: none; }
    BlockCell.-error > .cell-error { display: block; }
    BlockCell.-error > BlockView { display: none; }
    """

    state: reactive[str] = reactive("pending")
    running: reactive[bool] = reactive(False)
    locked_by: reactive[str] = reactive("")
    """The name of whoever else has the block open in an editor ("" when nobody does)."""

    def __init__(
        self,
        dashboard_id: str,
        block: dict[str, Any],
        *,
        load_on_mount: bool = True,
        size_hint: tuple[int, int] = (0, 0),
    ) -> None:
        super().__init__(id=f"cell-{block['id']}")
        self.size_hint = size_hint
        """The width and height the grid expects the view to get (its data may be asked before the
        layout)."""
        self.load_on_mount = load_on_mount
        """False when the screen fetches every cell's first data at once (`DashboardScreen`)."""
        self.dashboard_id = dashboard_id
        self.block = block
        self.finished_at: str | None = None
        self._tick = 0
        self._spinner: Timer | None = None
        self.overrides: dict[str, Any] | None = None
        """Your own view's control values, sent with each data request (None: the stored ones)."""
        self.overridden = False
        """Whether what the cell shows is your own view's rather than the stored output."""
        self._error = ""
        self._shown: tuple[dict[str, Any], dict[str, Any]] | None = None
        """The block and data the view last drew: the same answer again is not redrawn."""

    def compose(self) -> ComposeResult:
        # (The error's line is mounted when there first is one: most cells never fail.)
        view = view_for(self.block)
        view.width_hint, view.height_hint = self.size_hint
        yield view

    @property
    def view(self) -> BlockView:
        return self.query_one(BlockView)

    def on_mount(self) -> None:
        self.set_interval(30, self._render_title)
        self._turn_spinner()
        self.state = self.block["state"]
        if self.load_on_mount:
            # After the first layout, so the view asks for data at its real size.
            self.call_after_refresh(self.load)

    def _spin(self) -> None:
        self._tick += 1
        self._render_title()

    def status_text(self) -> str:
        """What the bottom border says: running, the age of the data, or the state."""
        if self.running:
            status = f"{SPINNER[self._tick % len(SPINNER)]} running"
        elif self.overridden:
            status = "your view" if self.state == "success" else f"your view · {self.state.replace('_', ' ')}"
        elif self.state == "success":
            status = age(self.finished_at)
        else:
            status = self.state.replace("_", " ")
        if self.locked_by:
            status = f"locked by {self.locked_by} · {status}"
        return status

    def _render_title(self) -> None:
        title = self.block.get("config", {}).get("title") or self.block["name"]
        self.border_title = Content.styled(str(title), "bold")
        self.border_subtitle = Content(self.status_text())

    @property
    def title_text(self) -> str:
        """The title and state as a person reads them on the border."""
        return f"{self.border_title or ''}  {self.border_subtitle or ''}"

    def watch_state(self, state: str) -> None:
        self.set_class(state in ("error", "upstream_error"), "-error")
        self._render_title()

    def watch_running(self, running: bool) -> None:
        self._turn_spinner()
        self._render_title()

    def _turn_spinner(self) -> None:
        """The spinner turns only while the block runs: an idle board wakes nobody ten times a second."""
        if self.running and self._spinner is None:
            self._spinner = self.set_interval(0.1, self._spin)
        elif not self.running and self._spinner is not None:
            self._spinner.stop()
            self._spinner = None

    def watch_locked_by(self, locked_by: str) -> None:
        self.set_class(bool(locked_by), "-locked")
        self._render_title()

    def update_block(self, block: dict[str, Any]) -> None:
        """New config or state from the board."""
        self.block = block
        self.state = block["state"]

    @work(exclusive=True, group="load")
    async def load(self) -> None:
        """Fetch the block's current output at the size the view can show, and draw it."""
        data = await self.fetch()
        if data is not None:
            self.present(data)

    def data_arguments(self) -> dict[str, Any] | None:
        """What `fetch` asks `dashboard_block_data` now (None while the view is not composed)."""
        try:
            request = self.view.data_request()
        except NoMatches:
            return None  # not composed yet, or on its way out
        return block_data_arguments(self.dashboard_id, self.block["id"], request, self.overrides)

    def takes(self, arguments: dict[str, Any]) -> bool:
        """Whether an answer to `arguments`, asked before the cell was laid out, suits it now."""
        request = {k: v for k, v in arguments.items() if k not in ("dashboard_id", "block_id")}
        overrides = request.pop("filter_overrides", None)
        if arguments.get("block_id") != self.block["id"] or overrides != (self.overrides or None):
            return False
        try:
            return self.view.takes(request)
        except NoMatches:
            return False

    async def fetch(self) -> dict[str, Any] | None:
        """The block's data at the size the view can show, for the values in force (None: none)."""
        arguments = self.data_arguments()
        if arguments is None:
            return None
        return await self.call("dashboard_block_data", **arguments)

    def present(self, data: dict[str, Any]) -> None:
        """Draw a `fetch` answer: the state on the border, the error or the view."""
        self.overridden = bool(data.get("overridden"))
        self.finished_at = data.get("finished_at")
        self.state = data["status"]
        failed = self.state in ("error", "upstream_error")
        message = data.get("error") or ("an upstream block failed" if self.state == "upstream_error" else "")
        error = message if failed else ""
        shown = (dict(self.block), data)
        try:
            if error != self._error:
                # Static.update re-lays out the whole screen: only when the message changes.
                self._error = error
                self._show_error(Content(error))
            if shown != self._shown:
                self._shown = shown
                self.view.show(self.block, data)
        except NoMatches:
            return  # the grid was rebuilt while the data came
        self._render_title()

    def _show_error(self, error: Content) -> None:
        """The error's line above the view (shown while the cell has the `-error` class)."""
        lines = self.query(".cell-error")
        if lines:
            lines.first(Static).update(error)
        else:
            self.mount(Static(error, classes="cell-error"), before=self.view)

    @on(BlockView.DataWanted)
    def _data_wanted(self, message: BlockView.DataWanted) -> None:
        message.stop()
        if message.request is None:
            self.load()
        else:
            self.load_more(message.request)

    @work(exclusive=True, group="page")
    async def load_more(self, request: dict[str, Any]) -> None:
        """Fetch one more slice the view asked for (a table's next page) and hand it over."""
        data = await self.call(
            "dashboard_block_data",
            **block_data_arguments(self.dashboard_id, self.block["id"], request, self.overrides),
        )
        if data is not None:
            with suppress(NoMatches):
                self.view.show_more(data, request)


def block_data_arguments(
    dashboard_id: str, block_id: str, request: dict[str, Any], overrides: dict[str, Any] | None
) -> dict[str, Any]:
    """`dashboard_block_data`'s arguments for a view's `request`, with your own view's values."""
    arguments = {"dashboard_id": dashboard_id, "block_id": block_id, **request}
    if overrides:
        arguments["filter_overrides"] = overrides
    return arguments
