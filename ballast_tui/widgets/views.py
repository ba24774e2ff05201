"""What a block shows inside its cell, one view per block type.

Attributes down: the cell asks the view what data it wants (`data_request()`),
fetches it, and calls `show(block, data)` with the block and its
`dashboard_block_data` answer. Messages up: a view that wants its data again
(a chart resized, a table scrolled near the end of what it has) posts
`BlockView.DataWanted`; controls post `ControlChanged` when a person picks a
value.

Charts live in `chart_view.py`, tables in `table_view.py`, controls in
`controls.py`; the small views are here.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Digits, Markdown, Static

Block = dict[str, Any]
Data = dict[str, Any]


class BlockView(Widget):
    """Base of every view: knows what data it wants for its current size."""

    DEFAULT_CSS = """
    BlockView { height: 1fr; }
    BlockView .view-empty { color: $text-muted; width: 1fr; height: 1fr; content-align: center middle; }
    """

    class DataWanted(Message):
        """The view wants data: its whole `data_request()` again (`request` None), or one more slice.

        A slice (`request`, e.g. `{"run_id": …, "offset": 100, "limit": 100}`) comes
        back through `show_more(data, request)`.
        """

        def __init__(self, view: BlockView, request: dict[str, Any] | None = None) -> None:
            super().__init__()
            self.view = view
            self.request = request

    def __init__(self, block: Block) -> None:
        super().__init__()
        self.block = block
        self.width_hint = 0
        """The width the grid expects this view to get, for a request made before the first layout
        (0: unknown)."""
        self.height_hint = 0
        """The same for its height."""

    @classmethod
    def request_for(cls, width: int, height: int) -> dict[str, Any]:
        """Arguments for `dashboard_block_data` that fit a view of this kind and size (0: unknown)."""
        return {"limit": 0}

    def data_request(self) -> dict[str, Any]:
        """Arguments for `dashboard_block_data` that fit this view now (before its first layout: at
        the size the grid expects it to get)."""
        return self.request_for(self.size.width or self.width_hint, self.size.height or self.height_hint)

    def takes(self, request: dict[str, Any]) -> bool:
        """Whether an answer asked with `request` (before the view was laid out) suits it now; a view
        that takes it draws it as the answer to that request."""
        return request == self.data_request()

    def show(self, block: Block, data: Data) -> None:
        """Draw the block's current output."""

    def show_more(self, data: Data, request: dict[str, Any]) -> None:
        """Add a slice asked for with `DataWanted(request=…)`."""


class ControlChanged(Message):
    """A person picked a new value for a control."""

    def __init__(self, block_id: str, value: Any) -> None:
        super().__init__()
        self.block_id = block_id
        self.value = value


class TextView(BlockView):
    """Fallback: the rows as text."""

    def compose(self) -> ComposeResult:
        yield Static(id="text")

    @classmethod
    def request_for(cls, width: int, height: int) -> dict[str, Any]:
        return {"limit": max(1, height or 20)}

    def show(self, block: Block, data: Data) -> None:
        lines = [", ".join(f"{k}={v}" for k, v in row.items()) for row in data.get("rows", [])]
        self.query_one("#text", Static).update(Text("\n".join(lines) or "(no rows)"))


class MarkdownView(BlockView):
    """The block's text as Markdown; longer text scrolls inside the cell."""

    DEFAULT_CSS = """
    MarkdownView > VerticalScroll { height: 1fr; scrollbar-size-vertical: 1; }
    MarkdownView Markdown { padding: 0; margin: 0; background: transparent; }
    MarkdownView MarkdownH1 { margin: 0; padding: 0; content-align: left top; }
    MarkdownView MarkdownH2, MarkdownView MarkdownH3 { margin: 0; padding: 0; }
    MarkdownView MarkdownParagraph { margin: 0 0 1 0; }
    MarkdownView MarkdownParagraph:last-child { margin: 0; }
    """

    def __init__(self, block: Block) -> None:
        super().__init__(block)
        self._text = str(block.get("config", {}).get("text", ""))

    def compose(self) -> ComposeResult:
        with VerticalScroll(can_focus=True):
            yield Markdown(self._text)

    def show(self, block: Block, data: Data) -> None:
        self.block = block
        text = str(block.get("config", {}).get("text", ""))
        if text != self._text:
            self._text = text
            self.query_one(Markdown).update(text)


class MetricView(BlockView):
    """One value, big and bold and centered, with its column's name dim beneath.

    Big digits when the cell has room for them (five text rows and the width),
    else one bold line.
    """

    DEFAULT_CSS = """
    MetricView { align: center middle; }
    MetricView > Vertical { height: auto; width: 1fr; }
    MetricView .metric-value { width: 1fr; text-align: center; text-style: bold; color: $text; }
    MetricView Digits.metric-value { color: $accent; }
    MetricView .metric-label { width: 1fr; text-align: center; color: $text-muted; }
    """

    DIGITS_MIN_HEIGHT = 5

    def __init__(self, block: Block) -> None:
        super().__init__(block)
        self.text = "—"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Digits(classes="metric-value")
            yield Static(classes="metric-value", id="metric-line")
            yield Static(classes="metric-label")

    def on_mount(self) -> None:
        self.query_one(".metric-label", Static).update(_label(self.block))
        self._layout()

    @classmethod
    def request_for(cls, width: int, height: int) -> dict[str, Any]:
        return {"limit": 1}

    def show(self, block: Block, data: Data) -> None:
        self.block = block
        rows = data.get("rows") or []
        config = block.get("config", {})
        value = rows[0].get(config.get("column")) if rows else None
        self.text = format_metric(value, config.get("format"))
        self.query_one(Digits).update(self.text)
        self.query_one("#metric-line", Static).update(Text(self.text))
        self.query_one(".metric-label", Static).update(_label(block))
        self._layout()

    def on_resize(self) -> None:
        self._layout()

    def _layout(self) -> None:
        """Big digits if they fit, else the bold line."""
        width, height = self.size
        big = height >= self.DIGITS_MIN_HEIGHT and _digits_width(self.text) <= width
        self.query_one(Digits).display = big
        self.query_one("#metric-line", Static).display = not big


def _label(block: Block) -> Text:
    """The metric's column name, as written (underscores read as spaces), never as markup."""
    return Text(str(block.get("config", {}).get("column", "")).replace("_", " "))


def _digits_width(text: str) -> int:
    """Cells the Digits widget needs for `text`: three a character it draws big, one for others."""
    return sum(3 if c in " 0123456789+-^x:ABCDEF$£€()" else 1 for c in text)


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


def view_for(block: Block) -> BlockView:
    """A new view for this block."""
    return view_class_for(block)(block)


def view_class_for(block: Block) -> type[BlockView]:
    """The kind of view this block gets."""
    from ballast_tui.widgets.chart_view import ChartView
    from ballast_tui.widgets.controls import DateRangeView, EnumView
    from ballast_tui.widgets.table_view import TableView

    views: dict[str, type[BlockView]] = {
        "markdown": MarkdownView,
        "metric": MetricView,
        "chart": ChartView,
        "table": TableView,
        "sql": TableView,
        "param-enum": EnumView,
        "filter-daterange": DateRangeView,
    }
    return views.get(block["type"], TextView)
