"""A chart's series from long-format data: one series per value of its `series` column.

Everything over the output's rows happens in DuckDB; Python only shapes the
reduced points (at most `MAX_SERIES + 1` series of at most `max_points` each).

1. **Which series.** Rows whose x or y is null (or y not a finite number) are
   left out. The series are ranked by their total |y| (ties: more rows first,
   then by name); the first `MAX_SERIES` are drawn and every other value is
   folded into one series named "other" (`OTHER`; "other (rest)" if a drawn
   series already has that name). A null series value is a series named
   "(null)".
2. **One value per x.** Line, bar and area charts draw one value per x and
   series: the sum of its rows (as a pivot would; "other" is the sum of the
   folded series at each x). A scatter keeps its rows as they are (the folded
   series' points are drawn as "other").
3. **Reduction.** Line, scatter and unstacked area charts are reduced per
   series: each is cut into `max_points / 2` buckets along x (`ntile` over its
   own rows) and keeps, in each, the points of its minimum and maximum y (so
   a series of at most `max_points` points keeps them all): a window
   partitioned by series and one aggregate. Stacked charts need the same x
   in every series:
   stacked areas keep, in buckets over the distinct x values, the x of the
   smallest and largest total; bars (stacked or not) keep the first
   `max_points` x values in x order.

The answer has the shape of a chart without series (`x`, and `y` keyed by
series name, each aligned to `x`, null where a series has no point) plus `by`
(the series column), `names` (the series in order, "other" last), `other` (its
name, or null when nothing was folded), `folded` (how many values it holds) and
`stacked`.
"""

from __future__ import annotations

import re
from typing import Any

from ballast_tui.engine.blocks import chart_stacks
from ballast_tui.engine.json_values import jsonable
from ballast_tui.engine.outputs import Output
from ballast_tui.engine.workspace import Workspace

Row = dict[str, Any]

MAX_SERIES = 12
OTHER = "other"
NULL_SERIES = "(null)"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _base(config: Row) -> str:
    """The rows that can be drawn, as (x, s, y): the series value as text, y as a finite number."""
    x, s = _ident(config["x"]), _ident(config["series"])
    y = _ident(config["y"] if isinstance(config["y"], str) else config["y"][0])
    return f"""base AS (
        SELECT x, s, y FROM (
            SELECT {x} AS x, coalesce(CAST({s} AS VARCHAR), $null) AS s, TRY_CAST({y} AS DOUBLE) AS y
            FROM __out)
        WHERE x IS NOT NULL AND y IS NOT NULL AND isfinite(y))"""


def ranked_series(ws: Workspace, board_id: str, config: Row, output: Output) -> tuple[list[str], int]:
    """The names of the series drawn on their own (the largest total |y| first) and how many
    series there are in all."""
    table = ws.executor.query(
        board_id,
        f"""
        WITH {_base(config)},
             weights AS (SELECT s, sum(abs(y)) AS weight, count(*) AS n FROM base GROUP BY s)
        SELECT s, count(*) OVER () AS total FROM weights ORDER BY weight DESC, n DESC, s LIMIT $keep""",
        {"__out": output.relation},
        {"null": NULL_SERIES, "keep": MAX_SERIES},
    )
    names = [str(s) for s in table.column("s").to_pylist()]
    totals = table.column("total").to_pylist()
    return names, int(totals[0]) if totals else 0


def other_name(kept: list[str]) -> str:
    """The name of the folded series: "other", unless a drawn series is called that."""
    name = OTHER
    while name in kept:
        name = f"{name} (rest)"
    return name


def _points(kind: str) -> str:
    """Each row's series as its rank (1 for the first drawn, `MAX_SERIES + 1` for "other"), and one
    value per x and series (the sum), except in a scatter, which keeps its rows."""
    ranked = "SELECT x, coalesce(list_position($kept, s), $keep + 1) AS rank, y FROM base"
    if kind == "scatter":
        return f"points AS ({ranked})"
    return f"points AS (SELECT x, rank, sum(y) AS y FROM ({ranked}) GROUP BY x, rank)"


