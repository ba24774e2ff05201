"""Keyboard layout editing keeps every layout valid, and moves blocks where a person expects."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ballast_tui.engine.layout import validate_layout
from ballast_tui.engine.layout_edit import move_block, resize_row, resize_width

TYPES = {f"b{i}": "chart" for i in range(8)}


def rows(*blocks: list[str]) -> dict[str, Any]:
    return {"rows": [{"blocks": list(b)} for b in blocks]}


@pytest.mark.parametrize(
    ("layout", "block", "direction", "expected"),
    [
        (rows(["b0", "b1"]), "b0", "right", rows(["b1", "b0"])),
        (rows(["b0", "b1"]), "b1", "right", None),
        (rows(["b0"], ["b1", "b2"]), "b2", "up", rows(["b0"], ["b2"], ["b1"])),
        (rows(["b0"], ["b1", "b2"]), "b1", "down", rows(["b0"], ["b2"], ["b1"])),
        (rows(["b0"], ["b1"]), "b1", "up", rows(["b0", "b1"])),
        (rows(["b0"], ["b1"]), "b0", "down", rows(["b0", "b1"])),
        (rows(["b0"], ["b1"]), "b0", "up", None),
        (rows(["b0", "b1", "b2", "b3"], ["b4"]), "b4", "up", rows(["b4"], ["b0", "b1", "b2", "b3"])),
    ],
)
def test_move_block(
    layout: dict[str, Any], block: str, direction: str, expected: dict[str, Any] | None
) -> None:
    assert move_block(layout, block, direction) == expected


def test_resize_row_from_its_default_and_never_below_one_text_row() -> None:
    assert resize_row(rows(["b0"]), "b0", 20, TYPES) == {"rows": [{"blocks": ["b0"], "height": 310}]}
    assert resize_row({"rows": [{"blocks": ["b0"], "height": 20}]}, "b0", -20, TYPES) is None


def test_resize_width_takes_columns_from_the_neighbour() -> None:
    assert resize_width(rows(["b0", "b1"]), "b0", 1) == {"rows": [{"blocks": ["b0", "b1"], "cols": [7, 5]}]}
    assert resize_width(rows(["b0", "b1"]), "b1", 1) == {"rows": [{"blocks": ["b0", "b1"], "cols": [5, 7]}]}
    assert resize_width({"rows": [{"blocks": ["b0", "b1"], "cols": [11, 1]}]}, "b0", 1) is None
    assert resize_width(rows(["b0"]), "b0", 1) is None


@st.composite
def layouts(draw: st.DrawFn) -> dict[str, Any]:
    ids = [f"b{i}" for i in range(draw(st.integers(1, 8)))]
    result, i = [], 0
    while i < len(ids):
        n = draw(st.integers(1, min(4, len(ids) - i)))
        result.append(ids[i : i + n])
        i += n
    return rows(*result)


@settings(max_examples=200, deadline=None)
@given(
    layouts(),
    st.lists(
        st.tuples(
            st.integers(0, 7),
            st.sampled_from(["up", "down", "left", "right", "wider", "narrower", "taller", "shorter"]),
        )
    ),
)
def test_every_edit_keeps_the_layout_valid(layout: dict[str, Any], edits: list[tuple[int, str]]) -> None:
    shown = {b: "chart" for row in layout["rows"] for b in row["blocks"]}
    for index, edit in edits:
        block = sorted(shown)[index % len(shown)]
        if edit in ("up", "down", "left", "right"):
            changed = move_block(layout, block, edit)
        elif edit in ("wider", "narrower"):
            changed = resize_width(layout, block, 1 if edit == "wider" else -1)
        else:
            changed = resize_row(layout, block, 20 if edit == "taller" else -20, shown)
        if changed is not None:
            assert validate_layout(changed, shown, set(shown)) == changed
            layout = changed
