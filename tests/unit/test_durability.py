"""kill -9 in the middle of a stream of writes: the database stays intact and every change a tool
acknowledged is there after reopening; leftovers of unfinished writes are swept."""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient

CHILD = Path(__file__).resolve().parent.parent / "durability_child.py"
Row = dict[str, Any]


PICKED_ROWS = 5000
WRITTEN_AHEAD_ROWS = 40_000
"""Rows of `picked` large enough to be written on the writer's thread: the blocks below it then
run early, down the chain, before its file is written (`cascade`'s deferred runs)."""


def prepare(root: Path, rows: int = PICKED_ROWS) -> tuple[str, str]:
    """A board with a control and blocks that re-run on every push and control change."""
    with Workspace(root) as ws:
        call = ToolClient(ws, ws.users.local())
        board = call("dashboard_create", title="Durable")["dashboard"]["id"]
        control = call(
            "dashboard_add_block",
            dashboard_id=board,
            type="param-enum",
            name="c",
            config={"options": list(range(500))},
        )["block"]["id"]
        call(
            "dashboard_add_block",
            dashboard_id=board,
            type="sql",
            name="picked",
            config={"sql": f"select $c as v, range as n from range({rows})", "inputs": ["c"]},
        )
        # A control change re-runs a chain of three blocks: one cascade, committed as a group.
        call(
            "dashboard_add_block",
            dashboard_id=board,
            type="sql",
            name="picked_even",
            config={"sql": "select v, n from picked where n % 2 = 0"},
        )
        call(
            "dashboard_add_block",
            dashboard_id=board,
            type="sql",
            name="picked_total",
            config={"sql": "select v, count(*) as n from picked_even group by v"},
        )
        call("catalog_push", dashboard_id=board, name="log", rows=[{"i": -1, "text": "start"}])
        call(
            "dashboard_add_block",
            dashboard_id=board,
            type="sql",
            name="log_total",
            config={"sql": "select count(*) as n, max(i) as last from log"},
        )
        return board, control


def read_line(proc: subprocess.Popen[bytes], deadline: float) -> bytes:
    assert proc.stdout is not None
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail("the writer printed nothing in time")
        ready, _, _ = select.select([proc.stdout], [], [], remaining)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 1)
            if not chunk:
                pytest.fail(f"the writer stopped early: {proc.stderr.read().decode() if proc.stderr else ''}")
            line += chunk
    return line


@pytest.mark.parametrize(
    ("delay", "rows"),
    [
        (0.0, PICKED_ROWS),
        (0.13, PICKED_ROWS),
        (0.41, PICKED_ROWS),
        (0.0, WRITTEN_AHEAD_ROWS),
        (0.13, WRITTEN_AHEAD_ROWS),
    ],
)
def test_kill_9_mid_stream_keeps_database_intact_and_acknowledged_changes(
    tmp_path: Path, delay: float, rows: int
) -> None:
    root = tmp_path / "ws"
    board, control = prepare(root, rows)
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(root), board, control],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    acknowledged: list[bytes] = []
    try:
        deadline = time.monotonic() + 30
        for _ in range(7):
            acknowledged.append(read_line(proc, deadline))
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        rest, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, err.decode()
    # Everything printed before the kill was acknowledged; a last line cut short by the kill was not.
    acknowledged.extend(line + b"\n" for line in rest.split(b"\n")[:-1])
    changes = [json.loads(line) for line in acknowledged]
    assert len(changes) >= 7

    con = sqlite3.connect(root / "ballast.db")
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()

    # Besides whatever the kill left, the leftovers of a write cut short before its row committed.
    board_dir = root / "data" / board
    (board_dir / "run_cutshort0000000.parquet.tmp").write_bytes(b"PAR1 half a file")
    pq.write_table(pa.table({"v": [1]}), board_dir / "run_uncommitted0000.parquet")
    # The crash was a while ago: leftovers are older than any live writer's files could be.
    long_ago = time.time() - 3600
    for leftover in (root / "data").rglob("*"):
        os.utime(leftover, (long_ago, long_ago))

    with Workspace(root) as ws:
        call = ToolClient(ws, ws.users.local())
        data = ws.paths.data
        assert not [p for p in data.rglob("*") if p.name.endswith(".tmp")]
        assert not (board_dir / "run_uncommitted0000.parquet").exists()
        assert ws.db.row("PRAGMA integrity_check") == {"integrity_check": "ok"}
        blocks = {b["id"]: b for b in call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]}
        sources = {
            s["name"]: s for s in call("catalog_list", dashboard_id=board)["sources"] if s["kind"] != "block"
        }

        for change in changes:
            if change["kind"] == "block":
                block = blocks[change["id"]]
                assert block["version"] >= change["version"]
                if block["version"] == change["version"]:
                    assert block["config"]["sql"] == change["sql"]
            elif change["kind"] == "source":
                assert change["name"] in sources
                assert sources[change["name"]]["row_count"] >= change["row_count"]
        acked_controls = [c for c in changes if c["kind"] == "control"]
        if acked_controls:
            last = acked_controls[-1]["value"]
            assert blocks[control]["value"] in (last, last + 1)
            if blocks[control]["value"] == last:
                # The acknowledged control change's whole chain is stored, to its last block.
                total = next(b for b in blocks.values() if b["name"] == "picked_total")
                data = call("dashboard_block_data", dashboard_id=board, block_id=total["id"])
                assert data["rows"] == [{"v": last, "n": rows // 2}]

        # Every acknowledged block's data can be read.
        for change in changes:
            if change["kind"] == "block" and blocks[change["id"]]["state"] == "success":
                answer = call("dashboard_block_data", dashboard_id=board, block_id=change["id"], limit=1)
                assert answer["row_count"] == 200_000

        # Every run and source names a complete Parquet file.
        for run in ws.db.rows(
            "SELECT file, output FROM runs WHERE board_id = ? AND file IS NOT NULL", [board]
        ):
            path = ws.board_dir(board) / run["file"]
            assert path.exists(), run["file"]
            assert pq.read_metadata(path).num_rows == json.loads(run["output"])["row_count"]
        for source in ws.db.rows("SELECT file, row_count FROM sources WHERE board_id = ?", [board]):
            path = ws.board_dir(board) / source["file"]
            assert path.exists(), source["file"]
            assert pq.read_metadata(path).num_rows == source["row_count"]
        for block in blocks.values():
            if block["current_run_id"]:
                run_row = ws.db.row("SELECT file FROM runs WHERE id = ?", [block["current_run_id"]])
                assert run_row is not None

        # The workspace works on.
        after = call(
            "dashboard_add_block", dashboard_id=board, type="sql", name="after", config={"sql": "select 1"}
        )
        assert after["block"]["state"] == "success"


def test_opening_a_workspace_leaves_another_process_fresh_files_alone(tmp_path: Path) -> None:
    """A second process opening the workspace must not delete what a live writer has not committed yet."""
    root = tmp_path / "ws"
    with Workspace(root) as ws:
        board = ToolClient(ws, ws.users.local())("dashboard_create", title="Live")["dashboard"]["id"]
    board_dir = root / "data" / board
    board_dir.mkdir(parents=True, exist_ok=True)
    in_flight = board_dir / "run_beingwritten000.parquet.tmp"
    in_flight.write_bytes(b"PAR1 still being written")
    written = board_dir / "run_notyetcommitted.parquet"
    pq.write_table(pa.table({"v": [1]}), written)
    with Workspace(root):
        assert in_flight.exists() and written.exists()
