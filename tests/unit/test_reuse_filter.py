"""A cascade skips the reuse lookup where no run can match (`engine/reuse_filter`, issue 17 item 3).

What a user would notice if the filter were wrong: a block running again although an earlier run
had exactly its inputs (the contract says it reuses that run), after another process recorded the
run, after a deleted board's runs let SQLite hand out their rowids again, or once the filter is
full and starts again. Real workspaces in tmp_path, a second `Workspace` on the same directory
standing in for a second process.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from ballast_tui.engine import reuse_filter
from ballast_tui.engine.reuse_filter import ReuseFilter
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient
from tests.unit.test_cascade import add_sql, update_sql

Row = dict[str, Any]


@pytest.fixture
def other(ws: Workspace) -> Iterator[Workspace]:
    """The same workspace opened a second time, as another `ballast` process would."""
    second = Workspace(ws.paths.root)
    yield second
    second.close()


def chain(call: ToolClient, title: str = "reuse") -> tuple[str, str, str]:
    board = call("dashboard_create", title=title)["dashboard"]["id"]
    root = add_sql(call, board, "t0", "SELECT 1 AS x")
    below = add_sql(call, board, "t1", "SELECT x + 1 AS y FROM t0")
    return board, root, below


def edited(call: ToolClient, board: str, root: str, sql: str) -> Row:
    cascade: Row = update_sql(call, board, root, sql)["cascade"]
    assert not cascade["failed"], cascade
    return cascade


def test_a_run_recorded_meanwhile_by_another_process_is_reused(ws: Workspace, other: Workspace) -> None:
    mine = ToolClient(ws, ws.users.local())
    board, root, below = chain(mine)
    assert edited(mine, board, root, "SELECT 2 AS x")["ran"] == [root, below]  # both blocks looked up
    assert edited(mine, board, root, "SELECT 1 AS x")["reused"] == [root, below]

    theirs = ToolClient(other, other.users.local())
    assert edited(theirs, board, root, "SELECT 3 AS x")["ran"] == [root, below]

    edited(mine, board, root, "SELECT 4 AS x")
    cascade = edited(mine, board, root, "SELECT 3 AS x")
    assert cascade["reused"] == [root, below] and cascade["ran"] == []


def test_runs_given_a_deleted_boards_rowids_are_reused(ws: Workspace, other: Workspace) -> None:
    mine = ToolClient(ws, ws.users.local())
    board, root, below = chain(mine)
    edited(mine, board, root, "SELECT 2 AS x")
    doomed = mine("dashboard_create", title="doomed")["dashboard"]["id"]
    for i in range(6):  # the newest runs, soon deleted with their board
        add_sql(mine, doomed, f"d{i}", f"SELECT {i} AS d")
    # Reused, so no run is recorded: this process's filter has read every run, the doomed ones too.
    assert edited(mine, board, root, "SELECT 1 AS x")["reused"] == [root, below]
    mine("dashboard_delete", dashboard_id=doomed)

    theirs = ToolClient(other, other.users.local())
    edited(theirs, board, root, "SELECT 5 AS x")  # two runs, given rowids the filter had passed
    top = ws.db.first("SELECT max(rowid) FROM runs")
    assert top is not None and ws.reuse_filter._upto is not None and top[0] <= ws.reuse_filter._upto

    edited(mine, board, root, "SELECT 6 AS x")
    cascade = edited(mine, board, root, "SELECT 5 AS x")
    assert cascade["reused"] == [root, below] and cascade["ran"] == []


def test_a_full_filter_starts_again_and_still_finds_every_run(
    ws: Workspace, call: ToolClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reuse_filter, "CAPACITY", 12)
    board, root, below = chain(call)
    for i in range(2, 8):
        edited(call, board, root, f"SELECT {i} AS x")
    for i in (3, 6, 2, 7, 5):
        cascade = edited(call, board, root, f"SELECT {i} AS x")
        assert cascade["reused"] == [root, below], (i, cascade)
    assert ws.reuse_filter._count <= 12


def test_the_filter_answers_certainly_not_only_for_fingerprints_never_recorded(
    ws: Workspace, call: ToolClient
) -> None:
    board, root, below = chain(call)
    edited(call, board, root, "SELECT 2 AS x")
    recorded = ws.db.rows("SELECT block_id, fingerprint FROM runs WHERE status = 'success'")
    fresh = ReuseFilter(ws.db)
    fresh.sync()
    assert all(fresh.may_have(r["block_id"], r["fingerprint"]) for r in recorded)
    never = [fresh.may_have(block, secrets.token_hex(20)) for block in (root, below) for _ in range(200)]
    assert not any(never)
