"""The output of a draft run below the block editor: a summary line and the first rows, or the error."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

PREVIEW_ROWS = 100


class DraftPreview(Vertical):
    """A run's row count and columns (`#preview-status`) over its first rows (`#preview-table`)."""

    def compose(self) -> ComposeResult:
        yield Static(id="preview-status")
        yield DataTable(id="preview-table", zebra_stripes=True, cursor_type="row")

    def show_running(self) -> None:
        """Say the draft is running (the rows of an earlier run stay until the answer comes)."""
        self.display = True
        status = self.query_one("#preview-status", Static)
        status.set_class(False, "error-text")
        status.update(Text("Running the draft…", style="dim"))

    def show_error(self, text: str) -> None:
        """Show why the draft did not run, in place of its rows."""
        self.display = True
        self.query_one("#preview-table").display = False
        status = self.query_one("#preview-status", Static)
        status.set_class(True, "error-text")
        status.update(Text(text))

    def show_run(self, run: dict[str, Any]) -> None:
        """Show a successful run: how many rows, its columns and types, and its first rows."""
        columns = run["columns"]
        status = self.query_one("#preview-status", Static)
        status.set_class(False, "error-text")
        count = run["row_count"]
        shown = min(len(run["rows"]), PREVIEW_ROWS)
        summary = Text.assemble(
            (f"{count:,} row{'s' if count != 1 else ''}", "bold"),
            (f" (first {shown} shown)" if shown < count else "", "dim"),
            "  ",
        )
        for i, column in enumerate(columns):
            summary.append(", " if i else "")
            summary.append(column["name"])
            summary.append(f" {column['type']}", style="dim")
        status.update(summary)
        table = self.query_one("#preview-table", DataTable)
        table.clear(columns=True)
        table.add_columns(*[Text(c["name"]) for c in columns])
        table.add_rows(
            [
                [Text("" if row.get(c["name"]) is None else str(row[c["name"]])) for c in columns]
                for row in run["rows"][:PREVIEW_ROWS]
            ]
        )
        table.display = True
