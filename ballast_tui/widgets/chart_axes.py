"""Chart axes as arithmetic: round ticks, calendar dates, short labels. No Textual, no plotext.

Numbers read as a person writes them on an axis (950, 1.2k, 45k, 3.4M) with
as many decimals as the step needs; ticks fall on round steps (1, 2, 2.5 or 5
times a power of ten) or on calendar boundaries (hours, days, Mondays, months,
years). The chart view draws what these functions answer.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$")

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


def value_axis(values: list[float], from_zero: bool, count: int) -> tuple[list[float], list[str]]:
    """Round ticks and short labels for the values an axis must cover (and zero, if `from_zero`)."""
    finite = [v for v in values if math.isfinite(v)] or [0.0]
    lo, hi = min(finite), max(finite)
    if from_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    ticks = fitting_ticks(lo, hi, max(2, count))
    step = ticks[1] - ticks[0] if len(ticks) > 1 else None
    return ticks, [abbreviate(t, step) for t in ticks]


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
    """An instant as days since 1970 (the x axis's unit for dates)."""
    return (moment - EPOCH).total_seconds() / 86400


def from_days(days: float) -> datetime:
    """Days since 1970 as an instant (UTC)."""
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


# ---------------------------------------------------------------- the x axis


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


def shorten(label: str, width: int) -> str:
    """`label` cut to `width` characters, an ellipsis marking the cut."""
    return label if len(label) <= width else label[: max(1, width - 1)] + "…"


def x_positions(xs: list[Any]) -> tuple[str, list[float | None]]:
    """How x reads ("date", "number" or "category") and each x as a number on the axis."""
    moments = [parse_instant(x) for x in xs]
    if any(moments) and all(m is not None for m, x in zip(moments, xs, strict=True) if x is not None):
        return "date", [to_days(m) if m is not None else None for m in moments]
    if all(isinstance(x, int | float) and not isinstance(x, bool) for x in xs if x is not None):
        return "number", [as_number(x) for x in xs]
    return "category", [float(i + 1) for i in range(len(xs))]


def x_ticks(mode: str, xs: list[Any], lo: float, hi: float, width: int) -> tuple[list[float], list[str]]:
    """Ticks along an x axis `width` columns wide from `lo` to `hi`, read as `mode` (see
    `x_positions`): calendar dates, round numbers, or as many categories as fit."""
    if mode == "date":
        return date_ticks(lo, hi, max(2, width // 9))
    if mode == "number":
        ticks = inner_ticks(lo, hi, max(2, width // 10))
        step = ticks[1] - ticks[0] if len(ticks) > 1 else None
        return ticks, [abbreviate(t, step) for t in ticks]
    every = max(1, math.ceil(len(xs) / max(1, width // 10)))
    ticks = [float(i + 1) for i in range(0, len(xs), every)]
    return ticks, [shorten(str(xs[i]), 9) for i in range(0, len(xs), every)]


def bar_ticks(labels: list[str], slot: int) -> tuple[list[int], list[str]]:
    """Ticks under bars 1..n that are `slot` columns apart: every bar's label when it fits, else
    every few bars' so labels do not run into each other, each cut to the room it has."""
    longest = max((len(label) for label in labels), default=1)
    if slot >= min(longest, 6) + 1:
        every, room = 1, max(3, slot - 1)
    else:
        every = max(1, math.ceil((min(longest, 8) + 1) / slot))
        room = max(3, slot * every - 1)
    shown = list(range(0, len(labels), every))
    return [i + 1 for i in shown], [shorten(labels[i], room) for i in shown]


def as_number(value: Any) -> float | None:
    """A finite number as a float; None for anything else (booleans, None, text that is no number)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
