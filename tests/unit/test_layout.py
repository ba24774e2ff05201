"""The dashboard layout rules: refusals, defaults, show/hide, and properties."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.layout import (
    GRID_COLUMNS,
    MAX_BLOCKS_PER_ROW,
    TERMINAL_ROW_PX,
    default_height,
    empty_layout,
    row_height,
    row_spans,
    text_rows,
    validate_layout,
    with_block_hidden,
    with_block_shown,
)

DISPLAYED = {
    "chart1": "chart",
    "table1": "table",
    "metric1": "metric",
    "md1": "markdown",
    "date1": "filter-daterange",
    "sql1": "sql",
}
KNOWN = {*DISPLAYED, "hidden1", "hidden2"}
ALL_DISPLAYED_ROWS: list[dict[str, Any]] = [
    {"blocks": ["date1", "metric1", "md1"]},
    {"blocks": ["chart1", "table1"], "cols": [8, 4], "height": 400},
    {"blocks": ["sql1"]},
]


def _layout(*extra_rows: dict[str, Any]) -> dict[str, Any]:
    return {"rows": copy.deepcopy(ALL_DISPLAYED_ROWS) + list(extra_rows)}


def _with_row0(**row: Any) -> dict[str, Any]:
    layout = _layout()
    layout["rows"][0] = row
    return layout


def _row0_with(**extra: Any) -> dict[str, Any]:
    """The valid layout with extra keys on its first row (date1, metric1, md1)."""
    return _with_row0(blocks=["date1", "metric1", "md1"], **extra)


# ---------------------------------------------------------------- constants and defaults


def test_constants() -> None:
    assert (TERMINAL_ROW_PX, MAX_BLOCKS_PER_ROW, GRID_COLUMNS) == (20, 4, 12)
    assert empty_layout() == {"rows": []}
    assert empty_layout() is not empty_layout()


@pytest.mark.parametrize(
    ("block_type", "px"),
    [
        ("chart", 290),
        ("table", 290),
        ("sql", 290),
        ("filter-daterange", 80),
        ("param-enum", 80),
        ("markdown", 80),
        ("metric", 80),
        ("something-new", 290),
    ],
)
def test_default_height(block_type: str, px: int) -> None:
    assert default_height(block_type) == px


@pytest.mark.parametrize(
    ("px", "rows"),
    [(1, 1), (9, 1), (10, 1), (20, 1), (29, 1), (31, 2), (40, 2), (80, 4), (290, 14), (400, 20), (5000, 250)],
)
def test_text_rows(px: int, rows: int) -> None:
    assert text_rows(px) == rows


@pytest.mark.parametrize(
    ("row", "spans"),
    [
        ({"blocks": ["a"]}, [12]),
        ({"blocks": ["a", "b"]}, [6, 6]),
        ({"blocks": ["a", "b", "c"]}, [4, 4, 4]),
        ({"blocks": ["a", "b", "c", "d"]}, [3, 3, 3, 3]),
        ({"blocks": ["a", "b"], "cols": [8, 4]}, [8, 4]),
        ({"blocks": ["a", "b", "c", "d", "e"]}, [3, 3, 2, 2, 2]),  # never valid, but still adds up to 12
        ({"blocks": []}, []),
    ],
)
def test_row_spans(row: dict[str, Any], spans: list[int]) -> None:
    assert row_spans(row) == spans


@pytest.mark.parametrize(
    ("row", "px"),
    [
        ({"blocks": ["metric1"]}, 80),
        ({"blocks": ["date1", "md1"]}, 80),
        ({"blocks": ["metric1", "chart1"]}, 290),
        ({"blocks": ["sql1"]}, 290),
        ({"blocks": ["chart1"], "height": 120}, 120),
        ({"blocks": ["metric1"], "height": 500}, 500),
    ],
)
def test_row_height(row: dict[str, Any], px: int) -> None:
    assert row_height(row, DISPLAYED) == px


# ---------------------------------------------------------------- accepted layouts


def test_valid_layout_is_normalized() -> None:
    raw = _layout()
    raw["rows"][2] = {"blocks": ["sql1"], "cols": None, "height": None}
    before = copy.deepcopy(raw)
    assert validate_layout(raw, DISPLAYED, KNOWN) == _layout()
    assert raw == before


def test_empty_layout_valid_when_nothing_displayed() -> None:
    assert validate_layout({"rows": []}, {}, KNOWN) == {"rows": []}


def test_boundary_heights_and_four_blocks() -> None:
    layout = {
        "rows": [
            {"blocks": ["date1", "metric1", "md1", "sql1"], "height": 1},
            {"blocks": ["chart1", "table1"], "cols": [11, 1], "height": 5000},
        ]
    }
    assert validate_layout(layout, DISPLAYED, KNOWN) == layout


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        # wrong shapes
        ([], "must be an object"),
        (None, "must be an object"),
        ({}, "missing 'rows'"),
        ({"rows": {}}, "'rows' must be a list"),
        ({"rows": None}, "'rows' must be a list"),
        ({"rows": [], "title": "x"}, "unknown key 'title'"),
        ({"rows": [["chart1"]]}, "row 1 must be an object"),
        (_row0_with(width=3), "row 1 has an unknown key 'width'"),
        (_with_row0(cols=[12]), "row 1 is missing 'blocks'"),
        (_with_row0(blocks="date1"), "row 1: 'blocks' must be a list"),
        (_with_row0(blocks=["date1", 3, "md1"]), "block ids must be strings"),
        # block counts
        (_layout({"blocks": []}), "row 4 is empty"),
        (
            {"rows": [{"blocks": ["date1", "metric1", "md1", "chart1", "table1"]}, {"blocks": ["sql1"]}]},
            "row 1 has 5 blocks",
        ),
        # unknown, hidden, duplicated, omitted blocks
        (_layout({"blocks": ["nope"]}), "no block 'nope'"),
        (_layout({"blocks": ["hidden1"]}), "block 'hidden1' is hidden; show it with dashboard_set_displayed"),
        (_layout({"blocks": ["chart1"]}), "row 4: block 'chart1' is listed twice (it is already in row 2)"),
        (_with_row0(blocks=["date1", "metric1", "md1", "md1"]), "already in this row"),
        ({"rows": ALL_DISPLAYED_ROWS[1:]}, "leaves out displayed block(s) 'metric1', 'md1', 'date1'"),
        ({"rows": []}, "hide it with dashboard_set_displayed"),
        # cols
        (_row0_with(cols=[6, 6]), "one width per block"),
        (_row0_with(cols=[4, 4, 3]), "add up to 12, but they add up to 11"),
        (_row0_with(cols=[6, 6, 0]), "positive whole numbers, got 0"),
        (_row0_with(cols=[8, 6, -2]), "positive whole numbers, got -2"),
        (_row0_with(cols=[4.0, 4, 4]), "positive whole numbers, got 4.0"),
        (_row0_with(cols=["4", 4, 4]), "positive whole numbers, got '4'"),
        (_row0_with(cols=[True, 5, 6]), "positive whole numbers, got true"),
        (_row0_with(cols="4,4,4"), "'cols' must be a list"),
        # height
        (_row0_with(height=0), "got 0"),
        (_row0_with(height=-80), "got -80"),
        (_row0_with(height=80.5), "got 80.5"),
        (_row0_with(height=80.0), "got 80.0"),
        (_row0_with(height="80"), "got '80'"),
        (_row0_with(height=True), "got true"),
        (_row0_with(height=5001), "from 1 to 5000, got 5001"),
    ],
)
def test_refusals(layout: object, message: str) -> None:
    before = copy.deepcopy(layout)
    with pytest.raises(InvalidRequest) as excinfo:
        validate_layout(layout, DISPLAYED, KNOWN)
    assert message in excinfo.value.message
    assert excinfo.value.code == "invalid_request"
    assert layout == before


# ---------------------------------------------------------------- show and hide


def test_show_appends_full_width_row_without_mutating() -> None:
    layout = {"rows": [{"blocks": ["a", "b"], "cols": [4, 8]}]}
    before = copy.deepcopy(layout)
    shown = with_block_shown(layout, "c")
    assert shown == {"rows": [{"blocks": ["a", "b"], "cols": [4, 8]}, {"blocks": ["c"]}]}
    assert layout == before
    shown["rows"][0]["blocks"].append("z")
    assert layout == before


def test_show_is_idempotent() -> None:
    layout = {"rows": [{"blocks": ["a", "b"]}]}
    assert with_block_shown(layout, "b") == layout
    assert with_block_shown(layout, "b") is not layout
    assert with_block_shown(empty_layout(), "a") == {"rows": [{"blocks": ["a"]}]}


def test_hide_drops_cols_keeps_height_and_removes_empty_rows() -> None:
    layout = {
        "rows": [
            {"blocks": ["a", "b", "c"], "cols": [2, 4, 6], "height": 300},
            {"blocks": ["d"], "height": 100},
            {"blocks": ["e"]},
        ]
    }
    before = copy.deepcopy(layout)
    assert with_block_hidden(layout, "b") == {
        "rows": [{"blocks": ["a", "c"], "height": 300}, {"blocks": ["d"], "height": 100}, {"blocks": ["e"]}]
    }
    assert with_block_hidden(layout, "d") == {
        "rows": [{"blocks": ["a", "b", "c"], "cols": [2, 4, 6], "height": 300}, {"blocks": ["e"]}]
    }
    assert with_block_hidden(layout, "zz") == layout
    assert layout == before


def test_show_then_hide_round_trip() -> None:
    layout = {"rows": [{"blocks": ["a"]}]}
    assert with_block_hidden(with_block_shown(layout, "b"), "b") == layout


# ---------------------------------------------------------------- properties

Draw = Callable[[st.SearchStrategy[Any]], Any]
IDS = [f"b{i}" for i in range(10)]
TYPES = ["chart", "table", "sql", "metric", "markdown", "filter-daterange", "param-enum"]


@st.composite
def boards(draw: st.DrawFn) -> dict[str, str]:
    """A board's displayed blocks (id -> type); at least two of IDS stay hidden."""
    ids = draw(st.lists(st.sampled_from(IDS), unique=True, max_size=len(IDS) - 2))
    return {block_id: draw(st.sampled_from(TYPES)) for block_id in ids}


