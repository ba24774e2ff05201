"""A board's versions: every change to its definition, newest first; two compared; one restored.

Space marks up to two versions, `d` shows the marked two side by side (or the
highlighted one against the newest), `r` restores the highlighted version
behind a confirmation. A restore is a new version; everyone in the board sees
what it changed at once.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from ballast_tui.engine.events import AccessLost, BlockChanged, BoardChanged, BoardDeleted, LayoutChanged
from ballast_tui.formatting import age
from ballast_tui.screens.dialogs import ConfirmDialog
from ballast_tui.screens.run_format import local_time
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.footer import Footer

CHANGES = (BlockChanged, LayoutChanged, BoardChanged)


class VersionsScreen(UsesBackend, Screen[None]):
    """The versions of one board."""

    DEFAULT_CSS = """
    VersionsScreen #versions-title { height: auto; padding: 0 1; }
    VersionsScreen #versions { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("space", "mark", "Mark"),
        Binding("d", "diff", "Diff"),
        Binding("r", "restore", "Restore"),
    ]

    def __init__(self, dashboard_id: str, title: str = "") -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.board_title = title
        self.versions: list[dict[str, Any]] = []
        self.marked: list[int] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="versions-title")
        yield DataTable(id="versions", cursor_type="row", zebra_stripes=True)
        yield Footer()

    async def on_mount(self) -> None:
        table = self.query_one("#versions", DataTable)
        table.add_column("", key="mark", width=2)
        table.add_columns("#", "When", "Age", "Who", "What changed")
        table.focus()
        await self.reload()
        self.follow_events()

    async def reload(self) -> None:
        answer = await self.call("dashboard_versions", dashboard_id=self.dashboard_id, limit=1000)
        if answer is None:
            return
        self.versions = answer["versions"]
        numbers = {v["number"] for v in self.versions}
        self.marked = [m for m in self.marked if m in numbers]
        title = Text.assemble(
            ("Versions", "bold"), " · ", self.board_title, f" · {len(self.versions)} versions"
        )
        self.query_one("#versions-title", Static).update(title)
        table = self.query_one("#versions", DataTable)
        row = table.cursor_row
        table.clear()
        for version in self.versions:
            table.add_row(
                Text("●" if version["number"] in self.marked else ""),
                Text(str(version["number"]), justify="right"),
                local_time(version["at"]),
                age(version["at"]),
                Text(version.get("actor_name") or "?"),
                Text(version["summary"]),
                key=str(version["number"]),
            )
        if self.versions:
            table.move_cursor(row=min(row, len(self.versions) - 1))

    @work(group="events", exclusive=True)
    async def follow_events(self) -> None:
        """New versions appear as people change the board."""
        async for event in self.backend.events(self.dashboard_id):
            if isinstance(event, BoardDeleted | AccessLost):
                self.app.pop_screen()
                return
            if isinstance(event, CHANGES):
                self.reload_later()

    @work(group="versions-load", exclusive=True)
    async def reload_later(self) -> None:
        await self.reload()

    def highlighted(self) -> int | None:
        table = self.query_one("#versions", DataTable)
        if not self.versions or table.cursor_row >= len(self.versions):
            return None
        return int(self.versions[table.cursor_row]["number"])

    async def action_mark(self) -> None:
        number = self.highlighted()
        if number is None:
            return
        if number in self.marked:
            self.marked.remove(number)
        else:
            self.marked = [*self.marked, number][-2:]
        await self.reload()

    def action_diff(self) -> None:
        from ballast_tui.screens.version_diff import VersionDiffScreen

        if len(self.marked) == 2:
            first, second = sorted(self.marked)
        else:
            number = self.highlighted()
            if number is None or not self.versions:
                return
            first, second = number, int(self.versions[0]["number"])
            if first == second:
                self.notify("Mark two versions with space, or highlight an older one.", title="diff")
                return
        self.app.push_screen(VersionDiffScreen(self.dashboard_id, first, second))

    @work(group="versions-restore", exclusive=True)
    async def action_restore(self) -> None:
        number = self.highlighted()
        if number is None:
            return
        question = (
            f"Restore version {number}? The board becomes what it was then, as a new version; "
            "only what changes re-runs, and everyone in the board sees it."
        )
        if await self.app.push_screen_wait(ConfirmDialog(question, confirm="Restore")):
            await self._restore(number)

    async def _restore(self, number: int) -> None:
        answer = await self.call("dashboard_restore", dashboard_id=self.dashboard_id, version=number)
        if answer is None:
            return
        ran = len(answer["cascade"]["ran"]) + len(answer["cascade"]["reused"])
        self.notify(
            f"Version {number} restored as version {answer['version']}; {ran} blocks updated.",
            title="restore",
        )
        await self.reload()

    def action_back(self) -> None:
        self.dismiss()
