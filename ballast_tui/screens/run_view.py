"""One run of a block: its rows and the inputs it ran with."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from ballast_tui.formatting import age
from ballast_tui.screens.run_format import (
    ROWS_LIMIT,
    Run,
    cell,
    describe_inputs,
    duration,
    plural,
    status_text,
)
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.footer import Footer


class RunScreen(Screen[None], UsesBackend):
    """One earlier run: when, who, inputs, error, and the rows it produced."""

    CSS_PATH = "history.tcss"
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, dashboard_id: str, block: dict[str, Any], run: Run) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.block = block
        self.run = run
        self.title = f"Run · {block['name']}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="run-summary")
        yield DataTable(id="run-rows", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        run = self.run
        summary = Text.assemble(
            (self.block["name"], "bold"),
            (f" · {age(run.get('started_at'))} · took {duration(run.get('duration_ms'))} · ", "dim"),
            status_text(run.get("status")),
            "\n",
            describe_inputs(run),
        )
        self.query_one("#run-summary", Static).update(summary)
        self.query_one("#run-rows", DataTable).focus()
        self.load_rows()

    @work(group="run-rows", exclusive=True)
    async def load_rows(self) -> None:
        table = self.query_one("#run-rows", DataTable)
        if self.run.get("status") != "success":
            table.border_title = "no rows: this run failed"
            return
        data = await self.call(
            "dashboard_block_data",
            dashboard_id=self.dashboard_id,
            block_id=self.block["id"],
            run_id=self.run["id"],
            limit=ROWS_LIMIT,
        )
        if data is None:
            return
        columns = [c["name"] for c in data["columns"]]
        table.add_columns(*(Text(c) for c in columns))
        table.add_rows([[cell(row.get(c)) for c in columns] for row in data["rows"]])
        total = data["row_count"]
        shown = len(data["rows"])
        table.border_title = plural(total, "row") if shown == total else f"first {shown:,} of {total:,} rows"

    def action_back(self) -> None:
        self.dismiss()