@st.composite
def compositions_of_12(draw: st.DrawFn, parts: int) -> list[int]:
    cuts = sorted(draw(st.lists(st.integers(1, 11), min_size=parts - 1, max_size=parts - 1, unique=True)))
    bounds = [0, *cuts, GRID_COLUMNS]
    return [b - a for a, b in itertools.pairwise(bounds)]


@st.composite
def valid_layouts(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, str]]:
    """A random layout placing exactly the displayed blocks of a random board."""
    displayed = draw(boards())
    ids = draw(st.permutations(list(displayed)))
    rows: list[dict[str, Any]] = []
    while ids:
        size = draw(st.integers(1, min(MAX_BLOCKS_PER_ROW, len(ids))))
        row: dict[str, Any] = {"blocks": list(ids[:size])}
        ids = ids[size:]
        if draw(st.booleans()):
            row["cols"] = draw(compositions_of_12(size))
        if draw(st.booleans()):
            row["height"] = draw(st.integers(1, 5000))
        rows.append(row)
    return {"rows": rows}, displayed


def _placed(layout: dict[str, Any]) -> list[str]:
    return [block_id for row in layout["rows"] for block_id in row["blocks"]]


@settings(max_examples=200, deadline=None)
@given(
    start=valid_layouts(),
    ops=st.lists(st.tuples(st.booleans(), st.sampled_from(IDS), st.sampled_from(TYPES)), max_size=30),
)
def test_show_hide_sequences_stay_valid(
    start: tuple[dict[str, Any], dict[str, str]], ops: list[tuple[bool, str, str]]
) -> None:
    layout, displayed = start
    displayed = dict(displayed)
    for show, block_id, block_type in ops:
        if show:
            displayed.setdefault(block_id, block_type)
            layout = with_block_shown(layout, block_id)
        else:
            displayed.pop(block_id, None)
            layout = with_block_hidden(layout, block_id)
        assert validate_layout(layout, displayed, IDS) == layout
        placed = _placed(layout)
        assert sorted(placed) == sorted(displayed)
        assert len(placed) == len(set(placed))


