"""One form per block type, editing that type's config (CONTRACT §2).

Attributes down: a form is built from the block's config and a `BoardContext`
(the tables it may read, with their columns, and the board's controls).
`config()` reads the draft back as a config dict; what the server's
validation would refuse (a missing field, a bad value) is left to the server,
so its message reaches the person unchanged. Only text that cannot even be
turned into a config (malformed JSON) raises `ValueError` here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, Select, SelectionList, Static, TextArea

from ballast_tui.widgets.sql_editor import SqlEditor, Table

CHART_KINDS = ("line", "bar", "scatter", "area", "histogram")
CONTROL_TYPES = ("filter-daterange", "param-enum")
TABLE_BLOCK_TYPES = ("sql", "table")


def is_table(entry: dict[str, Any]) -> bool:
    """Whether a `catalog_list` entry is a table a chart, table or metric can read:
    a source, or the output of a SQL or table block."""
    return entry.get("kind") != "block" or entry.get("block_type") in TABLE_BLOCK_TYPES


@dataclass
class BoardContext:
    """What the edited block may read: tables with their columns, and the board's controls."""

    columns: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    controls: list[dict[str, Any]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls, catalog: list[dict[str, Any]], blocks: list[dict[str, Any]], block_id: str | None
    ) -> BoardContext:
        """From `catalog_list` sources and `dashboard_get` blocks, leaving out the edited block."""
        columns: dict[str, list[dict[str, str]]] = {}
        tables: list[str] = []
        kinds: dict[str, str] = {}
        for entry in catalog:
            if entry.get("block_id") is not None and entry.get("block_id") == block_id:
                continue
            columns[entry["name"]] = list(entry.get("columns") or [])
            kinds[entry["name"]] = (
                f"{entry['block_type']} block" if entry.get("kind") == "block" else "source"
            )
            if is_table(entry):
                tables.append(entry["name"])
        controls = [b for b in blocks if b["type"] in CONTROL_TYPES and b["id"] != block_id]
        return cls(columns, tables, controls, kinds)

    def column_names(self, table: str | None) -> list[str]:
        return [c["name"] for c in self.columns.get(table or "", [])]

    def column_type(self, table: str | None, column: str) -> str:
        return next((c["type"] for c in self.columns.get(table or "", []) if c["name"] == column), "")

    def sql_catalog(self) -> dict[str, Table]:
        """What SQL can read, for completion: the tables first, then other blocks' outputs."""
        names = [*self.tables, *[n for n in self.columns if n not in self.tables]]
        return {
            name: Table(self.kinds.get(name, "table"), tuple(c["name"] for c in self.columns[name]))
            for name in names
        }


def labelled(label: str, widget: Widget, hint: str = "") -> Horizontal:
    """A one-line field: its label, the widget, an optional hint."""
    children: list[Widget] = [Label(label, classes="field-label"), widget]
    if hint:
        children.append(Label(hint, classes="field-hint"))
    return Horizontal(*children, classes="field")


def _choices(names: list[str], *keep: Any) -> list[tuple[str, str]]:
    """Select options of `names`, plus any current value not among them (so it stays selectable)."""
    extra = [k for k in keep if isinstance(k, str) and k and k not in names]
    return [(name, name) for name in [*names, *extra]]


def _select_value(select: Select[str]) -> str | None:
    value = select.value
    return value if isinstance(value, str) else None


class ConfigForm(Vertical):
    """Base of the forms: built from a config, read back with `config()`."""

    block_type: ClassVar[str] = ""

    def __init__(self, config: dict[str, Any], board: BoardContext) -> None:
        super().__init__(classes="config-form")
        self.initial = config
        self.board = board

    def config(self) -> dict[str, Any]:
        """The draft config."""
        raise NotImplementedError

    def set_read_only(self, read_only: bool) -> None:
        """Let the person look without changing anything (text stays scrollable)."""
        for text_area in self.query(TextArea):
            text_area.read_only = read_only
        for widget in self.query("Input, Select, SelectionList"):
            widget.disabled = read_only

    @property
    def first_field(self) -> Widget | None:
        """Where the focus goes when the form opens."""
        return next(iter(self.query("TextArea, Input, Select, SelectionList")), None)


