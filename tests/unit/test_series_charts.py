"""Charts of long-format data: one series per value of a column, reduced and folded in DuckDB, and
the refusals of configs that cannot draw."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import pytest

from ballast_tui.engine.errors import InvalidRequest
from tests.conftest import ToolClient

START = date(2026, 1, 1)
DAYS = 60
REGIONS = ["north", "south", "east", "west"]


def revenue(day: int, region: int) -> float:
    """A wavy series per region, region 0 the largest."""
    return round(100 * (20 - region) + 30 * math.sin(day / 3 + region), 2)


def long_rows(regions: list[str], days: int = DAYS) -> list[dict[str, Any]]:
    return [
        {"day": (START + timedelta(days=d)).isoformat(), "region": r, "revenue": revenue(d, i)}
        for d in range(days)
        for i, r in enumerate(regions)
    ]


@pytest.fixture
def sales(call: ToolClient, board: str) -> str:
    """A board with `sales` in long format: day, region, revenue (4 regions x 60 days)."""
    call("catalog_push", dashboard_id=board, name="sales", rows=long_rows(REGIONS))
    return board


def add_chart(call: ToolClient, board: str, name: str = "chart", **config: Any) -> dict[str, Any]:
    base = {"source": "sales", "kind": "line", "x": "day", "y": "revenue", "series": "region"}
    block = call(
        "dashboard_add_block", dashboard_id=board, type="chart", name=name, config={**base, **config}
    )
    assert block["block"]["state"] == "success", block["block"]["error"]
    return dict(block["block"])


def chart_data(call: ToolClient, board: str, block_id: str, max_points: int | None = None) -> dict[str, Any]:
    args: dict[str, Any] = {"dashboard_id": board, "block_id": block_id}
    if max_points is not None:
        args["max_points"] = max_points
    series: dict[str, Any] = call("dashboard_block_data", **args)["series"]
    return series


def points_of(series: dict[str, Any], name: str) -> list[tuple[Any, Any]]:
    """One series' (x, y) points, without the gaps where it has none."""
    return [(x, y) for x, y in zip(series["x"], series["y"][name], strict=True) if y is not None]


def state(call: ToolClient, board: str) -> Any:
    """What a refused save must leave alone: the blocks and the audit."""
    blocks = call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]
    audit = call("dashboard_audit", dashboard_id=board)["events"]
    return [(b["id"], b["name"], b["config"], b["version"]) for b in blocks], len(audit)


# ---------------------------------------------------------------- one series per value


def test_a_series_column_draws_one_series_per_value_largest_first(call: ToolClient, sales: str) -> None:
    chart = add_chart(call, sales)
    series = chart_data(call, sales, chart["id"])
    assert series["by"] == "region"
    assert series["names"] == REGIONS == list(series["y"])
    assert series["other"] is None and series["folded"] == 0
    assert series["reduced"] is False and series["points"] == DAYS * len(REGIONS)
    assert len(series["x"]) == DAYS and series["x"] == sorted(series["x"])
    assert points_of(series, "east")[:2] == [("2026-01-01", revenue(0, 2)), ("2026-01-02", revenue(1, 2))]


@pytest.mark.parametrize("kind", ["line", "scatter", "area"])
def test_each_series_is_reduced_to_max_points_keeping_its_extremes(
    call: ToolClient, sales: str, kind: str
) -> None:
    chart = (
        add_chart(call, sales, kind=kind, stacked=False)
        if kind == "area"
        else add_chart(call, sales, kind=kind)
    )
    series = chart_data(call, sales, chart["id"], max_points=10)
    assert series["reduced"] is True
    for i, region in enumerate(REGIONS):
        points = points_of(series, region)
        assert 2 <= len(points) <= 10, region
        values = [revenue(d, i) for d in range(DAYS)]
        assert {min(values), max(values)} <= {y for _, y in points}, region


