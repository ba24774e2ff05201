"""After a crash mid-cascade, blocks are never shown as current with outputs of an older config."""

from __future__ import annotations

from ballast_tui.engine.events import BlockChanged, Event
from ballast_tui.engine.recovery import resume_pending
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage.db import dumps
from tests.conftest import ToolClient


def _states(ws: Workspace, board: str) -> dict[str, str]:
    return {
        r["name"]: r["state"]
        for r in ws.db.rows("SELECT name, state FROM blocks WHERE board_id = ?", [board])
    }


def test_a_change_marks_what_it_will_rerun_pending_before_the_cascade(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    top = call(
        "dashboard_add_block", dashboard_id=board, type="sql", name="top", config={"sql": "select 1 as v"}
    )
    call(
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="below",
        config={"sql": "select v from top"},
    )
    call("dashboard_add_block", dashboard_id=board, type="markdown", name="aside", config={"text": "x"})
    seen: list[dict[str, str]] = []

    def on_event(event: Event) -> None:
        if isinstance(event, BlockChanged) and not seen:
            seen.append(_states(ws, board))  # committed, but the cascade has not run yet

    ws.bus.subscribe(board, on_event)
    call(
        "dashboard_update_block",
        dashboard_id=board,
        block_id=top["block"]["id"],
        config={"sql": "select 2 as v"},
    )
    assert seen == [{"top": "pending", "below": "pending", "aside": "success"}]
    assert _states(ws, board) == {"top": "success", "below": "success", "aside": "success"}


def test_resume_pending_reruns_blocks_a_crash_left_behind(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    top = call(
        "dashboard_add_block", dashboard_id=board, type="sql", name="top", config={"sql": "select 1 as v"}
    )
    below = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="below",
        config={"sql": "select v * 10 as v from top"},
    )
    # What a kill -9 between the change's commit and its cascade leaves behind:
    with ws.db.write() as tx:
        tx.execute(
            "UPDATE blocks SET config = ?, state = 'pending' WHERE id = ?",
            [dumps({"sql": "select 7 as v", "inputs": []}), top["block"]["id"]],
        )
        tx.execute("UPDATE blocks SET state = 'pending' WHERE id = ?", [below["block"]["id"]])

    results = resume_pending(ws)

    assert set(results[board].ran) == {top["block"]["id"], below["block"]["id"]}
    data = call("dashboard_block_data", dashboard_id=board, block_id=below["block"]["id"])
    assert data["status"] == "success" and data["rows"] == [{"v": 70}]
    assert resume_pending(ws) == {}
