"""A table block (or a displayed sql block): its rows, a page at a time, from the engine.

The first page comes with `show`; when the cursor or the scroll comes near the
end of what is loaded, the view asks its cell for the next page of the same
run (`DataWanted` with `run_id`, `offset`, `limit`), so a table of millions of
rows costs one page per screenful read.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from ballast_tui.widgets.views import Block, BlockView, Data

PAGE = 100
PREFETCH = 20  # rows from the end of what is loaded that ask for the next page

NUMERIC_PREFIXES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "REAL",
    "DECIMAL",
    "INT",
    "NUMERIC",
)


def format_cell(value: Any, identifier: bool = False) -> Text:
    """A value as a table shows it: numbers right-aligned with separators (not ids), NULL dim."""
    if value is None:
        return Text("NULL", style="dim italic", justify="right")
    if isinstance(value, bool):
        return Text(str(value).lower())
    if isinstance(value, int):
        return Text(str(value) if identifier else f"{value:,}", justify="right")
    if isinstance(value, float):
        return Text(f"{value:,.2f}", justify="right")
    if isinstance(value, dict | list):
        return Text(json.dumps(value, ensure_ascii=False), no_wrap=True, overflow="ellipsis")
    text = str(value)
    return Text(text if len(text) <= 80 else text[:79] + "…", no_wrap=True)


def is_identifier(column: str) -> bool:
    """An id column (`id`, `order_id`): its numbers are names, shown without separators."""
    name = column.lower()
    return name == "id" or name.endswith("_id")


def is_numeric(column_type: str) -> bool:
    return str(column_type).upper().startswith(NUMERIC_PREFIXES)


class TableView(BlockView):
    """The rows in a DataTable that pages from the engine, with a footer counting them."""

    DEFAULT_CSS = """
    TableView > DataTable { height: 1fr; scrollbar-size-vertical: 1; }
    TableView > .table-footer { height: 1; color: $text-muted; text-align: right; }
    """

    def __init__(self, block: Block) -> None:
        super().__init__(block)
        self.run_id: str | None = None
        self.row_count = 0
        self.loaded = 0
        self.columns: list[str] = []
        self._asked_offset: int | None = None

    def compose(self) -> ComposeResult:
        yield DataTable(zebra_stripes=True, cursor_type="row", cursor_foreground_priority="renderable")
        yield Static(classes="table-footer")

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one(DataTable)

    def on_mount(self) -> None:
        self.watch(self.table, "scroll_y", self._scrolled, init=False)

    @classmethod
    def request_for(cls, width: int, height: int) -> dict[str, Any]:
        return {"limit": PAGE, "offset": 0}

    def show(self, block: Block, data: Data) -> None:
        self.block = block
        run_id = data.get("run_id")
        if run_id is not None and run_id == self.run_id and self.columns:
            return  # the same output: keep the person's place in it
        self.run_id = run_id
        self.row_count = int(data.get("row_count") or 0)
        self._asked_offset = None
        table = self.table
        table.clear(columns=True)
        wanted = block.get("config", {}).get("columns") if block.get("type") == "table" else None
        described = {c["name"]: str(c.get("type", "")) for c in data.get("columns", [])}
        names = [c for c in wanted if c in described] if wanted else list(described)
        self.columns = names
        for name in names:
            label = Text(name, style="bold", justify="right" if is_numeric(described[name]) else "left")
            table.add_column(label, key=name)
        self.loaded = 0
        self._add(data.get("rows") or [])

    def show_more(self, data: Data, request: dict[str, Any]) -> None:
        if request.get("run_id") != self.run_id or request.get("offset") != self.loaded:
            return  # a page of an output no longer shown, or already added
        self._asked_offset = None
        self._add(data.get("rows") or [])

    def _add(self, rows: list[dict[str, Any]]) -> None:
        ids = [is_identifier(c) for c in self.columns]
        self.table.add_rows(
            [[format_cell(row.get(c), i) for c, i in zip(self.columns, ids, strict=True)] for row in rows]
        )
        self.loaded += len(rows)
        self._render_footer()

    def _render_footer(self) -> None:
        if not self.columns:
            text = "no output yet" if self.run_id is None else "no columns"
        elif self.row_count == 0:
            text = "no rows"
        else:
            text = f"rows 1–{self.loaded:,} of {self.row_count:,}"
        self.query_one(".table-footer", Static).update(text)

    # ------------------------------------------------------------ paging

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._maybe_more(event.cursor_row)

    def _scrolled(self, scroll_y: float) -> None:
        self._maybe_more(int(scroll_y) + self.table.size.height)

    def _maybe_more(self, row: int) -> None:
        """Ask for the next page when `row` comes near the end of what is loaded."""
        if (
            self.run_id is not None
            and self.loaded < self.row_count
            and row >= self.loaded - PREFETCH
            and self._asked_offset != self.loaded
        ):
            self._asked_offset = self.loaded
            request = {"run_id": self.run_id, "offset": self.loaded, "limit": PAGE}
            self.post_message(self.DataWanted(self, request))