def test_past_twelve_series_the_rest_is_summed_per_x_into_other(call: ToolClient, board: str) -> None:
    regions = [f"r{i:02d}" for i in range(15)]
    call("catalog_push", dashboard_id=board, name="sales", rows=long_rows(regions, days=5))
    chart = add_chart(call, board, kind="bar")
    series = chart_data(call, board, chart["id"])
    # The largest total |revenue| first: r00..r11 are kept, r12, r13 and r14 are folded.
    assert series["names"] == [*regions[:12], "other"] == list(series["y"])
    assert series["other"] == "other" and series["folded"] == 3
    for d in range(5):
        assert series["y"]["other"][d] == pytest.approx(sum(revenue(d, i) for i in (12, 13, 14)))
        assert series["y"]["r03"][d] == pytest.approx(revenue(d, 3))


def test_the_series_are_ranked_by_total_absolute_y(call: ToolClient, board: str) -> None:
    rows = [
        {"k": 1, "s": "small", "v": 1},
        {"k": 1, "s": "negative", "v": -50},
        {"k": 1, "s": "big", "v": 20},
    ]
    call("catalog_push", dashboard_id=board, name="sales", rows=rows)
    chart = add_chart(call, board, x="k", y="v", series="s")
    assert chart_data(call, board, chart["id"])["names"] == ["negative", "big", "small"]


def test_a_null_series_value_is_a_series_and_other_never_takes_a_drawn_name(
    call: ToolClient, board: str
) -> None:
    rows = [{"k": k, "s": f"s{i}", "v": 100 - i} for k in (1, 2) for i in range(13)]
    rows += [{"k": k, "s": "other", "v": 1000} for k in (1, 2)] + [{"k": 1, "s": None, "v": 500}]
    call("catalog_push", dashboard_id=board, name="sales", rows=rows)
    chart = add_chart(call, board, x="k", y="v", series="s")
    series = chart_data(call, board, chart["id"])
    assert series["names"][:2] == ["other", "(null)"]
    assert series["other"] == "other (rest)" and series["names"][-1] == "other (rest)"
    assert series["folded"] == 3  # 15 series: "other", the null one and s0..s9 drawn; s10..s12 folded
    assert series["y"]["(null)"] == [500, None]


def test_long_data_sums_rows_of_one_x_and_series_except_in_a_scatter(call: ToolClient, board: str) -> None:
    rows = [{"k": 1, "s": "a", "v": 2}, {"k": 1, "s": "a", "v": 3}, {"k": 2, "s": "a", "v": 4}]
    call("catalog_push", dashboard_id=board, name="sales", rows=rows)
    line = add_chart(call, board, "line", x="k", y="v", series="s")
    assert chart_data(call, board, line["id"])["y"] == {"a": [5, 4]}
    scatter = add_chart(call, board, "dots", kind="scatter", x="k", y="v", series="s")
    dots = chart_data(call, board, scatter["id"])
    assert sorted(points_of(dots, "a")) == [(1, 2), (1, 3), (2, 4)]


# ---------------------------------------------------------------- stacking


def test_stacked_bars_share_their_x_and_keep_the_first_max_points(call: ToolClient, sales: str) -> None:
    chart = add_chart(call, sales, kind="bar", stacked=True)
    series = chart_data(call, sales, chart["id"], max_points=10)
    assert series["stacked"] is True and series["reduced"] is True
    assert series["x"] == [(START + timedelta(days=d)).isoformat() for d in range(10)]
    for i, region in enumerate(REGIONS):
        assert series["y"][region] == pytest.approx([revenue(d, i) for d in range(10)])


def test_stacked_areas_keep_the_same_x_in_every_series_with_the_totals_extremes(
    call: ToolClient, sales: str
) -> None:
    chart = add_chart(call, sales, kind="area")  # areas stack unless told otherwise
    series = chart_data(call, sales, chart["id"], max_points=10)
    assert series["stacked"] is True and series["reduced"] is True
    assert 2 <= len(series["x"]) <= 10
    assert all(None not in series["y"][region] for region in REGIONS)
    totals = [sum(revenue(d, i) for i in range(len(REGIONS))) for d in range(DAYS)]
    drawn = [sum(series["y"][r][k] for r in REGIONS) for k in range(len(series["x"]))]
    assert max(drawn) == pytest.approx(max(totals)) and min(drawn) == pytest.approx(min(totals))


