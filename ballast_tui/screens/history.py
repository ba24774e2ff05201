"""A block's run history: every run, one run's rows and inputs, and two runs compared.

HistoryScreen lists the runs newest first; enter opens one (RunScreen), space
marks up to two, c compares (CompareScreen). The older run is always on the
left, so a delta reads "what changed since".
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Header, Static

from ballast_tui.engine.events import AccessLost, BoardDeleted, RunFinished
from ballast_tui.formatting import age
from ballast_tui.screens.compare import CompareScreen
from ballast_tui.screens.run_format import (
    MAX_MARKED,
    RUNS_LIMIT,
    Run,
    describe_inputs,
    duration,
    local_time,
    plural,
    row_count,
    status_text,
)
from ballast_tui.screens.run_view import RunScreen
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.footer import Footer


class HistoryScreen(Screen[None], UsesBackend):
    """The runs of one block, newest first."""

    CSS_PATH = "history.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter", "open_run", "Open run", priority=True),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, dashboard_id: str, block: dict[str, Any]) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.block = block
        self.title = f"History · {block['name']}"
        self.runs: list[Run] = []
        self.marked: list[str] = []
        self._pending_reload: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="history-title")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="run-detail"):
            yield Static(id="run-inputs")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        table.add_column("", key="mark", width=2)
        table.add_columns("When", "Age", "Who", "Trigger", "Status", "Took", "Rows")
        table.focus()
        self.follow_events()

    def on_screen_resume(self) -> None:
        self.reload()

    @work(group="history-load", exclusive=True)
    async def reload(self) -> None:
        answer = await self.call(
            "dashboard_runs", dashboard_id=self.dashboard_id, block_id=self.block["id"], limit=RUNS_LIMIT
        )
        if answer is None:
            return
        self.runs = answer["runs"]
        ids = {r["id"] for r in self.runs}
        self.marked = [m for m in self.marked if m in ids]
        self.refill()

    @work(group="events", exclusive=True)
    async def follow_events(self) -> None:
        """New runs of this block appear as they finish."""
        async for event in self.backend.events(self.dashboard_id):
            if isinstance(event, BoardDeleted | AccessLost):
                self.app.pop_screen()
                return
            if (
                isinstance(event, RunFinished)
                and event.block_id == self.block["id"]
                and self._pending_reload is None
            ):
                self._pending_reload = self.set_timer(0.3, self._reload_now)

    def _reload_now(self) -> None:
        self._pending_reload = None
        self.reload()

    def refill(self) -> None:
        table = self.query_one("#runs", DataTable)
        selected = self.selected_id()
        table.clear()
        for run in self.runs:
            table.add_row(
                self.mark_of(run["id"]),
                local_time(run.get("started_at")),
                age(run.get("started_at")),
                run.get("actor_name") or "?",
                run.get("trigger") or "",
                status_text(run.get("status")),
                Text(duration(run.get("duration_ms")), justify="right"),
                Text(row_count(run), justify="right"),
                key=run["id"],
            )
        if selected is not None and selected in {r["id"] for r in self.runs}:
            table.move_cursor(row=table.get_row_index(selected))
        self.render_title()
        self.show_detail()

    def mark_of(self, run_id: str) -> Text:
        """'L' or 'R' for a marked run: the older of two is the left side of a comparison."""
        if run_id not in self.marked:
            return Text("")
        if len(self.marked) < MAX_MARKED:
            return Text("●", style="bold")
        return Text("L" if self.ordered(self.marked)[0] == run_id else "R", style="bold reverse")

    def ordered(self, run_ids: list[str]) -> list[str]:
        """Run ids oldest first (runs are listed newest first)."""
        position = {r["id"]: i for i, r in enumerate(self.runs)}
        return sorted(run_ids, key=lambda r: -position.get(r, 0))

    def render_title(self) -> None:
        block = self.block
        title = Text.assemble(
            ("History of ", "dim"),
            (block["name"], "bold"),
            (f" ({block['type']}) · {plural(len(self.runs), 'run')}", "dim"),
        )
        if self.marked:
            marks = self.by_id()
            title.append("  marked: ", style="dim")
            title.append(", ".join(local_time(marks[m].get("started_at")) for m in self.ordered(self.marked)))
            if len(self.marked) == MAX_MARKED:
                title.append("  c compares", style="dim")
        self.query_one("#history-title", Static).update(title)

    def show_detail(self) -> None:
        run = self.selected_run()
        pane = self.query_one("#run-inputs", Static)
        pane.update(describe_inputs(run) if run else Text("No runs yet.", style="dim"))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_run()

    def by_id(self) -> dict[str, Run]:
        return {r["id"]: r for r in self.runs}

    def selected_id(self) -> str | None:
        table = self.query_one("#runs", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def selected_run(self) -> Run | None:
        selected = self.selected_id()
        return self.by_id().get(selected) if selected else None

    def action_back(self) -> None:
        self.dismiss()

    def action_reload(self) -> None:
        self.reload()

    def action_open_run(self) -> None:
        run = self.selected_run()
        if run is not None:
            self.app.push_screen(RunScreen(self.dashboard_id, self.block, run))

    def action_mark(self) -> None:
        run_id = self.selected_id()
        if run_id is None:
            return
        if run_id in self.marked:
            self.marked.remove(run_id)
        elif len(self.marked) >= MAX_MARKED:
            self.notify("Two runs are marked already: unmark one with space first.", severity="warning")
            return
        else:
            self.marked.append(run_id)
        table = self.query_one("#runs", DataTable)
        for marked_id in {run_id, *self.marked}:
            table.update_cell(marked_id, "mark", self.mark_of(marked_id))
        self.render_title()

    def pair_to_compare(self) -> list[str] | None:
        """The two marked runs; or the marked one (or the selected one) with the newest run."""
        if len(self.runs) < MAX_MARKED:
            return None
        if len(self.marked) == MAX_MARKED:
            return self.ordered(self.marked)
        one = self.marked[0] if self.marked else self.selected_id()
        newest = self.runs[0]["id"]
        other = newest if one != newest else self.runs[1]["id"]
        return self.ordered([one or newest, other])

    def action_compare(self) -> None:
        pair = self.pair_to_compare()
        if pair is None:
            self.notify("There is only one run: nothing to compare yet.")
            return
        runs = self.by_id()
        left, right = runs[pair[0]], runs[pair[1]]
        failed = [r for r in (left, right) if r.get("status") != "success"]
        if failed:
            self.notify(
                f"The run of {local_time(failed[0].get('started_at'))} failed: it has no output to compare.",
                severity="warning",
            )
            return
        self.app.push_screen(CompareScreen(self.dashboard_id, self.block, left, right))
