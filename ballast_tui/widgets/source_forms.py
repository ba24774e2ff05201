"""The forms of blocks that read a table: chart, table and metric.

Each picks its `source` among the tables the block may read and offers that
table's columns; choosing another source offers the new one's columns,
keeping the choices that still exist.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Input, Label, Select, SelectionList

from ballast_tui.widgets.form_base import SourceForm, choices, labelled, select_value

CHART_KINDS = ("line", "bar", "scatter", "area", "histogram")


class ChartForm(SourceForm):
    """A chart: its source, kind, x column, y columns and title."""

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
                choices(self.board.column_names(c.get("source")), x),
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
        x = select_value(x_select)
        names = self.board.column_names(self.source)
        x_select.set_options(choices(names))
        if x in names:
            x_select.value = x
        y_list = self.query_one("#y", SelectionList)
        ys = [v for v in self.ticked(y_list) if v in names]
        y_list.clear_options()
        y_list.add_options(self.column_selections(self.source, ys))

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"kind": select_value(self.query_one("#kind", Select))}
        if self.source:
            config["source"] = self.source
        x = select_value(self.query_one("#x", Select))
        if x:
            config["x"] = x
        ys = self.ticked(self.query_one("#y", SelectionList))
        if ys:
            config["y"] = ys[0] if len(ys) == 1 else ys
        title = self.query_one("#title", Input).value.strip()
        if title:
            config["title"] = title
        return config


class TableForm(SourceForm):
    """A table: its source and the columns to show, in order."""

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


class MetricForm(SourceForm):
    """A metric: its source, the column and an optional format."""

    block_type = "metric"

    def compose(self) -> ComposeResult:
        c = self.initial
        column = c.get("column")
        yield labelled("Source", self.source_select())
        yield labelled(
            "Column",
            Select(
                choices(self.board.column_names(c.get("source")), column),
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
        current = select_value(select)
        names = self.board.column_names(self.source)
        select.set_options(choices(names))
        if current in names:
            select.value = current

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.source:
            config["source"] = self.source
        column = select_value(self.query_one("#column", Select))
        if column:
            config["column"] = column
        fmt = self.query_one("#format", Input).value.strip()
        if fmt:
            config["format"] = fmt
        return config
