"""A chart block: the series the engine already reduced to the cell's width, drawn by plotext.

The view asks for about two points per text column (`max_points`), draws them
with its own readable axes (abbreviated numbers, dates as dates), and when its
width changes by more than a tenth it asks the cell for the series again, so
the engine reduces it to the new width. A chart with a `series` column draws
each series in a colour of its own and names them in a legend below the plot;
bars and areas stack when the chart says so. The axis arithmetic (ticks,
dates, labels) is in `chart_axes`, the series' colours, stacking and legend
layout in `chart_series`; this module draws.

A drawing is plotext's text for the chart's inputs (series, kind, colours,
size, theme). It is kept in memory, and on a local workspace in its kept
answers (`engine.derived_cache`, keyed by a digest of those inputs and the
drawing code's version): a board drawn before is drawn again without loading
plotext (about 15 ms) or laying the charts out again (several ms each).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult, RenderResult
from textual.color import Color
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from ballast_tui.engine.blocks import chart_stacks
from ballast_tui.engine.derived_cache import DerivedCache, code_id
from ballast_tui.widgets.chart_axes import (
    as_number,
    bar_ticks,
    shorten,
    value_axis,
    x_labels,
    x_positions,
    x_ticks,
)
from ballast_tui.widgets.chart_series import (
    LEGEND_GAP,
    LEGEND_MARK,
    Legend,
    legend_layout,
    paint_order,
    stack,
)
from ballast_tui.widgets.chart_series import series_colors as palette_for
from ballast_tui.widgets.views import Block, BlockView, Data

if TYPE_CHECKING:
    from textual_plotext.plot import Plot

RGB = tuple[int, int, int]
Recipe = Callable[["Plot"], None]
"""The plotext calls that draw a chart, made on a cleared figure."""
DRAWINGS = "chart-drawing"
"""The kind of kept answer a drawing is (`DerivedCache`)."""
DRAWINGS_IN_MEMORY = 64
"""Drawings a plot keeps for the sizes it was drawn at, at most."""

REFETCH_RATIO = 0.1
REFETCH_DELAY = 0.3
MIN_POINTS = 20
MAX_BAR_SLOT = 12  # columns per bar at most, so a few bars do not become slabs
TALL_LEGEND = 14  # a chart this many rows tall (or taller) gives its legend two lines

# ---------------------------------------------------------------- theme


_themes: dict[str, list[Any]] = {}
"""Each plotext theme made for an app theme, by name (given to plotext when a plot is built)."""


def plot_theme(app: App[Any]) -> str:
    """A plotext theme for the app's theme: no background of its own, muted axes, the theme's colours."""
    name = f"ballast-{app.theme}"
    if name not in _themes:
        variables = app.theme_variables
        try:
            background = Color.parse(variables.get("background", "#000000"))
            foreground = Color.parse(variables.get("foreground", "#ffffff"))
            muted: RGB | str = background.blend(foreground, 0.6).rgb
            colors: list[RGB] = []
            for key in ("primary", "success", "warning", "error", "accent", "secondary"):
                rgb = Color.parse(variables[key]).rgb if key in variables else None
                if rgb is not None and rgb not in colors:
                    colors.append(rgb)
        except Exception:  # an unusual theme: plain terminal colours
            muted, colors = "default", []
        fallback: list[RGB] = [(0, 130, 200), (60, 180, 75), (230, 25, 75), (255, 225, 25), (245, 130, 48)]
        _themes[name] = ["default", "default", muted, "default", colors + fallback]
    return name


def series_colors(app: App[Any]) -> list[Any]:
    return list(_themes[plot_theme(app)][4])


@functools.cache
def _drawing_code() -> str:
    """The code a drawing depends on, for its key: ours, and plotext's by its installed package (a
    top-level name: finding a submodule would import the package)."""
    return code_id(
        "ballast_tui.widgets.chart_view",
        "ballast_tui.widgets.chart_axes",
        "ballast_tui.widgets.chart_series",
        "plotext",
        "textual_plotext",
    )


def kept_answers(app: App[Any]) -> DerivedCache | None:
    """The workspace's kept answers when the app runs on a workspace of this machine, else None."""
    workspace = getattr(getattr(app, "backend", None), "ws", None)
    derived = getattr(workspace, "derived", None)
    return derived if isinstance(derived, DerivedCache) else None


# ---------------------------------------------------------------- the view


