"""A chart block: the series the engine already reduced to the cell's width, drawn by plotext.

The view asks for about two points per text column (`max_points`), draws them
with its own readable axes (abbreviated numbers, dates as dates), and when its
width changes by more than a tenth it asks the cell for the series again, so
the engine reduces it to the new width.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from plotext._dict import themes as plotext_themes
from textual import events
from textual.app import App, ComposeResult
from textual.color import Color
from textual.timer import Timer
from textual.widgets import Static
from textual_plotext import PlotextPlot

from ballast_tui.widgets.views import Block, BlockView, Data

RGB = tuple[int, int, int]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$")
REFETCH_RATIO = 0.1
REFETCH_DELAY = 0.3
MIN_POINTS = 20
MAX_BAR_SLOT = 12  # columns per bar at most, so a few bars do not become slabs

# ---------------------------------------------------------------- numbers and ticks


def abbreviate(value: float, step: float | None = None) -> str:
    """A number short enough for an axis: 950, 1.2k, 45k, 3.4M, 1.2B; decimals only as `step` needs."""
    if value == 0:
        return "0"
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            scaled = value / size
            decimals = _decimals(step / size) if step else (1 if abs(scaled) < 10 else 0)
            return _strip(f"{scaled:.{decimals}f}") + suffix
    decimals = _decimals(step) if step else (0 if float(value).is_integer() else 2)
    return _strip(f"{value:.{decimals}f}")


def _decimals(step: float) -> int:
    """How many decimals show multiples of `step` exactly (at most 4)."""
    for decimals in range(5):
        if abs(round(step, decimals) - step) <= 1e-9 * max(1.0, abs(step)):
            return decimals
    return 4


def _strip(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def nice_step(span: float, count: int) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `count` ticks over `span`."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def nice_ticks(lo: float, hi: float, count: int) -> list[float]:
    """Round ticks covering [lo, hi]: the first at or below lo, the last at or above hi."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, count)
    start = math.floor(lo / step + 1e-9) * step
    ticks: list[float] = []
    value = start
    while value < hi + step * 0.999 and len(ticks) < 50:
        ticks.append(round(value, 10))
        value += step
    if len(ticks) < 2:
        ticks.append(round(start + step, 10))
    return ticks


def fitting_ticks(lo: float, hi: float, count: int) -> list[float]:
    """Round ticks covering [lo, hi] that waste little of the axis: a few more ticks rather than
    an axis running far past the data (0–40M for data up to 24M)."""
    best: list[float] = []
    best_waste = math.inf
    for tries in range(count, count + 3):
        ticks = nice_ticks(lo, hi, tries)
        waste = ((ticks[-1] - max(hi, lo)) + (min(lo, hi) - ticks[0])) / ((ticks[-1] - ticks[0]) or 1)
        if waste <= 0.2:
            return ticks
        if waste < best_waste:
            best, best_waste = ticks, waste
    return best


def inner_ticks(lo: float, hi: float, count: int) -> list[float]:
    """Round ticks inside [lo, hi] (for an x axis whose ends are the data's)."""
    if hi <= lo:
        return [lo]
    step = nice_step(hi - lo, count)
    first = math.ceil(lo / step - 1e-9) * step
    ticks: list[float] = []
    value = first
    while value <= hi + 1e-9 * step and len(ticks) < 50:
        ticks.append(round(value, 10))
        value += step
    return ticks or [lo, hi]


# ---------------------------------------------------------------- dates


def parse_instant(value: Any) -> datetime | None:
    """An ISO date or timestamp as an aware datetime (naive ones taken as UTC); None otherwise."""
    if not isinstance(value, str) or not ISO_DATE.match(value):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_days(moment: datetime) -> float:
    return (moment - EPOCH).total_seconds() / 86400


def from_days(days: float) -> datetime:
    return EPOCH + timedelta(days=days)


_HOUR = 1 / 24
# (step in days, months, years): the first that gives few enough ticks wins.
_DATE_STEPS: list[tuple[float, int, int]] = [
    (_HOUR, 0, 0),
    (2 * _HOUR, 0, 0),
    (3 * _HOUR, 0, 0),
    (6 * _HOUR, 0, 0),
    (12 * _HOUR, 0, 0),
    (1, 0, 0),
    (2, 0, 0),
    (7, 0, 0),
    (14, 0, 0),
    (0, 1, 0),
    (0, 2, 0),
    (0, 3, 0),
    (0, 6, 0),
    (0, 0, 1),
    (0, 0, 2),
    (0, 0, 5),
    (0, 0, 10),
    (0, 0, 25),
    (0, 0, 100),
]


