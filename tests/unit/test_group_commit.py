"""A cascade's runs committed as a group, and results handed on in memory inside a cascade.

Everything goes through the tools on a real workspace (SQLite file, DuckDB, Parquet in tmp_path).
What a user would notice: an announced run is stored, with a complete file, when it is announced;
a slow block still shows its progress; a block downstream sees the same types and values in a
cascade as in any later run, whichever way its input reached it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from ballast_tui.engine.events import Event, RunFinished, RunStarted
from ballast_tui.engine.handoff import HandOffBudget
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient
from tests.unit.test_cascade import Events, add_sql, update_sql

Row = dict[str, Any]


def stored_run(db_path: Path, run_id: str) -> Row | None:
    """A run as another process would see it: read through a connection of its own."""
    con = sqlite3.connect(db_path)
    con.row_factory = sqlite3.Row
    try:
        found = con.execute("SELECT * FROM runs WHERE id = ?", [run_id]).fetchone()
        return dict(found) if found else None
    finally:
        con.close()


def test_every_announced_run_is_already_stored_with_its_complete_file(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    top = add_sql(call, board, "top", "select range as v from range(1000)")
    for i in range(1, 6):
        add_sql(call, board, f"n{i}", f"select v + {i} as v from {'top' if i == 1 else f'n{i - 1}'}")
    seen: list[tuple[str, Row | None]] = []

    def check(event: Event) -> None:
        if isinstance(event, RunFinished) and event.run_id:
            seen.append((event.block_name, stored_run(ws.paths.db, event.run_id)))

    unsubscribe = ws.bus.subscribe(board, check)
    try:
        answer = update_sql(call, board, top, "select range * 2 as v from range(1000)")
    finally:
        unsubscribe()

    assert len(answer["cascade"]["ran"]) == 6
    assert [name for name, _ in seen] == ["top", "n1", "n2", "n3", "n4", "n5"]
    for name, run in seen:
        assert run is not None, f"{name} was announced before its run was stored"
        path = ws.board_dir(board) / run["file"]
        assert pq.read_metadata(path).num_rows == json.loads(run["output"])["row_count"] == 1000
    last = call("dashboard_block_data", dashboard_id=board, block_id=answer["cascade"]["ran"][-1], limit=2)
    assert [r["v"] for r in last["rows"]] == [15, 17]


def test_a_block_starts_only_after_its_upstream_is_announced_finished(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    a = add_sql(call, board, "a", "select 1 as v")
    add_sql(call, board, "b", "select v + 1 as v from a")
    add_sql(call, board, "c", "select v + 1 as v from b")
    recorder = Events(ws, board)
    try:
        update_sql(call, board, a, "select 10 as v")
    finally:
        recorder.unsubscribe()
    order = [
        (e["type"], e["block_name"]) for e in recorder.items if e["type"] in ("run_started", "run_finished")
    ]
    assert order == [
        ("run_started", "a"),
        ("run_finished", "a"),
        ("run_started", "b"),
        ("run_finished", "b"),
        ("run_started", "c"),
        ("run_finished", "c"),
    ]


def test_a_fast_block_shows_finished_while_a_slow_one_below_it_still_runs(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    a = add_sql(call, board, "fast", "select 1 as v")
    slow_sql = "select sum(range % (v + 6)) as s from range(300000000), fast"
    add_sql(call, board, "slow", slow_sql)
    times: dict[tuple[str, str], float] = {}

    def note(event: Event) -> None:
        if isinstance(event, RunStarted | RunFinished):
            times[(type(event).__name__, event.block_name)] = time.monotonic()

    unsubscribe = ws.bus.subscribe(board, note)
    try:
        answer = update_sql(call, board, a, "select 2 as v")
    finally:
        unsubscribe()
    assert answer["cascade"]["failed"] == []
    slow_took = times[("RunFinished", "slow")] - times[("RunStarted", "slow")]
    if slow_took < 0.4:
        pytest.skip(f"the slow block took only {slow_took:.2f} s on this machine")
    # Announced within the group's window (0.1 s) and the commit, not at the end of the cascade.
    assert times[("RunFinished", "fast")] < times[("RunFinished", "slow")] - 0.2


# -- results handed on in memory: the same types as read from the file ------------------------

TYPES = [
    "42::TINYINT",
    "42::HUGEINT",
    "42::UBIGINT",
    "1.5::FLOAT",
    "1.5::DECIMAL(18,3)",
    "'text'",
    "'\\x00\\x01'::BLOB",
    "true",
    "DATE '2024-02-29'",
    "TIMESTAMP '2024-02-29 12:34:56.789'",
    "TIMESTAMPTZ '2024-02-29 12:34:56+00'",
    "'2024-02-29 12:34:56.123456789'::TIMESTAMP_NS",
    "TIME '12:34:56'",
    "[1, 2, NULL]",
    "{'a': 1, 'b': 'x'}",
    "MAP {'k': 1.5}",
    "NULL",
    # Types that read back differently from a Parquet file: never handed on in memory.
    "'2024-02-29 12:34:56.789'::TIMESTAMP_MS",
    "'2024-02-29 12:34:56'::TIMESTAMP_S",
    "[1, 2]::INTEGER[2]",
    "'b'::ENUM('a', 'b')",
    "gen_random_uuid()",
]


@pytest.mark.parametrize("expression", TYPES)
def test_downstream_sees_the_same_types_in_a_cascade_as_from_the_stored_file(
    ws: Workspace, call: ToolClient, board: str, expression: str
) -> None:
    up = add_sql(call, board, "up", f"select {expression} as c, 1 as k")
    down = add_sql(call, board, "down", "select typeof(c) as t, c::VARCHAR as v, k from up")

    # One cascade runs both: `down` reads what `up` produced in it.
    answer = update_sql(call, board, up, f"select {expression} as c, 2 as k")
    assert answer["cascade"]["ran"] == [up, down]
    in_cascade = call("dashboard_block_data", dashboard_id=board, block_id=down)["rows"]
    # A manual run of `down` alone reads `up` from its stored file.
    alone = call("dashboard_run_block", dashboard_id=board, block_id=down)["run"]["rows"]
    assert in_cascade[0]["k"] == alone[0]["k"] == 2
    assert (in_cascade[0]["t"], in_cascade[0]["v"]) == (alone[0]["t"], alone[0]["v"])


def test_results_larger_than_the_budget_are_read_back_from_their_files(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    top = add_sql(call, board, "top", "select range as v from range(100000)")
    total = add_sql(call, board, "total", "select sum(v) as s, count(*) as n from top")
    for budget in (HandOffBudget(), HandOffBudget(limit=1024)):
        ws.handoff = budget
        update_sql(call, board, top, f"select range + {budget.limit % 7} as v from range(100000)")
        rows = call("dashboard_block_data", dashboard_id=board, block_id=top, limit=1)
        data = call("dashboard_block_data", dashboard_id=board, block_id=total)["rows"]
        shift = budget.limit % 7
        assert rows["row_count"] == 100000
        assert data == [{"s": sum(range(100000)) + 100000 * shift, "n": 100000}]
        # The cascade gave back what it held.
        assert budget.available() == budget.limit
