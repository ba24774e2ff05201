"""What a block shows inside its cell, one view per block type.

Attributes down: the cell calls `show(block, data)` with the block and its
`dashboard_block_data` answer. Messages up: controls post `ControlChanged`.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Markdown, Select, Static


class BlockView(Widget):
    """Base of every view: knows what data it wants for its current size."""

    DEFAULT_CSS = "BlockView { height: 1fr; }"

    def __init__(self, block: dict[str, Any]) -> None:
        super().__init__()
        self.block = block

    def data_request(self) -> dict[str, Any]:
        """Arguments for `dashboard_block_data` that fit this view now."""
        return {"limit": max(1, self.size.height or 20)}

    def show(self, block: dict[str, Any], data: dict[str, Any]) -> None:
        """Draw the block's current output."""


class TextView(BlockView):
    """Fallback: the rows as text."""

    def compose(self) -> ComposeResult:
        yield Static(id="text")

    def show(self, block: dict[str, Any], data: dict[str, Any]) -> None:
        lines = [", ".join(f"{k}={v}" for k, v in row.items()) for row in data.get("rows", [])]
        self.query_one("#text", Static).update("\n".join(lines) or "(no rows)")


class MarkdownView(BlockView):
    def compose(self) -> ComposeResult:
        yield Markdown()

    def data_request(self) -> dict[str, Any]:
        return {"limit": 0}

    def show(self, block: dict[str, Any], data: dict[str, Any]) -> None:
        self.query_one(Markdown).update(block["config"]["text"])


class MetricView(BlockView):
    def compose(self) -> ComposeResult:
        yield Static(id="value")

    def data_request(self) -> dict[str, Any]:
        return {"limit": 1}

    def show(self, block: dict[str, Any], data: dict[str, Any]) -> None:
        rows = data.get("rows") or []
        value = rows[0].get(block["config"]["column"]) if rows else None
        self.query_one("#value", Static).update(format_metric(value, block["config"].get("format")))


def format_metric(value: Any, spec: str | None) -> str:
    """A metric's value with its optional Python format spec (e.g. ',.0f'); `$` or `%` around it kept."""
    if value is None:
        return "—"
    if not spec or not isinstance(value, int | float):
        return f"{value:,}" if isinstance(value, int | float) else str(value)
    prefix = spec[0] if spec[0] in "$€£" else ""
    body = spec[len(prefix) :]
    try:
        return prefix + format(value, body)
    except ValueError:
        return str(value)


class TableView(BlockView):
    def compose(self) -> ComposeResult:
        yield DataTable(zebra_stripes=True, cursor_type="row")

    def data_request(self) -> dict[str, Any]:
        return {"limit": 200}

    def show(self, block: dict[str, Any], data: dict[str, Any]) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        columns = [c["name"] for c in data.get("columns", [])]
        table.add_columns(*columns)
        table.add_rows([[row.get(c) for c in columns] for row in data.get("rows", [])])


class ControlChanged(Message):
    """A person picked a new value for a control."""

    def __init__(self, block_id: str, value: Any) -> None:
        super().__init__()
        self.block_id = block_id
        self.value = value


class EnumView(BlockView):
    def compose(self) -> ComposeResult:
        options = [(str(o), o) for o in self.block["config"]["options"]]
        yield Select[Any](options, allow_blank=False, value=self.block.get("value", options[0][1]))

    def data_request(self) -> dict[str, Any]:
        return {"limit": 0}

    def show(self, block: dict[str, Any], data: dict[str, Any]) -> None:
        self.block = block
        select = self.query_one(Select)
        if "value" in block and select.value != block["value"]:
            with self.prevent(Select.Changed):
                select.value = block["value"]

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value != self.block.get("value"):
            self.post_message(ControlChanged(self.block["id"], event.value))


VIEWS: dict[str, type[BlockView]] = {
    "markdown": MarkdownView,
    "metric": MetricView,
    "table": TableView,
    "sql": TableView,
    "param-enum": EnumView,
}


def view_for(block: dict[str, Any]) -> BlockView:
    """A new view for this block."""
    return VIEWS.get(block["type"], TextView)(block)
