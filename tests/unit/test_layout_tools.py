"""Layout tools: showing and hiding blocks, setting the whole layout, and what a refusal leaves."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ballast_tui.engine.errors import InvalidRequest, NotFound
from tests.conftest import ToolClient

BLOCK_COUNT = 6


@pytest.fixture
def blocks(call: ToolClient, board: str) -> list[str]:
    """Six markdown blocks, all hidden."""
    return [
        call(
            "dashboard_add_block", dashboard_id=board, type="markdown", name=f"b{i}", config={"text": str(i)}
        )["block"]["id"]
        for i in range(BLOCK_COUNT)
    ]


def _show(call: ToolClient, board: str, block_id: str, displayed: bool = True) -> dict[str, Any]:
    answer = call("dashboard_set_displayed", dashboard_id=board, block_id=block_id, displayed=displayed)
    layout: dict[str, Any] = answer["layout"]
    return layout


def _stored(call: ToolClient, board: str) -> tuple[Any, ...]:
    dashboard = call("dashboard_get", dashboard_id=board)["dashboard"]
    displayed = sorted(b["id"] for b in dashboard["blocks"] if b["displayed"])
    return dashboard["layout"], displayed, len(call("dashboard_audit", dashboard_id=board)["events"])


def test_showing_appends_full_width_rows_at_the_bottom(
    call: ToolClient, board: str, blocks: list[str]
) -> None:
    _show(call, board, blocks[0])
    layout = _show(call, board, blocks[1])
    assert layout == {"rows": [{"blocks": [blocks[0]]}, {"blocks": [blocks[1]]}]}
    dashboard = call("dashboard_get", dashboard_id=board)["dashboard"]
    assert dashboard["layout"] == layout
    assert {b["id"] for b in dashboard["blocks"] if b["displayed"]} == {blocks[0], blocks[1]}


def test_showing_a_shown_block_changes_nothing(call: ToolClient, board: str, blocks: list[str]) -> None:
    _show(call, board, blocks[0])
    before = _stored(call, board)
    _show(call, board, blocks[0])
    assert _stored(call, board) == before


def test_hiding_takes_the_block_out_of_its_row_and_an_emptied_row_goes(
    call: ToolClient, board: str, blocks: list[str]
) -> None:
    for block_id in blocks[:3]:
        _show(call, board, block_id)
    call(
        "dashboard_set_layout",
        dashboard_id=board,
        rows=[{"blocks": [blocks[0], blocks[1]], "cols": [8, 4], "height": 300}, {"blocks": [blocks[2]]}],
    )
    layout = _show(call, board, blocks[1], displayed=False)
    assert layout == {"rows": [{"blocks": [blocks[0]], "height": 300}, {"blocks": [blocks[2]]}]}
    layout = _show(call, board, blocks[2], displayed=False)
    assert layout == {"rows": [{"blocks": [blocks[0]], "height": 300}]}
    dashboard = call("dashboard_get", dashboard_id=board)["dashboard"]
    assert [b["id"] for b in dashboard["blocks"] if b["displayed"]] == [blocks[0]]


def test_set_layout_is_idempotent(call: ToolClient, board: str, blocks: list[str]) -> None:
    for block_id in blocks[:4]:
        _show(call, board, block_id)
    rows = [{"blocks": blocks[:3], "cols": [3, 3, 6], "height": 120}, {"blocks": [blocks[3]]}]
    first = call("dashboard_set_layout", dashboard_id=board, rows=rows)["layout"]
    after_first = _stored(call, board)
    second = call("dashboard_set_layout", dashboard_id=board, rows=rows)["layout"]
    assert first == second == {"rows": rows}
    assert _stored(call, board) == after_first  # no second audit event either


def test_set_layout_records_one_audit_event(call: ToolClient, board: str, blocks: list[str]) -> None:
    _show(call, board, blocks[0])
    _show(call, board, blocks[1])
    call("dashboard_set_layout", dashboard_id=board, rows=[{"blocks": [blocks[1], blocks[0]]}])
    events = call("dashboard_audit", dashboard_id=board)["events"]
    assert events[0]["action"] == "layout_set"
    assert events[1]["action"] == "block_displayed"


BAD_LAYOUTS: list[tuple[str, Any]] = [
    ("hidden block", lambda b: [{"blocks": [b[0], b[1], b[5]]}, {"blocks": [b[2]]}]),
    ("unknown block", lambda b: [{"blocks": [b[0], b[1], "blk_nosuchblock0000"]}, {"blocks": [b[2]]}]),
    ("block twice in a row", lambda b: [{"blocks": [b[0], b[0], b[1]]}, {"blocks": [b[2]]}]),
    ("block in two rows", lambda b: [{"blocks": [b[0], b[1]]}, {"blocks": [b[2], b[1]]}]),
    ("displayed block left out", lambda b: [{"blocks": [b[0], b[1]]}]),
    ("empty row", lambda b: [{"blocks": [b[0], b[1], b[2]]}, {"blocks": []}]),
    ("five blocks in a row", lambda b: [{"blocks": [b[0], b[1], b[2], b[3], b[4]]}]),
    ("cols not summing to 12", lambda b: [{"blocks": [b[0], b[1], b[2]], "cols": [4, 4, 3]}]),
    ("cols of the wrong length", lambda b: [{"blocks": [b[0], b[1], b[2]], "cols": [6, 6]}]),
    ("zero width", lambda b: [{"blocks": [b[0], b[1], b[2]], "cols": [0, 6, 6]}]),
    ("negative width", lambda b: [{"blocks": [b[0], b[1], b[2]], "cols": [-2, 8, 6]}]),
    ("fractional width", lambda b: [{"blocks": [b[0], b[1], b[2]], "cols": [4.5, 3.5, 4]}]),
    ("height zero", lambda b: [{"blocks": [b[0], b[1], b[2]], "height": 0}]),
    ("height negative", lambda b: [{"blocks": [b[0], b[1], b[2]], "height": -10}]),
    ("height as text", lambda b: [{"blocks": [b[0], b[1], b[2]], "height": "tall"}]),
    ("height true", lambda b: [{"blocks": [b[0], b[1], b[2]], "height": True}]),
    ("unknown row key", lambda b: [{"blocks": [b[0], b[1], b[2]], "width": 3}]),
    ("rows not a list", lambda b: {"blocks": [b[0]]}),
]


@pytest.mark.parametrize(
    "make_rows", [case[1] for case in BAD_LAYOUTS], ids=[case[0] for case in BAD_LAYOUTS]
)
def test_refused_layout_changes_nothing_and_is_not_audited(
    call: ToolClient, board: str, blocks: list[str], make_rows: Any
) -> None:
    for block_id in blocks[:5]:
        _show(call, board, block_id)
    call(
        "dashboard_set_layout",
        dashboard_id=board,
        rows=[{"blocks": blocks[:3], "cols": [6, 3, 3]}, {"blocks": blocks[3:5], "height": 200}],
    )
    _show(call, board, blocks[3], displayed=False)
    _show(call, board, blocks[4], displayed=False)
    before = _stored(call, board)
    with pytest.raises(InvalidRequest):
        call("dashboard_set_layout", dashboard_id=board, rows=make_rows(blocks))
    assert _stored(call, board) == before


def test_set_displayed_of_an_unknown_block_is_not_found(call: ToolClient, board: str) -> None:
    with pytest.raises(NotFound):
        call("dashboard_set_displayed", dashboard_id=board, block_id="blk_nosuchblock0000", displayed=True)


# --------------------------------------------------------------------------- the invariant, by hypothesis

Step = tuple[str, int, int]
steps = st.lists(
    st.tuples(
        st.sampled_from(["show", "hide", "layout"]), st.integers(0, BLOCK_COUNT - 1), st.integers(0, 2**16)
    ),
    min_size=1,
    max_size=12,
)


def _random_rows(displayed: list[str], seed: int) -> list[dict[str, Any]]:
    """A valid arrangement of the displayed blocks chosen by `seed`: rows of 1-4, some cols and heights."""
    rng = random.Random(seed)
    order = displayed[:]
    rng.shuffle(order)
    rows: list[dict[str, Any]] = []
    while order:
        size = rng.randint(1, min(4, len(order)))
        row: dict[str, Any] = {"blocks": order[:size]}
        order = order[size:]
        if size == 2 and rng.random() < 0.5:
            row["cols"] = [8, 4]
        if rng.random() < 0.3:
            row["height"] = rng.randint(20, 600)
        rows.append(row)
    return rows


def _check_invariant(call: ToolClient, board: str) -> None:
    dashboard = call("dashboard_get", dashboard_id=board)["dashboard"]
    placed = [block_id for row in dashboard["layout"]["rows"] for block_id in row["blocks"]]
    displayed = {b["id"] for b in dashboard["blocks"] if b["displayed"]}
    assert sorted(placed) == sorted(displayed)  # each displayed block exactly once, no hidden one
    assert all(1 <= len(row["blocks"]) <= 4 for row in dashboard["layout"]["rows"])
    for row in dashboard["layout"]["rows"]:
        if "cols" in row:
            assert len(row["cols"]) == len(row["blocks"]) and sum(row["cols"]) == 12


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=steps)
def test_show_hide_and_set_layout_keep_layout_and_displayed_in_step(
    call: ToolClient, board: str, blocks: list[str], sequence: list[Step]
) -> None:
    for block_id in blocks:  # every example starts from a board showing nothing
        _show(call, board, block_id, displayed=False)
    for action, index, seed in sequence:
        if action == "show":
            _show(call, board, blocks[index])
        elif action == "hide":
            _show(call, board, blocks[index], displayed=False)
        else:
            dashboard = call("dashboard_get", dashboard_id=board)["dashboard"]
            displayed = [b["id"] for b in dashboard["blocks"] if b["displayed"]]
            if seed % 3 == 0 and displayed:
                # A refused layout (a hidden or unknown block added) must change nothing.
                extra = next((b for b in blocks if b not in displayed), "blk_nosuchblock0000")
                before = dashboard["layout"]
                with pytest.raises(InvalidRequest):
                    call(
                        "dashboard_set_layout", dashboard_id=board, rows=[{"blocks": [*displayed[:3], extra]}]
                    )
                assert call("dashboard_get", dashboard_id=board)["dashboard"]["layout"] == before
            else:
                rows = _random_rows(displayed, seed)
                assert call("dashboard_set_layout", dashboard_id=board, rows=rows)["layout"] == {"rows": rows}
        _check_invariant(call, board)
