"""Control blocks: a compact choice on one text row, so a control's cell can be four rows tall.

Both controls post `ControlChanged` only when the person picks a value; a value
the board pushes (through `show`) is reflected without posting anything.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Select, Static

from ballast_tui.widgets.views import Block, BlockView, ControlChanged, Data

RELATIVE = re.compile(r"^([1-9][0-9]{0,4})d$")
CUSTOM = "custom"
PRESETS: list[tuple[str, str]] = [
    ("Last 7 days", "7d"),
    ("Last 30 days", "30d"),
    ("Last 90 days", "90d"),
    ("Today", "today"),
]


def current_value(block: Block, data: Data | None = None) -> Any:
    """The control's value: the block's, else the one its last run recorded, else its default."""
    if "value" in block:
        return block["value"]
    rows = (data or {}).get("rows") or []
    if rows and isinstance(rows[0].get("value"), str):
        try:
            return json.loads(rows[0]["value"])
        except ValueError:
            pass
    return block.get("config", {}).get("default")


class ControlView(BlockView):
    """What both controls share: one row, and the value last known to be stored."""

    DEFAULT_CSS = """
    ControlView { height: 1fr; }
    ControlView > .control-row { height: 1; width: 1fr; }
    ControlView Select { width: 1fr; max-width: 32; }
    ControlView .control-hint {
        width: 1fr; height: 1; margin-left: 2; color: $text-muted;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    ControlView Select:focus > SelectCurrent, ControlView Input:focus {
        background: $primary 45%; color: $text;
    }
    ControlView Select > SelectOverlay.-textual-compact { border: round $accent !important; }
    """

    def __init__(self, block: Block) -> None:
        super().__init__(block)
        self.value: Any = current_value(block)

    @classmethod
    def request_for(cls, width: int, height: int) -> dict[str, Any]:
        return {"limit": 1}

    def _picked(self, value: Any) -> None:
        """The person chose `value`: tell the board, unless it is what is stored already."""
        if value != self.value:
            self.value = value
            self.post_message(ControlChanged(self.block["id"], value))


class EnumView(ControlView):
    """A compact drop-down of the control's options."""

    def compose(self) -> ComposeResult:
        options = self._options(self.block)
        values = [v for _, v in options]
        with Horizontal(classes="control-row"):
            yield Select[Any](
                options,
                allow_blank=False,
                value=self.value if self.value in values else values[0],
                compact=True,
            )

    @staticmethod
    def _options(block: Block) -> list[tuple[Text, Any]]:
        """The options as written (never read as markup), each with its value."""
        return [(Text(str(o)), o) for o in block.get("config", {}).get("options") or []]

    def show(self, block: Block, data: Data) -> None:
        options = self._options(block)
        select = self.query_one(Select)
        with self.prevent(Select.Changed):
            if options != self._options(self.block) and options:
                select.set_options(options)
            self.block = block
            value = current_value(block, data)
            if value in [v for _, v in options] and select.value != value:
                select.value = value
            self.value = value

    @on(Select.Changed)
    def _changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is not Select.NULL:
            self._picked(event.value)


class DateRangeView(ControlView):
    """A compact drop-down of periods; "Custom…" opens two date inputs (Enter submits)."""

    DEFAULT_CSS = """
    DateRangeView Select { width: 17; }
    DateRangeView.-custom Select { width: 11; }
    DateRangeView Input { width: 11; display: none; }
    DateRangeView .range-to { width: 3; display: none; content-align: center middle; color: $text-muted; }
    DateRangeView.-custom Input, DateRangeView.-custom .range-to { display: block; }
    DateRangeView.-custom .control-hint { visibility: hidden; }
    DateRangeView.-invalid .control-hint { visibility: visible; color: $error; }
    """

    def __init__(self, block: Block) -> None:
        super().__init__(block)
        self.error = ""
        self.span = ""  # the resolved dates of the current value, from the control's output
        self._shown_options = self._options(self.value)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="control-row"):
            yield Select[str](
                self._shown_options, allow_blank=False, value=self._choice(self.value), compact=True
            )
            yield Input(
                placeholder="YYYY-MM-DD", id="range-start", compact=True, max_length=10, restrict=r"[0-9-]*"
            )
            yield Static("→", classes="range-to")
            yield Input(
                placeholder="YYYY-MM-DD", id="range-end", compact=True, max_length=10, restrict=r"[0-9-]*"
            )
            yield Static(classes="control-hint")

    def on_mount(self) -> None:
        self._reflect(self.value)

    @staticmethod
    def _choice(value: Any) -> str:
        return value if isinstance(value, str) else CUSTOM

    @staticmethod
    def _options(value: Any) -> list[tuple[str, str]]:
        options = list(PRESETS)
        if isinstance(value, str) and value not in dict((v, k) for k, v in PRESETS) and RELATIVE.match(value):
            days = int(value[:-1])
            options.append((f"Last {days} day" + ("s" if days != 1 else ""), value))
        return [*options, ("Custom…", CUSTOM)]

    def _reflect(self, value: Any) -> None:
        """Show `value` as the current choice, without telling anyone."""
        select = self.query_one(Select)
        with self.prevent(Select.Changed, Input.Changed):
            options = self._options(value)
            if options != self._shown_options:
                self._shown_options = options
                select.set_options(options)
            select.value = self._choice(value)
            custom = isinstance(value, dict)
            self.set_class(custom, "-custom")
            if custom:
                self.query_one("#range-start", Input).value = str(value.get("start", ""))
                self.query_one("#range-end", Input).value = str(value.get("end", ""))
        self._set_error("")

    def show(self, block: Block, data: Data) -> None:
        self.block = block
        rows = data.get("rows") or []
        if rows and rows[0].get("start") and rows[0].get("end"):
            self.span = _span(rows[0]["start"], rows[0]["end"])
            if not self.error:
                self.query_one(".control-hint", Static).update(Text(self.span))
        value = current_value(block, data)
        if value != self.value:
            self.value = value
            self._reflect(value)

    @on(Select.Changed)
    def _changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value == CUSTOM:
            self.add_class("-custom")
            start = self.query_one("#range-start", Input)
            if isinstance(self.value, dict):
                start.value = self.value["start"]
                self.query_one("#range-end", Input).value = self.value["end"]
            start.focus()
        elif isinstance(event.value, str):
            self.remove_class("-custom")
            self._set_error("")
            self._picked(event.value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        start_input = self.query_one("#range-start", Input)
        end_input = self.query_one("#range-end", Input)
        if event.input is start_input and not end_input.value:
            end_input.focus()
            return
        error, value = parse_range(start_input.value, end_input.value)
        self._set_error(error)
        if error:
            self.notify(error, title="date range", severity="error")
            return
        self._picked(value)

    @on(Input.Changed)
    def _typing(self, event: Input.Changed) -> None:
        event.stop()
        if self.error:
            self._set_error("")

    def _set_error(self, error: str) -> None:
        """Say what is wrong on the control's row (where the dates show otherwise)."""
        self.error = error
        self.query_one(".control-hint", Static).update(Text(error or self.span))
        self.set_class(bool(error), "-invalid")
        for field in self.query(Input):
            field.set_class(bool(error), "-invalid")


def parse_range(start: str, end: str) -> tuple[str, dict[str, str] | None]:
    """('', {start, end}) for two valid dates in order, else (a message, None)."""
    parsed: list[date] = []
    for label, text in (("start", start.strip()), ("end", end.strip())):
        if not text:
            return f"Enter the {label} date as YYYY-MM-DD.", None
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError
            parsed.append(date.fromisoformat(text))
        except ValueError:
            return f"The {label} date {text!r} is not a date: use YYYY-MM-DD.", None
    if parsed[0] > parsed[1]:
        return f"The start ({parsed[0]}) is after the end ({parsed[1]}).", None
    return "", {"start": parsed[0].isoformat(), "end": parsed[1].isoformat()}


def _span(start: str, end: str) -> str:
    """'Aug 26 – Nov 23, 2026' for the resolved ends of a range."""
    try:
        a, b = date.fromisoformat(str(start)[:10]), date.fromisoformat(str(end)[:10])
    except ValueError:
        return f"{start} – {end}"
    if a == b:
        return f"{a:%b} {a.day}, {a.year}"
    left = f"{a:%b} {a.day}" + ("" if a.year == b.year else f", {a.year}")
    return f"{left} – {b:%b} {b.day}, {b.year}"
