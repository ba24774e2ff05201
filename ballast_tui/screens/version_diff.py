"""Two versions of a board side by side: the older on the left, the newer on the right; SQL compared
line by line, blocks added and removed, the layout and the settings."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from ballast_tui.screens.diff_text import columns
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.footer import Footer


class VersionDiffScreen(UsesBackend, Screen[None]):
    """`dashboard_version_diff` of two versions, in two columns."""

    DEFAULT_CSS = """
    VersionDiffScreen #diff-title { height: auto; padding: 0 1; }
    VersionDiffScreen #diff-body { height: 1fr; }
    VersionDiffScreen .diff-side { width: 1fr; padding: 0 1; border-right: vkey $panel; }
    VersionDiffScreen .diff-part { margin-bottom: 1; }
    """
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, dashboard_id: str, version: int, other_version: int) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.version = version
        self.other_version = other_version

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="diff-title")
        with Horizontal(id="diff-body"):
            yield VerticalScroll(id="diff-left", classes="diff-side")
            yield VerticalScroll(id="diff-right", classes="diff-side")
        yield Footer()

    async def on_mount(self) -> None:
        answer = await self.call(
            "dashboard_version_diff",
            dashboard_id=self.dashboard_id,
            version=self.version,
            other_version=self.other_version,
        )
        board = await self.call("dashboard_get", dashboard_id=self.dashboard_id)
        if answer is None:
            return
        names = {b["id"]: b["name"] for b in (board or {}).get("dashboard", {}).get("blocks", [])}
        for side in (answer["diff"]["added"], answer["diff"]["removed"]):
            names.update({b["id"]: b["name"] for b in side})
        sections = columns(answer["diff"], names)
        self.query_one("#diff-title", Static).update(
            Text.assemble(
                ("Version ", "bold"),
                (str(self.version), "bold"),
                "  →  ",
                ("version ", "bold"),
                (str(self.other_version), "bold"),
                f"   {len(sections)} change{'s' if len(sections) != 1 else ''}"
                if sections
                else "   no change to the board's definition",
            )
        )
        left, right = (
            self.query_one("#diff-left", VerticalScroll),
            self.query_one("#diff-right", VerticalScroll),
        )
        for before, after in sections:
            await left.mount(Static(before, classes="diff-part"))
            await right.mount(Static(after, classes="diff-part"))

    def action_back(self) -> None:
        self.dismiss()
