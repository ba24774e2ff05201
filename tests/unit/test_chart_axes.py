"""Chart axes read like a person writes them: tables of small cases in, ticks and labels out."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from typing import Any

import pytest

from ballast_tui.widgets.chart_axes import (
    abbreviate,
    as_number,
    bar_ticks,
    date_ticks,
    fitting_ticks,
    format_x,
    from_days,
    inner_ticks,
    nice_step,
    nice_ticks,
    parse_instant,
    shorten,
    to_days,
    value_axis,
    x_labels,
    x_positions,
    x_ticks,
)


def days(iso: str) -> float:
    """An ISO instant (UTC when naive) as days since 1970."""
    moment = parse_instant(iso)
    assert moment is not None
    return to_days(moment)


def test_the_axis_arithmetic_loads_no_textual_and_no_plotext() -> None:
    code = (
        "import sys\n"
        "import ballast_tui.widgets.chart_axes\n"
        "print(','.join(sorted(m for m in ('textual', 'plotext', 'textual_plotext') if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("value", "step", "label"),
    [
        (0, None, "0"),
        (7, None, "7"),
        (12.5, None, "12.5"),
        (0.125, None, "0.12"),
        (950, None, "950"),
        (999, None, "999"),
        (1_200, None, "1.2k"),
        (10_500, None, "10k"),
        (45_000, None, "45k"),
        (3_400_000, None, "3.4M"),
        (53_855_587, None, "54M"),
        (1.2e9, None, "1.2B"),
        (2e12, None, "2T"),
        (-1_200, 100, "-1.2k"),
        (1_500, 500, "1.5k"),
        (2_000, 500, "2k"),
        (1_250_000, 250_000, "1.25M"),
        (0.3, 0.1, "0.3"),
    ],
)
def test_abbreviate(value: float, step: float | None, label: str) -> None:
    assert abbreviate(value, step) == label


@pytest.mark.parametrize(
    ("span", "count", "step"),
    [
        (100, 5, 20.0),
        (1, 4, 0.25),
        (7, 3, 2.5),
        (1_900, 4, 500.0),
        (24e6, 5, 5e6),
        (0, 5, 1.0),
        (float("inf"), 3, 1.0),
    ],
)
def test_nice_step_is_one_two_two_and_a_half_or_five_times_a_power_of_ten(
    span: float, count: int, step: float
) -> None:
    assert nice_step(span, count) == step


@pytest.mark.parametrize(
    ("lo", "hi", "count", "ticks"),
    [
        (0, 1_900, 4, [0, 500, 1_000, 1_500, 2_000]),
        (0, 100, 5, [0, 20, 40, 60, 80, 100]),
        (-3, 7, 5, [-4, -2, 0, 2, 4, 6, 8]),
        (0.1, 0.9, 4, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (10, 2, 4, [2, 4, 6, 8, 10]),  # ends given the wrong way round
        (5, 5, 4, [4.5, 4.75, 5, 5.25, 5.5]),  # one value: a tenth either side
        (0, 0, 3, [-1, 0, 1]),
    ],
)
def test_nice_ticks_cover_the_range(lo: float, hi: float, count: int, ticks: list[float]) -> None:
    assert nice_ticks(lo, hi, count) == ticks


@pytest.mark.parametrize(
    ("lo", "hi", "count", "ticks"),
    [
        (0, 24e6, 4, [0, 10e6, 20e6, 30e6]),  # not 0–40M
        (0, 1_900, 4, [0, 500, 1_000, 1_500, 2_000]),
        (3, 97, 5, [0, 20, 40, 60, 80, 100]),
    ],
)
def test_fitting_ticks_waste_little_of_the_axis(lo: float, hi: float, count: int, ticks: list[float]) -> None:
    assert fitting_ticks(lo, hi, count) == ticks


@pytest.mark.parametrize(
    ("lo", "hi", "count", "ticks"),
    [
        (0.5, 9.5, 4, [2.5, 5, 7.5]),
        (1, 100, 5, [20, 40, 60, 80, 100]),
        (1.3, 1.7, 3, [1.4, 1.6]),
        (3, 3, 4, [3]),
    ],
)
def test_inner_ticks_stay_inside_the_data(lo: float, hi: float, count: int, ticks: list[float]) -> None:
    assert inner_ticks(lo, hi, count) == ticks


@pytest.mark.parametrize(
    ("values", "from_zero", "count", "ticks", "labels"),
    [
        ([3, 97], False, 5, [0, 20, 40, 60, 80, 100], ["0", "20", "40", "60", "80", "100"]),
        ([-40, 10], True, 4, [-40, -20, 0, 20], ["-40", "-20", "0", "20"]),
        ([5, 5], False, 3, [4.5, 5, 5.5], ["4.5", "5", "5.5"]),
        ([float("nan"), 5], True, 3, [0, 2, 4, 6], ["0", "2", "4", "6"]),
        ([], False, 4, [-1, -0.5, 0, 0.5, 1], ["-1", "-0.5", "0", "0.5", "1"]),
    ],
)
def test_value_axis(
    values: list[float], from_zero: bool, count: int, ticks: list[float], labels: list[str]
) -> None:
    assert value_axis(values, from_zero, count) == (ticks, labels)


@pytest.mark.parametrize(
    ("value", "number"),
    [(1, 1.0), (2.5, 2.5), ("3.5", 3.5), (True, None), (None, None), ("x", None), (float("nan"), None)],
)
def test_as_number(value: Any, number: float | None) -> None:
    assert as_number(value) == number


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2026-03-01", "2026-03-01T00:00:00+00:00"),
        ("2026-03-01T12:30:00", "2026-03-01T12:30:00+00:00"),
        ("2026-03-01 12:30", "2026-03-01T12:30:00+00:00"),
        ("2026-03-01T12:30:00Z", "2026-03-01T12:30:00+00:00"),
        ("2026-03-01T12:30:00+02:00", "2026-03-01T12:30:00+02:00"),
        ("2026-3-1", None),
        ("hello", None),
        (20260301, None),
        (None, None),
    ],
)
def test_parse_instant(value: Any, iso: str | None) -> None:
    moment = parse_instant(value)
    assert (moment.isoformat() if moment else None) == iso


def test_days_since_1970_go_both_ways() -> None:
    moment = datetime.fromisoformat("2026-08-26T06:00:00+00:00")
    assert to_days(moment) == 20691.25
    assert from_days(20691.25) == moment


@pytest.mark.parametrize(
    ("lo", "hi", "count", "labels", "first"),
    [
        # hours within a day
        (
            "2026-03-01T09:20",
            "2026-03-01T15:00",
            6,
            ["10:00", "11:00", "12:00", "13:00", "14:00", "15:00"],
            "2026-03-01T10:00",
        ),
        # hours across midnight: the day where it starts
        (
            "2026-08-26",
            "2026-08-27T12:00",
            6,
            ["Aug 26", "06:00", "12:00", "18:00", "Aug 27", "06:00", "12:00"],
            "2026-08-26T00:00",
        ),
        # days
        (
            "2026-08-26",
            "2026-09-05",
            6,
            ["Aug 26", "Aug 28", "Aug 30", "Sep 1", "Sep 3", "Sep 5"],
            "2026-08-26T00:00",
        ),
        # weeks start on Mondays
        ("2026-03-04", "2026-04-10", 6, ["Mar 9", "Mar 16", "Mar 23", "Mar 30", "Apr 6"], "2026-03-09T00:00"),
        # months
        ("2026-08-26", "2026-11-23", 5, ["Sep", "Oct", "Nov"], "2026-09-01T00:00"),
        ("2026-01-01", "2026-03-01", 4, ["Jan", "Feb", "Mar"], "2026-01-01T00:00"),
        # months across a new year name the year where it starts and where it changes
        ("2025-11-01", "2026-03-01", 5, ["Nov 2025", "Dec", "Jan 2026", "Feb", "Mar"], "2025-11-01T00:00"),
        # years
        ("2020-01-01", "2026-01-01", 4, ["2020", "2022", "2024", "2026"], "2020-01-01T00:00"),
        ("1990-06-01", "2026-01-01", 4, ["2000", "2010", "2020"], "2000-01-01T00:00"),
    ],
)
def test_date_ticks_fall_on_calendar_boundaries(
    lo: str, hi: str, count: int, labels: list[str], first: str
) -> None:
    ticks, got = date_ticks(days(lo), days(hi), count)
    assert got == labels
    assert len(ticks) == len(labels)
    assert f"{from_days(ticks[0]):%Y-%m-%dT%H:%M}" == first


# ---------------------------------------------------------------- the x axis


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("2026-03-01", "Mar 1"),
        ("2026-03-01T12:30:00", "Mar 1 12:30"),
        (1_234_567, "1.2M"),
        (0.5, "0.5"),
        (True, "true"),
        (None, "none"),
        ("North", "North"),
    ],
)
def test_format_x(value: Any, label: str) -> None:
    assert format_x(value) == label


@pytest.mark.parametrize(
    ("xs", "labels"),
    [
        (["2026-03-01T00:00:00", "2026-03-01T06:00:00", "2026-03-01T12:00:00"], ["00:00", "06:00", "12:00"]),
        (["2026-03-01", "2026-03-02"], ["Mar 1", "Mar 2"]),
        (["a", 1, None], ["a", "1", "none"]),
        ([], []),
    ],
)
def test_x_labels_say_only_what_differs(xs: list[Any], labels: list[str]) -> None:
    assert x_labels(xs) == labels


@pytest.mark.parametrize(
    ("label", "width", "shown"),
    [("North", 9, "North"), ("Northeast region", 9, "Northeas…"), ("abcdef", 2, "a…"), ("abc", 1, "a…")],
)
def test_shorten(label: str, width: int, shown: str) -> None:
    assert shorten(label, width) == shown


@pytest.mark.parametrize(
    ("xs", "mode", "positions"),
    [
        (["2026-03-01", "2026-03-02", None], "date", [20513.0, 20514.0, None]),
        ([1, 2.5, None], "number", [1.0, 2.5, None]),
        ([1, True], "category", [1.0, 2.0]),
        (["a", "b"], "category", [1.0, 2.0]),
    ],
)
def test_x_positions(xs: list[Any], mode: str, positions: list[float | None]) -> None:
    assert x_positions(xs) == (mode, positions)


@pytest.mark.parametrize(
    ("mode", "xs", "lo", "hi", "width", "ticks", "labels"),
    [
        ("category", list("abcdefghij"), 1, 10, 40, [1, 4, 7, 10], ["a", "d", "g", "j"]),
        ("category", ["Northeast region", "b"], 1, 2, 60, [1, 2], ["Northeas…", "b"]),
        ("number", [], 0, 100, 50, [0, 20, 40, 60, 80, 100], ["0", "20", "40", "60", "80", "100"]),
        (
            "date",
            [],
            days("2026-08-26"),
            days("2026-11-23"),
            45,
            [20697, 20727, 20758],
            ["Sep", "Oct", "Nov"],
        ),
    ],
)
def test_x_ticks(
    mode: str, xs: list[Any], lo: float, hi: float, width: int, ticks: list[float], labels: list[str]
) -> None:
    assert x_ticks(mode, xs, lo, hi, width) == (ticks, labels)


@pytest.mark.parametrize(
    ("labels", "slot", "positions", "shown"),
    [
        (["a", "b", "c"], 12, [1, 2, 3], ["a", "b", "c"]),
        (["Northeast region", "Southwest"], 12, [1, 2], ["Northeast …", "Southwest"]),
        (["North", "South", "East", "West"], 4, [1, 3], ["North", "East"]),
        (["Jan 1", "Jan 2", "Jan 3", "Jan 4", "Jan 5"], 2, [1, 4], ["Jan 1", "Jan 4"]),
        ([], 5, [], []),
    ],
)
def test_bar_ticks_label_as_many_bars_as_fit(
    labels: list[str], slot: int, positions: list[int], shown: list[str]
) -> None:
    assert bar_ticks(labels, slot) == (positions, shown)
