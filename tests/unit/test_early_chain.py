"""Early runs all the way down a chain while a large result's file is written (issue 17, item 3).

Real workspaces in tmp_path, everything through the tools; the writer's threads are held up by
real work of their own (a job that waits on an event), not replaced. What a user would notice if
this went wrong: a block two levels below a large result waiting for that result's file to be
written before it runs (the cascade slower by the whole encode), a run made early kept although
its upstream proved reusable (a wrong output, or an orphan run or file), a block announced as
started before the block above it is announced finished, or rows that differ from what the
stored files give.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pyarrow.parquet as pq

from ballast_tui.engine.events import Event, RunFinished, RunStarted
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage.files import result_hash
from tests.conftest import ToolClient
from tests.unit.test_cascade import add_sql, runs_of, update_sql
from tests.unit.test_write_ahead import LARGE_ROWS, files_named_by_no_run, record_runs

Row = dict[str, Any]

HOLD_S = 1.0
"""How long the writer's threads are held up: far longer than the small blocks below take."""


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _hold_writer(ws: Workspace) -> threading.Event:
    """Keep every thread of the workspace's writer busy until the event is set."""
    gate = threading.Event()
    started = threading.Barrier(3)

    def wait() -> None:
        started.wait()
        gate.wait(30)

    for _ in range(2):
        ws.writer._pool.submit(wait)
    started.wait()
    return gate


def _update_while_the_writer_is_held(
    ws: Workspace, call: ToolClient, board: str, block: str, sql: str, hold_s: float = HOLD_S / 2
) -> tuple[Row, datetime]:
    """`update_sql` of `block` on a thread while the writer's threads are held for `hold_s`: its
    answer, and when the writer was let go."""
    gate = _hold_writer(ws)
    answers: list[Row] = []
    cascade = threading.Thread(target=lambda: answers.append(update_sql(call, board, block, sql)))
    try:
        cascade.start()
        time.sleep(hold_s)
        released = datetime.now(UTC)
        gate.set()
        cascade.join(60)
    finally:
        gate.set()
    [answer] = answers
    return answer, released


