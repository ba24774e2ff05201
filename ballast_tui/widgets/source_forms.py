"""The forms of blocks that read a table: chart, table and metric.

Each picks its `source` among the tables the block may read and offers that
table's columns; choosing another source offers the new one's columns,
keeping the choices that still exist.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Label, Select, SelectionList, Switch

from ballast_tui.engine.blocks import STACKING_KINDS, chart_stacks
from ballast_tui.widgets.form_base import SourceForm, choices, labelled, select_value

CHART_KINDS = ("line", "bar", "scatter", "area", "histogram")


class ChartForm(SourceForm):
    """A chart: its source, kind, x column, y columns, series column, stacking and title.

    `series` is one of the source's columns or none; the `stacked` switch shows
    for bar and area charts only, starting as the chart draws now (areas stack
    unless told otherwise). The form writes `stacked` back when the config had
    it or the switch differs from the kind's default, so an untouched chart
    reads back the config it was opened with; changing the kind moves a switch
    left at the old kind's default to the new one's.
    """

    block_type = "chart"

    def compose(self) -> ComposeResult:
        c = self.initial
        y = c.get("y", [])
        ys = [y] if isinstance(y, str) else list(y)
        kind = c.get("kind") if c.get("kind") in CHART_KINDS else "line"
        self._kind = kind
        yield labelled("Source", self.source_select())
        yield labelled(
            "Kind",
            Select(
                [(k, k) for k in CHART_KINDS],
                value=kind,
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
        series = c.get("series")
        yield labelled(
            "Series",
            Select(
                choices(self.board.column_names(c.get("source")), series),
                value=series if isinstance(series, str) and series else Select.NULL,
                prompt="none",
                id="series",
                compact=True,
            ),
        )
        stacked_row = labelled(
            "Stacked",
            Switch(chart_stacks({"kind": kind, "stacked": c.get("stacked")}), id="stacked"),
            hint="bars and areas on top of each other",
        )
        stacked_row.id = "stacked-row"
        stacked_row.display = kind in STACKING_KINDS
        yield stacked_row
        yield labelled("Title", Input(c.get("title") or "", placeholder="optional", id="title", compact=True))
        yield Label("Y: one or more columns (space ticks); with a series, one", classes="field-title")
        yield SelectionList[str](*self.column_selections(c.get("source"), ys), id="y")

    @on(Select.Changed, "#kind")
    def _kind_changed(self) -> None:
        """Show the switch for bars and areas; one the person left at the old kind's default
        moves to the new kind's (areas stack, bars do not)."""
        kind = select_value(self.query_one("#kind", Select))
        switch = self.query_one("#stacked", Switch)
        if switch.value == chart_stacks({"kind": self._kind}):
            switch.value = chart_stacks({"kind": kind})
        self._kind = kind
        self.query_one("#stacked-row").display = kind in STACKING_KINDS

    def source_changed(self) -> None:
        x_select = self.query_one("#x", Select)
        x = select_value(x_select)
        names = self.board.column_names(self.source)
        x_select.set_options(choices(names))
        if x in names:
            x_select.value = x
        series_select = self.query_one("#series", Select)
        series = select_value(series_select)
        series_select.set_options(choices(names))
        if series in names:
            series_select.value = series
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
        series = select_value(self.query_one("#series", Select))
        if series:
            config["series"] = series
        kind = config["kind"]
        if kind in STACKING_KINDS:
            stacked = self.query_one("#stacked", Switch).value
            if "stacked" in self.initial or stacked != chart_stacks({"kind": kind}):
                config["stacked"] = stacked
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
