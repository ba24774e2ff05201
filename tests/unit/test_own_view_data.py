"""A viewer's own view through the tools: `dashboard_block_data` with `filter_overrides` shows the
block as the values make it, stores nothing, publishes nothing, and refuses what it should."""

from __future__ import annotations

from typing import Any

import pytest

from ballast_tui.engine.errors import Forbidden, InvalidRequest
from ballast_tui.engine.events import Event
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient

Row = dict[str, Any]


@pytest.fixture
def regional(call: ToolClient, board: str) -> dict[str, str]:
    call(
        "catalog_push",
        dashboard_id=board,
        name="sales",
        rows=[
            {"region": "north", "amount": 1},
            {"region": "north", "amount": 2},
            {"region": "south", "amount": 10},
        ],
    )
    add = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="param-enum",
        name="region",
        config={"options": ["north", "south"], "default": "north"},
    )
    control = add["block"]["id"]
    total = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="total",
        config={"sql": "select sum(amount) as s from sales where region = $region", "inputs": ["region"]},
    )
    count = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="count",
        config={"sql": "select count(*) as n from sales"},
    )
    return {"control": control, "total": total["block"]["id"], "count": count["block"]["id"]}


@pytest.fixture
def viewer(call: ToolClient, board: str, make_client: Any) -> ToolClient:
    client: ToolClient = make_client("vera")
    call("dashboard_grant", dashboard_id=board, user="vera", role="viewer")
    return client


def data(client: ToolClient, board: str, block_id: str, **extra: Any) -> Row:
    return client("dashboard_block_data", dashboard_id=board, block_id=block_id, **extra)


def state(ws: Workspace, board: str) -> list[Any]:
    """Everything a stored change would touch: runs, block rows, versions, the audit."""
    return [
        ws.db.rows("SELECT id FROM runs WHERE board_id = ? ORDER BY id", [board]),
        ws.db.rows(
            "SELECT id, version, value, current_run_id FROM blocks WHERE board_id = ? ORDER BY id", [board]
        ),
        ws.db.rows("SELECT number FROM board_versions WHERE board_id = ?", [board]),
        ws.db.rows("SELECT id FROM audit WHERE board_id = ?", [board]),
    ]


def test_a_viewers_values_show_only_in_their_answer_and_store_nothing(
    ws: Workspace, call: ToolClient, board: str, regional: dict[str, str], viewer: ToolClient
) -> None:
    before = state(ws, board)
    seen: list[Event] = []
    unsubscribe = ws.bus.subscribe(board, seen.append)
    try:
        mine = data(viewer, board, regional["total"], filter_overrides={"region": "south"})
        untouched = data(viewer, board, regional["count"], filter_overrides={"region": "south"})
    finally:
        unsubscribe()
    assert mine["rows"] == [{"s": 10}] and mine["overridden"] is True and mine["status"] == "success"
    assert mine["run_id"] is None
    assert untouched["overridden"] is False and untouched["rows"] == [{"n": 3}]
    assert untouched["run_id"] is not None  # the stored output, as it is
    assert state(ws, board) == before and seen == []
    assert data(call, board, regional["total"])["rows"] == [{"s": 3}]
    assert data(viewer, board, regional["total"])["rows"] == [{"s": 3}]


def test_the_control_itself_shows_the_chosen_value(
    call: ToolClient, board: str, regional: dict[str, str], viewer: ToolClient
) -> None:
    answer = data(
        viewer, board, regional["control"], filter_overrides={regional["control"]: "south"}, limit=1
    )
    assert answer["overridden"] is True and "south" in str(answer["rows"][0])


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"region": "east"}, "region"),
        ({"total": "north"}, "not a control"),
        ({"nowhere": "north"}, "no control"),
    ],
)
def test_values_a_control_does_not_allow_are_refused_and_change_nothing(
    ws: Workspace, board: str, regional: dict[str, str], viewer: ToolClient, overrides: Row, message: str
) -> None:
    before = state(ws, board)
    with pytest.raises(InvalidRequest, match=message):
        data(viewer, board, regional["total"], filter_overrides=overrides)
    assert state(ws, board) == before


def test_a_control_of_another_board_is_not_found_here(
    call: ToolClient, board: str, regional: dict[str, str], viewer: ToolClient
) -> None:
    other = call("dashboard_create", title="other")["dashboard"]["id"]
    foreign = call(
        "dashboard_add_block", dashboard_id=other, type="param-enum", name="theirs", config={"options": ["a"]}
    )["block"]["id"]
    with pytest.raises(InvalidRequest, match="no control"):
        data(viewer, board, regional["total"], filter_overrides={foreign: "a"})
    with pytest.raises(Forbidden):
        data(viewer, other, foreign, filter_overrides={})


def test_an_earlier_run_cannot_be_read_under_other_values(
    call: ToolClient, board: str, regional: dict[str, str], viewer: ToolClient
) -> None:
    run_id = data(call, board, regional["total"])["run_id"]
    with pytest.raises(InvalidRequest, match="run_id"):
        data(viewer, board, regional["total"], run_id=run_id, filter_overrides={"region": "south"})