# Line, scatter, unstacked area: each series in `$buckets` buckets along its own x, keeping the
# points of the bucket's minimum and maximum (ties broken by x, so the answer never varies). A
# series of at most `$n` points has at most two in a bucket and keeps them all.
_PER_SERIES = """
    bucketed AS (SELECT x, rank, y, ntile($buckets) OVER (PARTITION BY rank ORDER BY x, y) AS bucket
                 FROM points),
    ends AS (SELECT rank, count(*) AS k,
                    arg_min(x, struct_pack(y := y, x := x)) AS x_lo, min(y) AS lo,
                    arg_max(x, struct_pack(y := y, x := x)) AS x_hi, max(y) AS hi
             FROM bucketed GROUP BY rank, bucket)
SELECT x_lo AS x, rank, lo AS y, k > 2 AS cut FROM ends
UNION ALL
SELECT x_hi AS x, rank, hi AS y, k > 2 AS cut FROM ends WHERE NOT (x_hi = x_lo AND hi = lo)
ORDER BY x, rank, y"""

# Bars, stacked or not: the first `$n` x values (in x order), every series at each.
_FIRST_X = """
    numbered AS (SELECT x, rank, y, dense_rank() OVER (ORDER BY x) AS xi FROM points),
    total AS (SELECT max(xi) AS nx FROM numbered)
SELECT x, rank, y, nx > $n AS cut FROM numbered, total WHERE xi <= $n ORDER BY x, rank"""

# Stacked areas: the same x in every series; in `$buckets` buckets over the distinct x, the x of
# the smallest and of the largest total.
_STACK_EXTREMES = """
    totals AS (SELECT x, sum(y) AS total FROM points GROUP BY x),
    bucketed AS (SELECT x, total, ntile($buckets) OVER (ORDER BY x) AS bucket FROM totals),
    ends AS (SELECT count(*) AS k,
                    arg_min(x, struct_pack(t := total, x := x)) AS x_lo,
                    arg_max(x, struct_pack(t := total, x := x)) AS x_hi
             FROM bucketed GROUP BY bucket),
    kept AS (SELECT x_lo AS x, k FROM ends UNION SELECT x_hi AS x, k FROM ends)
SELECT p.x, p.rank, p.y, kept.k > 2 AS cut FROM points p JOIN kept ON p.x = kept.x ORDER BY p.x, p.rank"""


def series_chart(ws: Workspace, board_id: str, config: Row, output: Output, max_points: int) -> Row:
    """The chart's series, one per value of `config["series"]` (see the module's doc)."""
    kind = config["kind"]
    stacked = chart_stacks(config)
    kept, total = ranked_series(ws, board_id, config, output)
    folded = max(0, total - len(kept))
    other = other_name(kept) if folded else None
    if kind == "bar":
        reduce = _FIRST_X
    elif stacked:
        reduce = _STACK_EXTREMES
    else:
        reduce = _PER_SERIES
    rows: list[Row] = []
    if kept:
        sql = f"WITH {_base(config)},\n{_points(kind)},{reduce}"
        params = {
            "null": NULL_SERIES,
            "kept": kept,
            "keep": MAX_SERIES,
            "n": max_points,
            "buckets": max(1, max_points // 2),
        }
        used = {name: value for name, value in params.items() if re.search(rf"\${name}\b", sql)}
        rows = ws.executor.query(board_id, sql, {"__out": output.relation}, used).to_pylist()
    names = [*kept, *([other] if other else [])]
    for row in rows:
        row["series"] = names[min(int(row["rank"]), len(names)) - 1]
    return wide_answer(kind, config["series"], stacked, kept, other, folded, rows)


def wide_answer(
    kind: str, by: str, stacked: bool, kept: list[str], other: str | None, folded: int, rows: list[Row]
) -> Row:
    """The reduced long points (`x`, `series`, `y`, `cut`; ordered by x) as the chart answer: the
    union of x, and each series' y aligned to it (null where it has no point).

    A scatter may have several points of one series at one x, so each of its
    points keeps a place of its own in `x` (which then repeats values).
    """
    slots: dict[Any, int] = {}
    places: list[int] = []
    for i, row in enumerate(rows):
        key = i if kind == "scatter" else jsonable(row["x"])
        places.append(slots.setdefault(key, len(slots)))
    xs: list[Any] = [None] * len(slots)
    for row, at in zip(rows, places, strict=True):
        xs[at] = jsonable(row["x"])
    present = {row["series"] for row in rows}
    names = [name for name in [*kept, *([other] if other else [])] if name in present]
    ys: dict[str, list[Any]] = {name: [None] * len(xs) for name in names}
    for row, at in zip(rows, places, strict=True):
        ys[row["series"]][at] = jsonable(row["y"])
    return {
        "kind": kind,
        "x": xs,
        "y": ys,
        "reduced": any(bool(row["cut"]) for row in rows),
        "points": len(rows),
        "by": by,
        "names": names,
        "other": other if other in names else None,
        "folded": folded,
        "stacked": stacked,
    }