def test_a_chart_without_series_answers_as_it_did(call: ToolClient, sales: str) -> None:
    plain = call(
        "dashboard_add_block",
        dashboard_id=sales,
        type="chart",
        config={"source": "sales", "kind": "line", "x": "day", "y": "revenue"},
    )["block"]
    series = chart_data(call, sales, plain["id"], max_points=5000)
    assert set(series) == {"kind", "x", "y", "reduced", "points"}
    assert list(series["y"]) == ["revenue"] and series["points"] == DAYS * len(REGIONS)


def test_the_chart_output_keeps_its_series_column(call: ToolClient, sales: str) -> None:
    chart = add_chart(call, sales)
    data = call("dashboard_block_data", dashboard_id=sales, block_id=chart["id"], limit=1)
    assert [c["name"] for c in data["columns"]] == ["day", "revenue", "region"]


# ---------------------------------------------------------------- refusals


def test_a_series_naming_a_missing_column_is_refused_naming_it_and_nothing_is_saved(
    call: ToolClient, sales: str
) -> None:
    before = state(call, sales)
    with pytest.raises(InvalidRequest) as refused:
        add_chart(call, sales, series="regoin")
    error = refused.value
    assert error.status == 400 and error.code == "invalid_request"
    assert "'regoin'" in error.message and "day, region, revenue" in error.message
    assert error.extra["field"] == "config.series"
    assert error.extra["accepted"] == ["day", "region", "revenue"]
    assert state(call, sales) == before


def test_changing_series_to_a_missing_column_is_refused_and_the_block_stays(
    call: ToolClient, sales: str
) -> None:
    chart = add_chart(call, sales)
    before = state(call, sales)
    config = {**chart["config"], "series": "country"}
    with pytest.raises(InvalidRequest, match="'country'"):
        call("dashboard_update_block", dashboard_id=sales, block_id=chart["id"], config=config)
    assert state(call, sales) == before


def test_a_series_missing_from_a_source_block_is_refused_too(call: ToolClient, sales: str) -> None:
    call(
        "dashboard_add_block",
        dashboard_id=sales,
        type="sql",
        name="daily",
        config={"sql": "SELECT day, sum(revenue) AS revenue FROM sales GROUP BY day"},
    )
    before = state(call, sales)
    with pytest.raises(InvalidRequest, match=r"'daily' has no column 'region' \(its columns: day, revenue\)"):
        add_chart(call, sales, source="daily")
    assert state(call, sales) == before


BAD_CHARTS: list[tuple[str, dict[str, Any], str]] = [
    ("stacked line", {"kind": "line", "stacked": True}, "config.stacked"),
    ("stacked scatter", {"kind": "scatter", "stacked": True}, "config.stacked"),
    ("stacked histogram", {"kind": "histogram", "stacked": True, "series": None}, "config.stacked"),
    ("series on a histogram", {"kind": "histogram"}, "config.series"),
    ("series with two y", {"y": ["revenue", "day"]}, "config.series"),
    ("series equal to x", {"series": "day"}, "config.series"),
    ("stacked not a boolean", {"kind": "bar", "stacked": "yes"}, "config.stacked"),
]


@pytest.mark.parametrize(("config", "field"), [c[1:] for c in BAD_CHARTS], ids=[c[0] for c in BAD_CHARTS])
def test_a_chart_that_cannot_draw_is_refused_and_nothing_is_saved(
    call: ToolClient, sales: str, config: dict[str, Any], field: str
) -> None:
    before = state(call, sales)
    base = {"source": "sales", "kind": "line", "x": "day", "y": "revenue", "series": "region"}
    merged = {k: v for k, v in {**base, **config}.items() if v is not None}
    with pytest.raises(InvalidRequest) as refused:
        call("dashboard_add_block", dashboard_id=sales, type="chart", config=merged)
    assert refused.value.extra["field"] == field
    assert state(call, sales) == before


def test_stacked_false_is_accepted_on_any_kind(call: ToolClient, sales: str) -> None:
    chart = add_chart(call, sales, kind="line", stacked=False)
    assert chart["config"]["stacked"] is False
    assert chart_data(call, sales, chart["id"])["stacked"] is False
