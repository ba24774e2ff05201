"""A chart block: the series the engine already reduced to the cell's width, drawn by plotext.

The view asks for about two points per text column (`max_points`), draws them
with its own readable axes (abbreviated numbers, dates as dates), and when its
width changes by more than a tenth it asks the cell for the series again, so
the engine reduces it to the new width. The axis arithmetic (ticks, dates,
labels) is in `chart_axes`; this module draws.
"""

from __future__ import annotations

from typing import Any

from plotext._dict import themes as plotext_themes
from textual import events
from textual.app import App, ComposeResult
from textual.color import Color
from textual.timer import Timer
from textual.widgets import Static
from textual_plotext import PlotextPlot

from ballast_tui.widgets.chart_axes import (
    as_number,
    bar_ticks,
    shorten,
    value_axis,
    x_labels,
    x_positions,
    x_ticks,
)
from ballast_tui.widgets.views import Block, BlockView, Data

RGB = tuple[int, int, int]

REFETCH_RATIO = 0.1
REFETCH_DELAY = 0.3
MIN_POINTS = 20
MAX_BAR_SLOT = 12  # columns per bar at most, so a few bars do not become slabs

# ---------------------------------------------------------------- theme


def plot_theme(app: App[Any]) -> str:
    """A plotext theme for the app's theme: no background of its own, muted axes, the theme's colours."""
    name = f"ballast-{app.theme}"
    if name not in plotext_themes:
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
        plotext_themes[name] = ["default", "default", muted, "default", colors + fallback]
    return name


def series_colors(app: App[Any]) -> list[Any]:
    return list(plotext_themes[plot_theme(app)][4])


# ---------------------------------------------------------------- the view


class ChartPlot(PlotextPlot):
    """The plot; it takes the app's colours through the view's theme."""

    DEFAULT_CSS = "ChartPlot { height: 1fr; width: 1fr; }"


class ChartView(BlockView):
    """A line, bar, scatter, area or histogram chart of the block's series."""

    DEFAULT_CSS = """
    ChartView > .view-empty { display: none; }
    ChartView.-empty > .view-empty { display: block; }
    ChartView.-empty > ChartPlot { display: none; }
    """

    def __init__(self, block: Block) -> None:
        super().__init__(block)
        self.series: dict[str, Any] | None = None
        self.asked_width = 0
        self._refetch: Timer | None = None

    def compose(self) -> ComposeResult:
        yield ChartPlot()
        yield Static("no data yet", classes="view-empty")

    @property
    def plot(self) -> ChartPlot:
        return self.query_one(ChartPlot)

    def on_mount(self) -> None:
        self.plot.theme = plot_theme(self.app)  # type: ignore[assignment]
        self.app.theme_changed_signal.subscribe(self, self._retheme)

    def _retheme(self, _theme: Any) -> None:
        self.plot.theme = plot_theme(self.app)  # type: ignore[assignment]
        self.draw()

    def data_request(self) -> dict[str, Any]:
        width = self.size.width or max(40, self.app.size.width // 2)
        self.asked_width = width
        return {"limit": 0, "max_points": max(MIN_POINTS, 2 * width)}

    def show(self, block: Block, data: Data) -> None:
        self.block = block
        self.series = data.get("series")
        self.draw()

    def on_resize(self, event: events.Resize) -> None:
        self.draw()
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
        """(Re)build the plot for the current series and size."""
        if not self.is_mounted:
            return
        plot = self.plot
        plt = plot.plt
        plt.clear_figure()
        series = self.series or {}
        xs: list[Any] = list(series.get("x") or [])
        ys: dict[str, list[Any]] = dict(series.get("y") or {})
        empty = not xs or not ys
        self.set_class(empty, "-empty")
        if empty:
            self.query_one(".view-empty", Static).update(
                "no rows" if self.series is not None else "no data yet"
            )
            return
        kind = str(series.get("kind") or self.block.get("config", {}).get("kind") or "line")
        plt.xaxes(True, False)
        plt.yaxes(True, False)
        canvas = Canvas(self.size.width or 60, self.size.height or 12, series_colors(self.app))
        if kind == "histogram":
            _histogram(plt, canvas, xs, next(iter(ys.values())))
        elif kind == "bar":
            _bars(plt, canvas, xs, ys)
        else:
            _lines(plt, canvas, kind, xs, ys)
        plot.refresh()


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


def _lines(plt: Any, canvas: Canvas, kind: str, xs: list[Any], ys: dict[str, list[Any]]) -> None:
    """Line, area and scatter: one series per y column; several areas stack."""
    mode, positions = x_positions(xs)
    names = list(ys)
    columns = [[as_number(v) for v in ys[name]] for name in names]
    if kind == "area" and len(names) > 1:
        running = [0.0] * len(xs)
        stacked: list[list[float | None]] = []
        for column in columns:
            running = [r + (v or 0.0) for r, v in zip(running, column, strict=False)]
            stacked.append(list(running))
        columns = stacked
    values = [v for column in columns for v in column if v is not None]
    label_width = canvas.y_values(plt, values, from_zero=kind == "area")
    # Areas draw the top band first so each lower band paints over the one above it.
    order = range(len(names) - 1, -1, -1) if kind == "area" else range(len(names))
    for i in order:
        pairs = [
            (p, v) for p, v in zip(positions, columns[i], strict=False) if p is not None and v is not None
        ]
        if not pairs:
            continue
        px, py = [p for p, _ in pairs], [v for _, v in pairs]
        label = names[i] if len(names) > 1 else None
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


def _bars(plt: Any, canvas: Canvas, xs: list[Any], ys: dict[str, list[Any]]) -> None:
    """Bars, one group per x; categories whose names do not fit under their bars become rows."""
    names = list(ys)
    columns = [[as_number(v) or 0.0 for v in ys[name]] for name in names]
    values = [v for column in columns for v in column]
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
    else:
        plt.multiple_bar(positions, columns, color=[canvas.color(i) for i in range(len(names))], labels=names)
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