class ChartPlot(Widget):
    """The plot: plotext's drawing of the view's recipe at this widget's size (see the module's doc)."""

    DEFAULT_CSS = "ChartPlot { height: 1fr; width: 1fr; }"

    def __init__(self) -> None:
        super().__init__()
        self.recipe: Recipe | None = None
        self.inputs = ""
        """A digest of everything the recipe draws from, but the size."""
        self.theme = ""
        self._plot: Plot | None = None
        self._drawings: dict[tuple[str, int, int], str] = {}

    def draw(self, recipe: Recipe | None, inputs: Any, theme: str) -> None:
        """Draw `recipe` (None: nothing) from `inputs` (JSON: what it draws) in plotext `theme`."""
        self.recipe, self.theme = recipe, theme
        key = json.dumps([inputs, theme], sort_keys=True, separators=(",", ":"), default=str)
        self.inputs = hashlib.sha256(key.encode()).hexdigest()
        self.refresh()

    def render(self) -> RenderResult:
        if self.recipe is None:
            return ""
        return Text.from_ansi(self.drawing(self.size.width, self.size.height))

    def drawing(self, width: int, height: int) -> str:
        """plotext's text for the recipe at `width` x `height`: drawn before (in memory, or kept
        on the workspace), else built now."""
        memo = (self.inputs, width, height)
        drawn = self._drawings.get(memo)
        if drawn is not None:
            return drawn
        kept = kept_answers(self.app)
        key = f"{_drawing_code()}|{self.inputs}|{width}x{height}"
        drawn = kept.get(DRAWINGS, key) if kept is not None else None
        if not isinstance(drawn, str):
            drawn = self._build(width, height)
            if kept is not None:
                self._keep(kept, key, drawn)
        if len(self._drawings) >= DRAWINGS_IN_MEMORY:
            self._drawings.clear()
        self._drawings[memo] = drawn
        return drawn

    def _build(self, width: int, height: int) -> str:
        from plotext._dict import themes as plotext_themes

        if self._plot is None:
            from textual_plotext.plot import Plot

            self._plot = Plot()
        plt = self._plot
        plt.clear_figure()
        assert self.recipe is not None
        self.recipe(plt)
        plt.plotsize(width, height)
        plt._set_size(width, height)  # as textual-plotext does (its issue 5: plotsize alone is not enough)
        plotext_themes[self.theme] = _themes[self.theme]
        plt.theme(self.theme)
        return str(plt.build())

    def _keep(self, kept: DerivedCache, key: str, drawn: str) -> None:
        """Write the drawing on a worker thread (the loop draws on)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.run_in_executor(None, kept.put, DRAWINGS, key, drawn)


class ChartView(BlockView):
    """A line, bar, scatter, area or histogram chart of the block's series."""

    DEFAULT_CSS = """
    ChartView > .view-empty { display: none; }
    ChartView > .chart-legend { display: none; height: auto; padding: 0 1; }
    ChartView.-legend > .chart-legend { display: block; }
    ChartView.-empty > .view-empty { display: block; }
    ChartView.-empty > ChartPlot { display: none; }
    ChartView.-empty > .chart-legend { display: none; }
    """

    def __init__(self, block: Block) -> None:
        super().__init__(block)
        self.series: dict[str, Any] | None = None
        self.asked_width = 0
        self._refetch: Timer | None = None
        self._drawn_size = (0, 0)
        """The size the plot was last drawn for."""

    def compose(self) -> ComposeResult:
        # (The legend and the empty chart's line are mounted when first needed.)
        yield ChartPlot()

    def _line(self, classes: str, after_plot: bool) -> Static:
        """The view's line of `classes`, mounted the first time it is asked for."""
        found = self.query(f".{classes}")
        if found:
            return found.first(Static)
        line = Static(classes=classes)
        if after_plot:
            self.mount(line, after=self.plot)
        else:
            self.mount(line)
        return line

    @property
    def plot(self) -> ChartPlot:
        return self.query_one(ChartPlot)

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._retheme)

    def _retheme(self, _theme: Any) -> None:
        self.draw()

    @classmethod
    def request_for(cls, width: int, height: int) -> dict[str, Any]:
        return {"limit": 0, "max_points": max(MIN_POINTS, 2 * width)}

    def data_request(self) -> dict[str, Any]:
        width = self.size.width or self.width_hint or max(40, self.app.size.width // 2)
        self.asked_width = width
        return self.request_for(width, 0)

    def takes(self, request: dict[str, Any]) -> bool:
        """An answer reduced for a width within a tenth of this one's: the same as `on_resize` keeps."""
        asked = int(request.get("max_points", 0)) // 2
        width = self.size.width or self.width_hint
        if not asked or abs(width - asked) > REFETCH_RATIO * asked:
            return False
        self.asked_width = asked
        return True

    def show(self, block: Block, data: Data) -> None:
        self.block = block
        self.series = data.get("series")
        self.draw()

    def on_resize(self, event: events.Resize) -> None:
        if (event.size.width, event.size.height) != self._drawn_size:
            self.draw()  # (drawn before its first layout at the size the grid planned: that one stands)
        width = event.size.width
        if self.asked_width and width and abs(width - self.asked_width) > REFETCH_RATIO * self.asked_width:
            if self._refetch is not None:
                self._refetch.stop()
            self._refetch = self.set_timer(REFETCH_DELAY, self._want_data)

    def _want_data(self) -> None:
        self._refetch = None
        if abs(self.size.width - self.asked_width) > REFETCH_RATIO * self.asked_width:
            self.post_message(self.DataWanted(self))

    # ------------------------------------------------------------ drawing

    def draw(self) -> None:
        """(Re)draw the plot for the current series and size."""
        if not self.is_mounted:
            return
        series = self.series or {}
        xs: list[Any] = list(series.get("x") or [])
        ys: dict[str, list[Any]] = dict(series.get("y") or {})
        empty = not xs or not ys
        self.set_class(empty, "-empty")
        theme = plot_theme(self.app)
        if empty:
            self._line("view-empty", after_plot=False).update(
                "no rows" if self.series is not None else "no data yet"
            )
            self.plot.draw(None, None, theme)
            return
        config = self.block.get("config", {})
        kind = str(series.get("kind") or config.get("kind") or "line")
        stacked = bool(series.get("stacked", chart_stacks({"kind": kind, "stacked": config.get("stacked")})))
        width, height = self.size.width or self.width_hint or 60, self.size.height or self.height_hint or 12
        self._drawn_size = (width, height)
        by_series = bool(series.get("by"))
        self.set_class(by_series, "-legend")
        if by_series:
            # One colour per series, named in the legend below the plot (not in plotext's box).
            colors: list[Any] = palette_for(list(ys), series.get("other"))
            legend = legend_layout(list(ys), width - 2, 1 if height < TALL_LEGEND else 2)
            self._line("chart-legend", after_plot=True).update(legend_text(legend, colors))
            height -= max(1, len(legend.lines))
        else:
            colors = series_colors(self.app)
        canvas = Canvas(width, height, colors)

        def recipe(plt: Plot) -> None:
            plt.xaxes(True, False)
            plt.yaxes(True, False)
            if kind == "histogram":
                _histogram(plt, canvas, xs, next(iter(ys.values())))
            elif kind == "bar":
                _bars(plt, canvas, xs, ys, stacked, labelled=not by_series)
            else:
                _lines(plt, canvas, kind, xs, ys, stacked, labelled=not by_series)

        inputs = [xs, ys, kind, stacked, by_series, colors, width, height, _themes[theme]]
        self.plot.draw(recipe, inputs, theme)


def legend_text(legend: Legend, colors: list[Any]) -> Text:
    """The legend as text: each series' mark in its colour, then its name (never read as markup)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    gap = " " * LEGEND_GAP
    for n, line in enumerate(legend.lines):
        if n:
            text.append("\n")
        for k, item in enumerate(line):
            r, g, b = colors[item.index]
            text.append(gap if k else "")
            text.append(LEGEND_MARK, style=f"rgb({r},{g},{b})")
            text.append(" " + item.text)
    if legend.more:
        text.append((gap if legend.lines else "") + legend.more, style="dim")
    return text


class Canvas:
    """The plot's size in text cells and its colours."""

    def __init__(self, width: int, height: int, colors: list[Any]) -> None:
        self.width, self.height, self.colors = width, height, colors

    def color(self, i: int) -> Any:
        return self.colors[i % len(self.colors)]

    @property
    def rows(self) -> int:
        """Text rows of the data area (below it: the x axis and its labels)."""
        return max(1, self.height - 2)

    def y_values(self, plt: Any, values: list[float], from_zero: bool) -> int:
        """Set the y axis for `values`; the columns its labels take."""
        ticks, labels = value_axis(values, from_zero, min(6, self.rows // 3))
        plt.ylim(ticks[0], ticks[-1])
        plt.yticks(ticks, labels)
        return max(len(label) for label in labels)

    def data_width(self, label_width: int) -> int:
        """Text columns of the data area once the y labels and the axis are drawn."""
        return max(4, self.width - label_width - 1)


def _x_axis(plt: Any, mode: str, xs: list[Any], lo: float, hi: float, width: int) -> None:
    """Ticks along x: calendar dates, round numbers, or as many categories as fit."""
    ticks, labels = x_ticks(mode, xs, lo, hi, width)
    if hi > lo:
        plt.xlim(lo, hi)
    plt.xticks(ticks, labels)


def _lines(
    plt: Any,
    canvas: Canvas,
    kind: str,
    xs: list[Any],
    ys: dict[str, list[Any]],
    stacked: bool = True,
    labelled: bool = True,
) -> None:
    """Line, area and scatter: one line per series (a y column, or a value of the series column);
    areas stack when `stacked`. With `labelled`, plotext names several series in its own box."""
    mode, positions = x_positions(xs)
    names = list(ys)
    columns: list[list[float | None]] = [[as_number(v) for v in ys[name]] for name in names]
    if kind == "area" and stacked and len(names) > 1:
        columns = [list(band) for band in stack(columns)]
    values = [v for column in columns for v in column if v is not None]
    label_width = canvas.y_values(plt, values, from_zero=kind == "area")
    # Stacked areas draw the top band first so each lower band paints over the one above it;
    # overlapping ones draw the tallest first.
    order = paint_order(columns, stacked) if kind == "area" else list(range(len(names)))
    for i in order:
        pairs = [
            (p, v) for p, v in zip(positions, columns[i], strict=False) if p is not None and v is not None
        ]
        if not pairs:
            continue
        px, py = [p for p, _ in pairs], [v for _, v in pairs]
        label = names[i] if labelled and len(names) > 1 else None
        if kind == "scatter":
            marker = "●" if len(px) <= 80 else "braille"
            plt.scatter(px, py, marker=marker, color=canvas.color(i), label=label)
        elif kind == "area":
            plt.plot(px, py, marker="hd", color=canvas.color(i), label=label, fillx=True)
        else:
            plt.plot(px, py, marker="braille", color=canvas.color(i), label=label)
    known = [p for p in positions if p is not None]
    if known:
        _x_axis(plt, mode, xs, min(known), max(known), canvas.data_width(label_width))


def _bars(
    plt: Any,
    canvas: Canvas,
    xs: list[Any],
    ys: dict[str, list[Any]],
    stacked: bool = False,
    labelled: bool = True,
) -> None:
    """Bars, one group (or, `stacked`, one stack) per x; categories whose names do not fit under
    their bars become rows. With `labelled`, plotext names several series in its own box."""
    names = list(ys)
    columns = [[as_number(v) or 0.0 for v in ys[name]] for name in names]
    ends = stack(columns) if stacked and len(names) > 1 else None
    values = [v for column in (ends or columns) for v in column]
    mode, _ = x_positions(xs)
    labels = x_labels(xs)
    n = len(xs)
    longest = max((len(label) for label in labels), default=1)
    guess = canvas.data_width(5) / max(1, n)  # columns per bar, near enough to choose a layout
    if mode == "category" and len(names) == 1 and longest + 1 > guess and n <= canvas.rows:
        _row_bars(plt, canvas, labels, columns[0])
        return
    label_width = canvas.y_values(plt, values, from_zero=True)
    width = canvas.data_width(label_width)
    slot = min(MAX_BAR_SLOT, max(1, width // max(1, n)))
    positions = list(range(1, n + 1))
    if len(names) == 1:
        plt.bar(positions, columns[0], color=canvas.color(0), width=0.6)
    elif ends is not None:
        # Each series from zero to the end of its band, the outermost first: the next paints over it.
        for i in paint_order(ends, stacked=True):
            label = names[i] if labelled else None
            plt.bar(positions, ends[i], color=canvas.color(i), width=0.6, label=label)
    else:
        colors = [canvas.color(i) for i in range(len(names))]
        plt.multiple_bar(positions, columns, color=colors, labels=names if labelled else None)
    if slot >= 2:
        # Whole columns per bar, so every bar is drawn as wide as the others; few bars sit centred.
        margin = (width / slot - n) / 2
        plt.xlim(0.5 - margin, 0.5 - margin + width / slot)
    plt.xticks(*bar_ticks(labels, slot))


def _row_bars(plt: Any, canvas: Canvas, labels: list[str], values: list[float]) -> None:
    """Horizontal bars, first category on top, one text row each (a blank row between when room)."""
    rows, n = canvas.rows, len(values)
    spacing = 2 if 2 * n - 1 <= rows else 1
    positions = [rows - spacing * i for i in range(n)]
    plt.bar(positions, values, orientation="horizontal", color=canvas.color(0), width=0.3)
    plt.ylim(1, rows)
    names = [shorten(label, max(6, canvas.width // 3)) for label in labels]
    plt.yticks(positions, names)
    label_width = max(len(name) for name in names)
    ticks, tick_labels = value_axis(values, True, max(2, canvas.data_width(label_width) // 10))
    plt.xlim(ticks[0], ticks[-1])
    plt.xticks(ticks, tick_labels)


def _histogram(plt: Any, canvas: Canvas, xs: list[Any], counts_in: list[Any]) -> None:
    """The engine's bins as touching bars, the x axis in the binned column's units."""
    starts = [s for s in (as_number(x) for x in xs) if s is not None]
    if not starts:
        return
    counts = [as_number(v) or 0.0 for v in counts_in][: len(starts)]
    label_width = canvas.y_values(plt, counts, from_zero=True)
    width = (starts[1] - starts[0]) if len(starts) > 1 else 1.0
    plt.bar([s + width / 2 for s in starts], counts, color=canvas.color(0), width=1)
    _x_axis(plt, "number", xs, starts[0], starts[-1] + width, canvas.data_width(label_width))