def date_ticks(lo: float, hi: float, count: int) -> tuple[list[float], list[str]]:
    """Ticks on calendar boundaries between `lo` and `hi` (days since 1970), and their labels."""
    span = hi - lo
    for days, months, years in _DATE_STEPS:
        length = days or months * 30.44 or years * 365.25
        if span / length <= max(1, count):
            break
    start, end = from_days(lo), from_days(hi)
    instants: list[datetime] = []
    if days:
        if days < 1:
            hours = round(days * 24)
            t = start.replace(minute=0, second=0, microsecond=0)
            t = t.replace(hour=t.hour - t.hour % hours)
            step = timedelta(hours=hours)
        else:
            t = start.replace(hour=0, minute=0, second=0, microsecond=0)
            if days >= 7:  # weeks start on Mondays
                t -= timedelta(days=t.weekday())
            step = timedelta(days=days)
        while t <= end:
            instants.append(t)
            t += step
    elif months:
        y, m = start.year, start.month - (start.month - 1) % months
        while (t := datetime(y, m, 1, tzinfo=UTC)) <= end:
            instants.append(t)
            m += months
            y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    else:
        y = start.year - start.year % years
        while (t := datetime(y, 1, 1, tzinfo=UTC)) <= end:
            instants.append(t)
            y += years
    instants = [t for t in instants if t >= start] or [start]
    ticks = [to_days(t) for t in instants]
    multi_year = start.year != end.year
    labels = []
    for i, t in enumerate(instants):
        if days and days < 1:
            labels.append(f"{t:%b} {t.day}" if t.hour == 0 else f"{t:%H:%M}")
        elif days:
            labels.append(f"{t:%b} {t.day}")
        elif months:
            labels.append(f"{t:%b} {t:%Y}" if multi_year and (t.month == 1 or i == 0) else f"{t:%b}")
        else:
            labels.append(f"{t:%Y}")
    return ticks, labels


def format_x(value: Any) -> str:
    """A category or point on the x axis as a short label."""
    moment = parse_instant(value)
    if moment is not None:
        if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
            return f"{moment:%b} {moment.day}"
        return f"{moment:%b} {moment.day} {moment:%H:%M}"
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, int | float):
        return abbreviate(float(value))
    return str(value)


def x_labels(xs: list[Any]) -> list[str]:
    """Labels for categories along x; instants say only what differs (the hour within one day)."""
    moments = [parse_instant(x) for x in xs]
    if xs and all(m is not None for m in moments):
        known = [m for m in moments if m is not None]
        if len({m.date() for m in known}) == 1 and any((m.hour, m.minute) != (0, 0) for m in known):
            return [f"{m:%H:%M}" for m in known]
    return [format_x(x) for x in xs]