@settings(max_examples=200, deadline=None)
@given(start=valid_layouts())
def test_validate_is_idempotent(start: tuple[dict[str, Any], dict[str, str]]) -> None:
    layout, displayed = start
    once = validate_layout(layout, displayed, IDS)
    assert validate_layout(once, displayed, IDS) == once
    assert once == layout


def _duplicate(layout: dict[str, Any], displayed: dict[str, str], draw: Draw) -> None:
    block_id = draw(st.sampled_from(_placed(layout)))
    target = draw(st.sampled_from(layout["rows"]))
    if len(target["blocks"]) < MAX_BLOCKS_PER_ROW:
        target["blocks"].append(block_id)
        target.pop("cols", None)
    else:
        layout["rows"].append({"blocks": [block_id]})


def _five_in_a_row(layout: dict[str, Any], displayed: dict[str, str], draw: Draw) -> None:
    placed = _placed(layout)
    filler = [b for b in IDS if b not in placed]
    blocks = (placed + filler)[:5]
    layout["rows"] = [row for row in layout["rows"] if not set(row["blocks"]) & set(blocks)]
    layout["rows"].insert(0, {"blocks": blocks})
    # Keep every displayed block placed, and the fillers displayed, so only the count is wrong.
    for block_id in filler:
        displayed.setdefault(block_id, "metric")
    for block_id in placed[5:]:
        if block_id not in _placed(layout):
            layout["rows"].append({"blocks": [block_id]})