class SqlForm(ConfigForm):
    """`sql` and the controls it binds (`inputs`)."""

    block_type = "sql"

    def compose(self) -> ComposeResult:
        editor = SqlEditor(self.initial.get("sql", ""), id="sql")
        editor.catalog = self.board.sql_catalog()
        yield editor
        inputs = list(self.initial.get("inputs", []))
        names = [c["name"] for c in self.board.controls]
        if names or inputs:
            yield Label(
                "Inputs: controls bound as $name (a date range also as $name_start, $name_end)",
                classes="field-title -tight",
            )
            selections = [
                (Text.assemble(c["name"], ("  " + c["type"], "dim")), c["name"], c["name"] in inputs)
                for c in self.board.controls
            ]
            selections += [(Text(n), n, True) for n in inputs if n not in names]
            yield SelectionList[str](*selections, id="inputs")
        else:
            yield Static("This board has no controls to bind yet.", classes="field-title muted")

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"sql": self.query_one(SqlEditor).text}
        found = self.query("#inputs")
        if found:
            inputs = found.first(SelectionList)
            chosen = set(inputs.selected)
            config["inputs"] = [
                inputs.get_option_at_index(i).value
                for i in range(inputs.option_count)
                if inputs.get_option_at_index(i).value in chosen
            ]
        else:
            config["inputs"] = list(self.initial.get("inputs", []))
        return config


class _SourceForm(ConfigForm):
    """Forms reading a `source`: its Select, and column choices that follow it."""

    def source_select(self) -> Select[str]:
        source = self.initial.get("source")
        return Select(
            _choices(self.board.tables, source),
            value=source if isinstance(source, str) and source else Select.NULL,
            prompt="choose a table",
            id="source",
            compact=True,
        )

    @property
    def source(self) -> str | None:
        return _select_value(self.query_one("#source", Select))

    def column_selections(
        self, table: str | None, selected: list[str], first: list[str] | None = None
    ) -> list[tuple[Text, str, bool]]:
        """SelectionList items of `table`'s columns (`first` ones at the top), `selected` ticked."""
        head = list(first or [])
        ordered = [*head, *[n for n in self.board.column_names(table) if n not in head]]
        ordered += [n for n in selected if n not in ordered]
        return [
            (Text.assemble(n, ("  " + self.board.column_type(table, n), "dim")), n, n in selected)
            for n in ordered
        ]

    @staticmethod
    def ticked(selection_list: SelectionList[str]) -> list[str]:
        """The ticked values in the list's order."""
        chosen = set(selection_list.selected)
        values = [selection_list.get_option_at_index(i).value for i in range(selection_list.option_count)]
        return [v for v in values if v in chosen]

    @on(Select.Changed, "#source")
    def _source_changed(self) -> None:
        self.source_changed()

    def source_changed(self) -> None:
        """Offer the new source's columns."""


class ChartForm(_SourceForm):
    block_type = "chart"

    def compose(self) -> ComposeResult:
        c = self.initial
        y = c.get("y", [])
        ys = [y] if isinstance(y, str) else list(y)
        yield labelled("Source", self.source_select())
        yield labelled(
            "Kind",
            Select(
                [(k, k) for k in CHART_KINDS],
                value=c.get("kind") if c.get("kind") in CHART_KINDS else "line",
                allow_blank=False,
                id="kind",
                compact=True,
            ),
        )
        x = c.get("x")
        yield labelled(
            "X",
            Select(
                _choices(self.board.column_names(c.get("source")), x),
                value=x if isinstance(x, str) and x else Select.NULL,
                prompt="choose a column",
                id="x",
                compact=True,
            ),
        )
        yield labelled("Title", Input(c.get("title") or "", placeholder="optional", id="title", compact=True))
        yield Label("Y: one or more columns (space ticks)", classes="field-title")
        yield SelectionList[str](*self.column_selections(c.get("source"), ys), id="y")

    def source_changed(self) -> None:
        x_select = self.query_one("#x", Select)
        x = _select_value(x_select)
        names = self.board.column_names(self.source)
        x_select.set_options(_choices(names))
        if x in names:
            x_select.value = x
        y_list = self.query_one("#y", SelectionList)
        ys = [v for v in self.ticked(y_list) if v in names]
        y_list.clear_options()
        y_list.add_options(self.column_selections(self.source, ys))

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"kind": _select_value(self.query_one("#kind", Select))}
        if self.source:
            config["source"] = self.source
        x = _select_value(self.query_one("#x", Select))
        if x:
            config["x"] = x
        ys = self.ticked(self.query_one("#y", SelectionList))
        if ys:
            config["y"] = ys[0] if len(ys) == 1 else ys
        title = self.query_one("#title", Input).value.strip()
        if title:
            config["title"] = title
        return config