def _shorten(label: str, width: int) -> str:
    return label if len(label) <= width else label[: max(1, width - 1)] + "…"


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
    """The plot's size in text cells and its colours, and the axis arithmetic that needs them."""

    def __init__(self, width: int, height: int, colors: list[Any]) -> None:
        self.width, self.height, self.colors = width, height, colors

    def color(self, i: int) -> Any:
        return self.colors[i % len(self.colors)]

    @property
    def rows(self) -> int:
        """Text rows of the data area (below it: the x axis and its labels)."""
        return max(1, self.height - 2)

    def value_axis(self, values: list[float], from_zero: bool, count: int) -> tuple[list[float], list[str]]:
        """Round ticks and short labels for the values an axis must cover."""
        finite = [v for v in values if math.isfinite(v)] or [0.0]
        lo, hi = min(finite), max(finite)
        if from_zero:
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        ticks = fitting_ticks(lo, hi, max(2, count))
        step = ticks[1] - ticks[0] if len(ticks) > 1 else None
        return ticks, [abbreviate(t, step) for t in ticks]

    def y_values(self, plt: Any, values: list[float], from_zero: bool) -> int:
        """Set the y axis for `values`; the columns its labels take."""
        ticks, labels = self.value_axis(values, from_zero, min(6, self.rows // 3))
        plt.ylim(ticks[0], ticks[-1])
        plt.yticks(ticks, labels)
        return max(len(label) for label in labels)

    def data_width(self, label_width: int) -> int:
        """Text columns of the data area once the y labels and the axis are drawn."""
        return max(4, self.width - label_width - 1)


def _positions(xs: list[Any]) -> tuple[str, list[float | None]]:
    """How x reads ("date", "number" or "category") and each x as a number on the axis."""
    moments = [parse_instant(x) for x in xs]
    if any(moments) and all(m is not None for m, x in zip(moments, xs, strict=True) if x is not None):
        return "date", [to_days(m) if m is not None else None for m in moments]
    if all(isinstance(x, int | float) and not isinstance(x, bool) for x in xs if x is not None):
        return "number", [_number(x) for x in xs]
    return "category", [float(i + 1) for i in range(len(xs))]


def _x_axis(plt: Any, mode: str, xs: list[Any], lo: float, hi: float, width: int) -> None:
    """Ticks along x: calendar dates, round numbers, or as many categories as fit."""
    if mode == "date":
        ticks, labels = date_ticks(lo, hi, max(2, width // 9))
    elif mode == "number":
        ticks = inner_ticks(lo, hi, max(2, width // 10))
        step = ticks[1] - ticks[0] if len(ticks) > 1 else None
        labels = [abbreviate(t, step) for t in ticks]
    else:
        every = max(1, math.ceil(len(xs) / max(1, width // 10)))
        ticks = [float(i + 1) for i in range(0, len(xs), every)]
        labels = [_shorten(str(xs[i]), 9) for i in range(0, len(xs), every)]
    if hi > lo:
        plt.xlim(lo, hi)
    plt.xticks(ticks, labels)


def _lines(plt: Any, canvas: Canvas, kind: str, xs: list[Any], ys: dict[str, list[Any]]) -> None:
    """Line, area and scatter: one series per y column; several areas stack."""
    mode, positions = _positions(xs)
    names = list(ys)
    columns = [[_number(v) for v in ys[name]] for name in names]
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
    columns = [[_number(v) or 0.0 for v in ys[name]] for name in names]
    values = [v for column in columns for v in column]
    mode, _ = _positions(xs)
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
    if slot >= min(longest, 6) + 1:
        every, room = 1, max(3, slot - 1)
    else:
        every = max(1, math.ceil((min(longest, 8) + 1) / slot))
        room = max(3, slot * every - 1)
    shown = list(range(0, n, every))
    plt.xticks([positions[i] for i in shown], [_shorten(labels[i], room) for i in shown])


def _row_bars(plt: Any, canvas: Canvas, labels: list[str], values: list[float]) -> None:
    """Horizontal bars, first category on top, one text row each (a blank row between when room)."""
    rows, n = canvas.rows, len(values)
    spacing = 2 if 2 * n - 1 <= rows else 1
    positions = [rows - spacing * i for i in range(n)]
    plt.bar(positions, values, orientation="horizontal", color=canvas.color(0), width=0.3)
    plt.ylim(1, rows)
    names = [_shorten(label, max(6, canvas.width // 3)) for label in labels]
    plt.yticks(positions, names)
    label_width = max(len(name) for name in names)
    ticks, tick_labels = canvas.value_axis(values, True, max(2, canvas.data_width(label_width) // 10))
    plt.xlim(ticks[0], ticks[-1])
    plt.xticks(ticks, tick_labels)


def _histogram(plt: Any, canvas: Canvas, xs: list[Any], counts_in: list[Any]) -> None:
    """The engine's bins as touching bars, the x axis in the binned column's units."""
    starts = [s for s in (_number(x) for x in xs) if s is not None]
    if not starts:
        return
    counts = [_number(v) or 0.0 for v in counts_in][: len(starts)]
    label_width = canvas.y_values(plt, counts, from_zero=True)
    width = (starts[1] - starts[0]) if len(starts) > 1 else 1.0
    plt.bar([s + width / 2 for s in starts], counts, color=canvas.color(0), width=1)
    _x_axis(plt, "number", xs, starts[0], starts[-1] + width, canvas.data_width(label_width))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
