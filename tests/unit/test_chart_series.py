"""A chart's series as arithmetic: colours, stacking, paint order and the legend, as tables of cases."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rich.color import Color, ColorSystem

from ballast_tui.widgets.chart_series import (
    OTHER_COLOR,
    SERIES_COLORS,
    Legend,
    LegendItem,
    legend_layout,
    paint_order,
    series_colors,
    stack,
)


def test_the_series_arithmetic_loads_no_textual_and_no_plotext() -> None:
    code = (
        "import sys\n"
        "import ballast_tui.widgets.chart_series\n"
        "print(','.join(sorted(m for m in ('textual', 'plotext', 'textual_plotext') if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


# ---------------------------------------------------------------- colours


@pytest.mark.parametrize(
    "system", [ColorSystem.TRUECOLOR, ColorSystem.EIGHT_BIT, ColorSystem.STANDARD], ids=str
)
def test_the_twelve_colours_and_other_stay_apart_on_every_terminal(system: ColorSystem) -> None:
    shown = [Color.from_rgb(*rgb).downgrade(system) for rgb in [*SERIES_COLORS, OTHER_COLOR]]
    keys = [c.triplet if system == ColorSystem.TRUECOLOR else c.number for c in shown]
    assert len(set(keys)) == len(SERIES_COLORS) + 1 == 13


def test_on_sixteen_colours_no_series_is_black_white_or_grey() -> None:
    numbers = {Color.from_rgb(*rgb).downgrade(ColorSystem.STANDARD).number for rgb in SERIES_COLORS}
    assert numbers.isdisjoint({0, 7, 8, 15})


@pytest.mark.parametrize(
    ("names", "other", "expected"),
    [
        ([], None, []),
        (["a"], None, [SERIES_COLORS[0]]),
        (["a", "b", "other"], "other", [SERIES_COLORS[0], SERIES_COLORS[1], OTHER_COLOR]),
        (["a", "other"], None, [SERIES_COLORS[0], SERIES_COLORS[1]]),  # a series named "other"
        ([f"s{i}" for i in range(13)], None, [*SERIES_COLORS, SERIES_COLORS[0]]),
    ],
    ids=["none", "one", "other_is_grey", "other_only_when_folded", "wraps_after_twelve"],
)
def test_series_colors(names: list[str], other: str | None, expected: list[tuple[int, int, int]]) -> None:
    assert series_colors(names, other) == expected


# ---------------------------------------------------------------- stacking


@pytest.mark.parametrize(
    ("columns", "ends"),
    [
        ([], []),
        ([[1.0, 2.0]], [[1.0, 2.0]]),
        ([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [4.0, 6.0]]),
        ([[1.0, None], [None, 4.0]], [[1.0, 0.0], [1.0, 4.0]]),  # a missing value is zero
        ([[2.0], [-1.0], [3.0], [-4.0]], [[2.0], [-1.0], [5.0], [-5.0]]),  # signs stack apart
        ([[1.0, 1.0], [2.0]], [[1.0, 1.0], [3.0, 1.0]]),  # a shorter series ends early
        ([[float("nan")], [1.0]], [[0.0], [1.0]]),
    ],
    ids=["none", "one", "two", "missing", "negatives", "ragged", "nan"],
)
def test_stack(columns: list[list[float | None]], ends: list[list[float]]) -> None:
    assert stack(columns) == ends


@pytest.mark.parametrize(
    ("columns", "stacked", "order"),
    [
        ([[1.0], [2.0], [3.0]], True, [2, 1, 0]),
        ([[1.0], [5.0], [3.0]], False, [1, 2, 0]),
        ([[1.0], [-5.0], [None]], False, [1, 0, 2]),
        ([[2.0], [2.0]], False, [0, 1]),
        ([], True, []),
    ],
    ids=["stacked_outermost_first", "tallest_first", "by_size_not_sign", "ties_in_order", "none"],
)
def test_paint_order(columns: list[list[float | None]], stacked: bool, order: list[int]) -> None:
    assert paint_order(columns, stacked) == order


# ---------------------------------------------------------------- the legend


def texts(legend: Legend) -> list[list[str]]:
    return [[item.text for item in line] for line in legend.lines]


@pytest.mark.parametrize(
    ("names", "width", "max_lines", "lines", "hidden"),
    [
        (["north", "south"], 40, 1, [["north", "south"]], 0),
        # "■ north" is 7 wide, two columns between items: 7 + 2 + 7 = 16.
        (["north", "south"], 16, 1, [["north", "south"]], 0),
        (["north", "south"], 15, 2, [["north"], ["south"]], 0),
        (["north", "south", "east"], 9, 1, [], 3),  # nothing fits beside "+N": only "+3"
        (["north", "south", "east"], 20, 1, [["north", "south"]], 1),  # "■ north  ■ south  +1"
        (["a", "b", "c", "d", "e"], 12, 2, [["a", "b"], ["c", "d"]], 1),
        (["a-very-long-series-name-indeed"], 80, 1, [["a-very-long-serie…"]], 0),
        (["a-very-long-series-name"], 10, 1, [["a-very-…"]], 0),  # cut to the line too
        ([], 40, 2, [], 0),
    ],
    ids=[
        "fits",
        "fits_exactly",
        "wraps",
        "only_more",
        "more_at_the_end",
        "two_lines",
        "long",
        "narrow",
        "none",
    ],
)
def test_legend_layout(
    names: list[str], width: int, max_lines: int, lines: list[list[str]], hidden: int
) -> None:
    legend = legend_layout(names, width, max_lines)
    assert texts(legend) == lines
    assert legend.hidden == hidden
    assert legend.more == (f"+{hidden}" if hidden else "")
    for line in legend.lines:
        width_used = sum(item.width for item in line) + 2 * (len(line) - 1)
        tail = len(legend.more) + 2 if line is legend.lines[-1] and hidden else 0
        assert width_used + tail <= width or len(line) == 1


def test_legend_items_keep_their_series_index() -> None:
    legend = legend_layout(["a", "b", "c"], 9, 2)
    assert legend.lines == [[LegendItem(0, "a"), LegendItem(1, "b")], [LegendItem(2, "c")]]