def test_blocks_two_levels_below_a_large_result_run_before_its_file_is_written(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    top = add_sql(call, board, "top", f"select range as v, range % 7 as g from range({LARGE_ROWS})")
    mid = add_sql(call, board, "mid", "select g, count(*) as n, sum(v) as s from top group by g")
    low = add_sql(call, board, "low", "select sum(n) as n, sum(s) as s from mid")
    last = add_sql(call, board, "last", "select n * 2 as n2, s from low")
    order, seen, unsubscribe = record_runs(ws, board)
    try:
        sql = f"select range + 3 as v, range % 7 as g from range({LARGE_ROWS})"
        answer, released = _update_while_the_writer_is_held(ws, call, board, top, sql, HOLD_S)
    finally:
        unsubscribe()

    assert answer["cascade"]["ran"] == [top, mid, low, last]
    # `top`'s file (and content hash) came only once the writer was let go; the blocks below it,
    # down to the last, had run by then on the tables handed on.
    for block in (mid, low, last):
        [*_, run] = runs_of(ws, block)
        assert _iso(run["started_at"]) < released, f"{block} waited for the file above it"
    expected = sum(range(LARGE_ROWS)) + 3 * LARGE_ROWS
    rows = call("dashboard_block_data", dashboard_id=board, block_id=last)["rows"]
    assert rows == [{"n2": 2 * LARGE_ROWS, "s": expected}]
    # The same rows as a run of its own gives, reading the stored file of `low`.
    assert call("dashboard_run_block", dashboard_id=board, block_id=last)["run"]["rows"] == rows
    # Every run stored with its complete file when announced, in the order of the chain.
    assert [name for name, _ in seen] == ["top", "mid", "low", "last"]
    for name, stored in seen:
        assert stored is not None, f"{name} was announced before its run was stored"
        path = ws.board_dir(board) / stored["file"]
        assert pq.read_metadata(path).num_rows == json.loads(stored["output"])["row_count"]
        assert json.loads(stored["output"])["content_hash"] == result_hash(pq.read_table(path))
    assert order == [
        (kind, name) for name in ("top", "mid", "low", "last") for kind in ("RunStarted", "RunFinished")
    ]
    assert files_named_by_no_run(ws, board) == []


def test_an_early_run_two_levels_down_is_dropped_when_its_upstream_proves_reusable(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    top = add_sql(call, board, "top", f"select range as v from range({LARGE_ROWS}) -- first")
    mid = add_sql(call, board, "mid", "select v % 5 as g, count(*) as n from top group by g order by g")
    low = add_sql(call, board, "low", "select sum(n) as n from mid")
    mid_runs, low_runs = runs_of(ws, mid), runs_of(ws, low)
    # Another text, the same rows: `top` runs again. `mid` runs early on its table, and `low` on
    # `mid`'s, before `top`'s hash is known; the hash then shows `mid` reusable, so both early
    # runs go: `mid` reuses its earlier run, and so does `low`, whose input is that run again.
    second = f"select range as v from range({LARGE_ROWS}) -- second"
    answer, _released = _update_while_the_writer_is_held(ws, call, board, top, second)
    assert answer["cascade"]["ran"] == [top]
    assert sorted(answer["cascade"]["reused"]) == sorted([mid, low])
    assert runs_of(ws, mid) == mid_runs and runs_of(ws, low) == low_runs
    assert files_named_by_no_run(ws, board) == []
    assert call("dashboard_block_data", dashboard_id=board, block_id=low)["rows"] == [{"n": LARGE_ROWS}]


def test_an_early_run_below_a_reused_block_runs_again_on_the_reused_result(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    first = f"select range as v from range({LARGE_ROWS}) -- first"
    top = add_sql(call, board, "top", first)
    mid = add_sql(call, board, "mid", "select count(*) as n, sum(v) as s from top")
    low = add_sql(call, board, "low", "select n, s from mid")
    update_sql(call, board, top, f"select range + 1 as v from range({LARGE_ROWS})")
    call(
        "dashboard_update_block",
        dashboard_id=board,
        block_id=low,
        config={"sql": "select n, s, 1 as k from mid"},
    )
    # `top`'s first rows again: `mid` runs early on its table, and `low` on `mid`'s; `top`'s hash
    # then shows `mid` reusable (its first run), which drops the table `low` read. `low` has never
    # run on that run of `mid` with its new query, so it runs again, on `mid`'s stored run.
    third = f"select range as v from range({LARGE_ROWS}) -- third"
    answer, released = _update_while_the_writer_is_held(ws, call, board, top, third)
    assert answer["cascade"]["ran"] == [top, low]
    assert answer["cascade"]["reused"] == [mid]
    [*_, run] = runs_of(ws, low)
    assert _iso(run["started_at"]) >= released, "the early run on the dropped table was kept"
    mid_run = ws.db.row("SELECT current_run_id FROM blocks WHERE id = ?", [mid])
    assert mid_run is not None
    assert json.loads(run["inputs"])["upstream"] == {"mid": mid_run["current_run_id"]}
    assert files_named_by_no_run(ws, board) == []
    rows = call("dashboard_block_data", dashboard_id=board, block_id=low)["rows"]
    assert rows == [{"n": LARGE_ROWS, "s": sum(range(LARGE_ROWS)), "k": 1}]


def test_a_diamond_below_a_large_result_runs_early_and_is_stored_in_order(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    top = add_sql(call, board, "top", f"select range as v from range({LARGE_ROWS})")
    left = add_sql(call, board, "l", "select v % 3 as g, count(*) as n from top group by g")
    right = add_sql(call, board, "r", "select v % 5 as g, sum(v) as s from top group by g")
    both = add_sql(call, board, "lr", "select (select sum(n) from l) as n, (select sum(s) from r) as s")
    below = add_sql(call, board, "below", "select n + 1 as n, s from lr")
    names = {top: "top", left: "l", right: "r", both: "lr", below: "below"}
    for round_ in range(1, 4):
        order: list[tuple[str, str]] = []

        def check(event: Event, order: list[tuple[str, str]] = order) -> None:
            if isinstance(event, RunStarted | RunFinished):
                order.append((type(event).__name__, event.block_name))

        unsubscribe = ws.bus.subscribe(board, check)
        try:
            sql = f"select range + {round_} as v from range({LARGE_ROWS})"
            answer = update_sql(call, board, top, sql)
        finally:
            unsubscribe()
        assert sorted(answer["cascade"]["ran"]) == sorted(names)
        finished = {name: order.index(("RunFinished", name)) for name in names.values()}
        started = {name: order.index(("RunStarted", name)) for name in names.values()}
        for up, down in (("top", "l"), ("top", "r"), ("l", "lr"), ("r", "lr"), ("lr", "below")):
            assert finished[up] < started[down], (up, down, order)
        rows = call("dashboard_block_data", dashboard_id=board, block_id=below)["rows"]
        expected = sum(range(LARGE_ROWS)) + round_ * LARGE_ROWS
        assert rows == [{"n": LARGE_ROWS + 1, "s": expected}]
        assert call("dashboard_run_block", dashboard_id=board, block_id=below)["run"]["rows"] == rows
        assert files_named_by_no_run(ws, board) == []
