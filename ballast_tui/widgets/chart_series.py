"""A chart's series as arithmetic: their colours, stacking, paint order and the legend's layout.
No Textual, no plotext.

Colours: twelve that stay apart however the terminal shows them. Each is a
colour of xterm's 256-colour cube (so a 256-colour terminal shows it exactly),
and each falls on a different one of the twelve coloured ANSI colours (red,
green, yellow, blue, magenta, cyan and their bright variants) when a terminal
has only sixteen; the folded "other" series is grey, which none of them is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ballast_tui.widgets.chart_axes import shorten

RGB = tuple[int, int, int]

SERIES_COLORS: tuple[RGB, ...] = (
    (0, 135, 255),  # blue            -> bright blue
    (255, 135, 0),  # orange          -> bright red
    (95, 175, 0),  # green            -> green
    (215, 0, 0),  # red               -> red
    (175, 95, 255),  # purple         -> bright magenta
    (0, 175, 175),  # teal            -> cyan
    (255, 215, 0),  # yellow          -> bright yellow
    (215, 0, 175),  # magenta         -> magenta
    (0, 215, 255),  # sky             -> bright cyan
    (0, 255, 135),  # spring green    -> bright green
    (175, 95, 0),  # brown            -> yellow
    (0, 0, 255),  # deep blue         -> blue
)
OTHER_COLOR: RGB = (138, 138, 138)

LEGEND_MARK = "■"
LEGEND_GAP = 2
LEGEND_NAME = 18
"""Characters of a series name the legend shows at most (longer ones end in "…")."""


def series_colors(names: list[str], other: str | None) -> list[RGB]:
    """A colour for each series in `names` order: the palette in turn, grey for `other`."""
    colors: list[RGB] = []
    drawn = 0
    for name in names:
        if other is not None and name == other:
            colors.append(OTHER_COLOR)
        else:
            colors.append(SERIES_COLORS[drawn % len(SERIES_COLORS)])
            drawn += 1
    return colors


def stack(columns: Sequence[Sequence[float | None]]) -> list[list[float]]:
    """The far end (from zero) of each series' band when the series stack, point by point.

    Positive values stack up from zero and negative ones down from it, each on
    the earlier series of its sign; a missing value counts as zero. Drawing each
    series from zero to these ends, the last series first, shows every band.
    """
    width = max((len(column) for column in columns), default=0)
    up, down = [0.0] * width, [0.0] * width
    ends: list[list[float]] = []
    for column in columns:
        row: list[float] = []
        for i in range(width):
            value = column[i] if i < len(column) else None
            v = value if value is not None and math.isfinite(value) else 0.0
            if v < 0:
                down[i] += v
                row.append(down[i])
            else:
                up[i] += v
                row.append(up[i])
        ends.append(row)
    return ends


def paint_order(columns: Sequence[Sequence[float | None]], stacked: bool) -> list[int]:
    """The order to draw filled series in so that none hides another: stacked bands from the last
    (outermost) to the first; overlapping ones from the tallest to the smallest."""
    if stacked:
        return list(range(len(columns) - 1, -1, -1))

    def peak(i: int) -> float:
        return max((abs(v) for v in columns[i] if v is not None and math.isfinite(v)), default=0.0)

    return sorted(range(len(columns)), key=lambda i: (-peak(i), i))


# ---------------------------------------------------------------- the legend


@dataclass(frozen=True)
class LegendItem:
    """One series in the legend: its index (its colour) and its name as shown."""

    index: int
    text: str

    @property
    def width(self) -> int:
        return len(LEGEND_MARK) + 1 + len(self.text)


@dataclass(frozen=True)
class Legend:
    """The legend's lines, and how many series did not fit (shown as "+N" at its end)."""

    lines: list[list[LegendItem]]
    hidden: int = 0

    @property
    def more(self) -> str:
        return f"+{self.hidden}" if self.hidden else ""


def _line_width(items: list[LegendItem], tail: str = "") -> int:
    parts = [item.width for item in items] + ([len(tail)] if tail else [])
    return sum(parts) + LEGEND_GAP * max(0, len(parts) - 1)


def legend_layout(names: list[str], width: int, max_lines: int, longest: int = LEGEND_NAME) -> Legend:
    """The series names laid out in at most `max_lines` lines of `width` columns, in order; names
    cut to `longest` characters (and to the line); what does not fit is counted in `hidden`."""
    room = max(1, width - len(LEGEND_MARK) - 1)
    items = [LegendItem(i, shorten(name, min(longest, room))) for i, name in enumerate(names)]
    lines: list[list[LegendItem]] = []
    placed = 0
    for item in items:
        if lines and _line_width([*lines[-1], item]) <= width:
            lines[-1].append(item)
        elif len(lines) < max(1, max_lines):
            lines.append([item])
        else:
            break
        placed += 1
    hidden = len(items) - placed
    if hidden and lines:
        last = lines[-1]
        while last and _line_width(last, f"+{hidden}") > width:
            last.pop()
            hidden += 1
        if not last:
            lines.pop()
    return Legend(lines, hidden)