class TableForm(_SourceForm):
    block_type = "table"

    def compose(self) -> ComposeResult:
        columns = list(self.initial.get("columns") or [])
        yield labelled("Source", self.source_select())
        yield Label("Columns: tick the ones to show, in this order (none ticked: all)", classes="field-title")
        yield SelectionList[str](
            *self.column_selections(self.initial.get("source"), columns, first=columns), id="columns"
        )

    def source_changed(self) -> None:
        columns = self.query_one("#columns", SelectionList)
        names = self.board.column_names(self.source)
        keep = [v for v in self.ticked(columns) if v in names]
        columns.clear_options()
        columns.add_options(self.column_selections(self.source, keep, first=keep))

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.source:
            config["source"] = self.source
        columns = self.ticked(self.query_one("#columns", SelectionList))
        if columns:
            config["columns"] = columns
        return config


class MetricForm(_SourceForm):
    block_type = "metric"

    def compose(self) -> ComposeResult:
        c = self.initial
        column = c.get("column")
        yield labelled("Source", self.source_select())
        yield labelled(
            "Column",
            Select(
                _choices(self.board.column_names(c.get("source")), column),
                value=column if isinstance(column, str) and column else Select.NULL,
                prompt="choose a column",
                id="column",
                compact=True,
            ),
        )
        yield labelled(
            "Format",
            Input(c.get("format") or "", placeholder="e.g. $,.0f  ,.2f  .1%", id="format", compact=True),
        )

    def source_changed(self) -> None:
        select = self.query_one("#column", Select)
        current = _select_value(select)
        names = self.board.column_names(self.source)
        select.set_options(_choices(names))
        if current in names:
            select.value = current

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.source:
            config["source"] = self.source
        column = _select_value(self.query_one("#column", Select))
        if column:
            config["column"] = column
        fmt = self.query_one("#format", Input).value.strip()
        if fmt:
            config["format"] = fmt
        return config


class MarkdownForm(ConfigForm):
    block_type = "markdown"

    def compose(self) -> ComposeResult:
        yield TextArea(self.initial.get("text", ""), language="markdown", soft_wrap=True, id="text")

    def config(self) -> dict[str, Any]:
        return {"text": self.query_one("#text", TextArea).text}


class DateRangeForm(ConfigForm):
    block_type = "filter-daterange"

    def compose(self) -> ComposeResult:
        default = self.initial.get("default", "7d")
        shown = default if isinstance(default, str) else json.dumps(default)
        yield labelled("Default", Input(shown, placeholder="7d", id="default", compact=True))
        yield Static(
            '"Nd" is the last N days (today included), "today" is today, or a fixed range as '
            '{"start": "2026-01-01", "end": "2026-03-31"}.',
            classes="field-title muted",
        )

    def config(self) -> dict[str, Any]:
        text = self.query_one("#default", Input).value.strip()
        if text.startswith("{"):
            try:
                return {"default": json.loads(text)}
            except json.JSONDecodeError as error:
                raise ValueError(f"default: not a JSON object ({error.msg})") from None
        return {"default": text}


class EnumForm(ConfigForm):
    block_type = "param-enum"

    def compose(self) -> ComposeResult:
        options = self.initial.get("options", [])
        # Options that are not text (numbers, booleans) keep their type when their line is unchanged.
        self._typed = {self._show(o): o for o in options}
        yield Label("Options, one per line", classes="field-title")
        yield TextArea("\n".join(self._show(o) for o in options), id="options")
        default = self.initial.get("default")
        yield labelled(
            "Default",
            Input(
                "" if default is None else self._show(default),
                placeholder="the first option",
                id="default",
                compact=True,
            ),
        )

    @staticmethod
    def _show(option: Any) -> str:
        return option if isinstance(option, str) else json.dumps(option)

    def _value(self, line: str) -> Any:
        return self._typed.get(line, line)

    def config(self) -> dict[str, Any]:
        lines = self.query_one("#options", TextArea).text.splitlines()
        config: dict[str, Any] = {"options": [self._value(s.strip()) for s in lines if s.strip()]}
        default = self.query_one("#default", Input).value.strip()
        if default:
            config["default"] = self._value(default)
        return config


FORMS: dict[str, type[ConfigForm]] = {
    form.block_type: form
    for form in (SqlForm, ChartForm, TableForm, MetricForm, MarkdownForm, DateRangeForm, EnumForm)
}


def form_for(block: dict[str, Any], board: BoardContext) -> ConfigForm:
    """The form editing `block`'s config."""
    return FORMS[block["type"]](block["config"], board)
