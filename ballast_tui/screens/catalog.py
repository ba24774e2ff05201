"""A board's catalog: the tables its SQL can read (sources and block outputs); import and rename.

Importing streams the file (`Backend.import_file`): copied into the
workspace's import directory when this app runs on the workspace's box, else
uploaded to the server, never read whole into memory, with its progress shown.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, ProgressBar, Static

from ballast_tui.engine.errors import ToolError
from ballast_tui.engine.events import BlockChanged, BoardChanged, RunFinished, SourceChanged
from ballast_tui.engine.import_files import ACCEPTED, format_for, source_name, source_name_for, unsupported
from ballast_tui.formatting import age, wrapped
from ballast_tui.screens.dialogs import ConfirmDialog, PromptDialog
from ballast_tui.screens.heading import heading
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.footer import Footer

CATALOG_EVENTS = (SourceChanged, BlockChanged, RunFinished, BoardChanged)
__all__ = ["CatalogScreen", "format_for", "source_name", "source_name_for"]


class CatalogScreen(UsesBackend, Screen[None]):
    """Sources and block outputs of one board, with the selected table's columns."""

    CSS_PATH = "catalog.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("i", "import_file", "Import file"),
        Binding("r", "rename", "Rename"),
        Binding("f5", "reload", "Reload", show=False),
    ]

    def __init__(self, dashboard_id: str) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.title_text = ""
        self.role: str | None = None
        self.sources: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="catalog-title")
        with Horizontal(id="catalog-body"):
            yield DataTable(id="sources", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="detail-pane"):
                yield Static(id="detail")
        yield Static(id="status", classes="muted")
        progress = ProgressBar(id="import-progress", show_eta=False)
        progress.display = False
        yield progress
        yield Footer()

    async def on_mount(self) -> None:
        table = self.query_one("#sources", DataTable)
        table.add_column("Name", key="name")
        table.add_column("Kind", key="kind")
        table.add_column(Text("Rows", justify="right"), key="rows")
        table.focus()
        answer = await self.call("dashboard_get", dashboard_id=self.dashboard_id)
        if answer is None:
            self.dismiss()
            return
        self.title_text = answer["dashboard"]["title"]
        self.role = answer["dashboard"]["role"]
        self.query_one("#catalog-title", Static).update(
            heading("Catalog", self.title_text, f"{self.role} · tables its SQL can read")
        )
        await self.reload()
        self.follow_events()

    @work(group="events", exclusive=True)
    async def follow_events(self) -> None:
        """Keep the list current while others import, rename or re-run."""
        async for event in self.backend.events(self.dashboard_id):
            if isinstance(event, CATALOG_EVENTS):
                self.reload_later()

    @work(group="catalog", exclusive=True)
    async def reload_later(self) -> None:
        await self.reload()

    async def reload(self) -> None:
        answer = await self.call("catalog_list", dashboard_id=self.dashboard_id)
        if answer is None:
            return
        self.sources = answer["sources"]
        self.refill()

    def refill(self) -> None:
        table = self.query_one("#sources", DataTable)
        selected = self.selected_name()
        table.clear()
        for source in self.sources:
            kind = source["block_type"] if source["kind"] == "block" else f"{source['format']} source"
            if source["kind"] == "connection":
                kind = f"{source['format']} {source['table_type']}"
            rows = "—" if source["row_count"] is None else f"{source['row_count']:,}"
            table.add_row(Text(source["name"]), kind, Text(rows, justify="right"), key=source["name"])
        names = [s["name"] for s in self.sources]
        if selected in names:
            table.move_cursor(row=names.index(selected))
        self.show_detail()

    def selected_name(self) -> str | None:
        table = self.query_one("#sources", DataTable)
        if table.row_count == 0:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(key.value)

    def selected(self) -> dict[str, Any] | None:
        name = self.selected_name()
        return next((s for s in self.sources if s["name"] == name), None)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        source = self.selected()
        detail = self.query_one("#detail", Static)
        if source is None:
            detail.update(
                "[dim]No sources yet. Press i to import a CSV, TSV, Parquet, JSON or Excel file.[/dim]"
            )
            return
        rows = "no output" if source["row_count"] is None else f"{source['row_count']:,} rows"
        changed = f"{rows} · changed {age(source['updated_at'])}"
        if source["kind"] == "block":
            what = f"output of a {source['block_type']} block · {source['state'].replace('_', ' ')}"
        elif source["kind"] == "connection":
            what = f"{source['table_type']} of connection {source['connection']} ({source['format']})"
            changed = f"runs there when a block reads only it · columns looked up {age(source['updated_at'])}"
        else:
            what = f"{source['kind']}ed {source['format']} source"
        text = Text.assemble((source["name"], "bold"), "\n", (what, "dim"), "\n", changed, "\n\n")
        if source["columns"]:
            width = max(len(c["name"]) for c in source["columns"])
            text.append("Columns", "bold")
            for column in source["columns"]:
                text.append(f"\n{column['name']:<{width}}  ")
                text.append(str(column["type"]), "dim")
        else:
            text.append("no columns yet", "dim")
        detail.update(text)

    def block_names(self) -> dict[str, str]:
        return {s["block_id"]: s["name"] for s in self.sources if s["kind"] == "block"}

    def set_status(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(text))

    def action_back(self) -> None:
        self.dismiss()

    async def action_reload(self) -> None:
        await self.reload()

    @work(group="catalog-action")
    async def action_import_file(self) -> None:
        if not self.may(self.role, "edit"):
            return
        answer = await self.app.push_screen_wait(
            PromptDialog(
                wrapped(f"File to import ({ACCEPTED})"),
                placeholder="~/data/sales.csv, /path/to/file.parquet or book.xlsx",
            )
        )
        if not answer or not answer.strip():
            return
        path = Path(answer.strip()).expanduser()
        if not path.is_file():
            self.notify(f"There is no file {path}", title="import", severity="error")
            return
        file_format = format_for(path)
        if file_format is None:
            self.notify(unsupported(path), title="import", severity="error", markup=False)
            return
        sheet = await self.choose_sheet(path) if file_format == "xlsx" else None
        if sheet == "":
            return
        name = await self.app.push_screen_wait(
            PromptDialog(wrapped(f"Source name for {path.name}"), value=source_name_for(path, sheet))
        )
        if not name or not name.strip():
            return
        name = source_name(name.strip())
        existing = next((s for s in self.sources if s["name"] == name and s["kind"] != "block"), None)
        if existing is not None and not await self.app.push_screen_wait(
            ConfirmDialog(
                wrapped(
                    f"A source named {name} exists ({existing['row_count']:,} rows). Replace its data? "
                    "Blocks that read it re-run."
                ),
                confirm="Replace",
            )
        ):
            return
        self.set_status(f"Importing {path.name}…")
        bar = self.query_one("#import-progress", ProgressBar)
        bar.update(total=max(1, path.stat().st_size), progress=0)
        bar.display = True
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int) -> None:
            loop.call_soon_threadsafe(lambda: bar.update(total=max(1, total), progress=done))

        try:
            result = await self.backend.import_file(
                self.dashboard_id, path, name, file_format, progress, sheet=sheet
            )
        except (ToolError, OSError) as error:
            self.ballast.show_error(error)
            result = None
        finally:
            bar.display = False
        if result is None:
            self.set_status("")
            return
        source = result["source"]
        message = f"Imported {source['row_count']:,} rows from {path.name} as {source['name']}"
        await self.reload()
        self.select(source["name"])
        self.set_status(message)
        self.notify(message, title="import")

    async def choose_sheet(self, path: Path) -> str | None:
        """The sheet of workbook `path` to import: None for its only one, ``""`` when none is chosen (or
        the file cannot be read, said in a notification)."""
        from ballast_tui.engine.xlsx import sheet_names

        try:
            sheets = await asyncio.to_thread(sheet_names, path, str(path))
        except ToolError as error:
            self.ballast.show_error(error)
            return ""
        if len(sheets) == 1:
            return None
        answer = await self.app.push_screen_wait(
            PromptDialog(wrapped(f"Sheet of {path.name} to import ({', '.join(sheets)})"), value=sheets[0])
        )
        chosen = (answer or "").strip()
        if chosen and chosen not in sheets:
            self.notify(f"{path.name} has no sheet {chosen}", title="import", severity="error", markup=False)
            return ""
        return chosen

    @work(group="catalog-action")
    async def action_rename(self) -> None:
        source = self.selected()
        if source is None or not self.may(self.role, "edit"):
            return
        if source["kind"] == "connection":
            self.notify("A connected table keeps its database's name", title="rename", severity="warning")
            return
        old = source["name"]
        new = await self.app.push_screen_wait(
            PromptDialog(wrapped(f"New name for {old} (blocks that read it are rewritten)"), value=old)
        )
        if not new or not new.strip() or new.strip() == old:
            return
        new = new.strip()
        result = await self.call("catalog_rename", dashboard_id=self.dashboard_id, name=old, new_name=new)
        if result is None:
            return
        await self.reload()
        names = self.block_names()
        rewritten = [names.get(block_id, block_id) for block_id in result["rewritten"]]
        message = f"Renamed {old} → {new}. " + (
            f"Rewritten: {', '.join(rewritten)}" if rewritten else "No block read it."
        )
        self.select(new)
        self.set_status(message)
        self.notify(message, title="rename")

    def select(self, name: str) -> None:
        names = [s["name"] for s in self.sources]
        if name in names:
            self.query_one("#sources", DataTable).move_cursor(row=names.index(name))