def _cols_sum_11(layout: dict[str, Any], displayed: dict[str, str], draw: Draw) -> None:
    row = draw(st.sampled_from(layout["rows"]))
    spans = row_spans(row)
    widest = spans.index(max(spans))
    spans[widest] -= 1  # always >= 3 before, so still positive
    row["cols"] = spans


def _hidden_block(layout: dict[str, Any], displayed: dict[str, str], draw: Draw) -> None:
    hidden = draw(st.sampled_from([b for b in IDS if b not in displayed]))
    layout["rows"].append({"blocks": [hidden]})


MUTATIONS = {
    "duplicate": (_duplicate, "listed twice"),
    "five": (_five_in_a_row, "has 5 blocks"),
    "cols11": (_cols_sum_11, "add up to 11"),
    "hidden": (_hidden_block, "is hidden"),
}


@settings(max_examples=300, deadline=None)
@given(start=valid_layouts(), name=st.sampled_from(sorted(MUTATIONS)), data=st.data())
def test_invalid_mutations_are_refused(
    start: tuple[dict[str, Any], dict[str, str]], name: str, data: st.DataObject
) -> None:
    layout, displayed = copy.deepcopy(start)
    mutate, message = MUTATIONS[name]
    if name in ("duplicate", "cols11") and not layout["rows"]:
        layout = with_block_shown(layout, "b0")
        displayed["b0"] = "chart"
    mutate(layout, displayed, data.draw)
    before = copy.deepcopy(layout)
    with pytest.raises(InvalidRequest) as excinfo:
        validate_layout(layout, displayed, IDS)
    assert message in excinfo.value.message
    assert layout == before
