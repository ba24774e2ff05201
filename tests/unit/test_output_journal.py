"""A group's small output files made durable with the rows that name them (issue 17, item 3).

Real workspaces in tmp_path, everything through the tools. What a user would notice if this went
wrong: after a power cut, a block whose run was acknowledged showing no data or other data (its
file never reached the disk), a damaged journal row writing garbage into a file, a row naming a
file outside its board, or journal rows piling up in the database.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from ballast_tui.engine.output_journal import JournalSettler
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage.files import content_hash_of, file_hash
from ballast_tui.storage.journal import file_key
from tests.conftest import ToolClient
from tests.unit.test_cascade import add_sql, update_sql

Row = dict[str, Any]


def journaled(ws: Workspace, board: str) -> list[str]:
    """The files of `board` journal rows hold, not settled yet."""
    rows = ws.db.rows("SELECT file FROM output_journal WHERE file LIKE ? ORDER BY file", [f"{board}/%"])
    return [r["file"].split("/", 1)[1] for r in rows]


def current_files(ws: Workspace, board: str) -> dict[str, Path]:
    """Each block's current output file, by block name."""
    rows = ws.db.rows(
        "SELECT b.name, r.file FROM blocks b JOIN runs r ON r.id = b.current_run_id WHERE b.board_id = ?",
        [board],
    )
    return {r["name"]: ws.board_dir(board) / r["file"] for r in rows}


def chain(call: ToolClient) -> tuple[str, str]:
    board = call("dashboard_create", title="journal")["dashboard"]["id"]
    root = add_sql(call, board, "t0", "SELECT 1 AS x")
    add_sql(call, board, "t1", "SELECT x + 1 AS x FROM t0")
    add_sql(call, board, "t2", "SELECT x + 1 AS x FROM t1")
    return board, root


def unsettled(ws: Workspace) -> None:
    """Nothing is settled before the test says so (the "power cut" comes first)."""
    ws.journals = JournalSettler(ws.writer, ws.db, idle_s=3600)


def edited_chain(ws: Workspace, sql: str) -> tuple[ToolClient, str, dict[str, Path]]:
    """A chain t0 → t1 → t2 whose t0 was just edited to `sql`, nothing settled yet; its files."""
    unsettled(ws)
    call = ToolClient(ws, ws.users.local())
    board, t0 = chain(call)
    answer = update_sql(call, board, t0, sql)
    assert len(answer["cascade"]["ran"]) == 3
    return call, board, current_files(ws, board)


def rows_of(call: ToolClient, board: str) -> dict[str, list[Row]]:
    return {
        b["name"]: call("dashboard_block_data", dashboard_id=board, block_id=b["id"])["rows"]
        for b in call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]
    }


def in_database(root: Path, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Change the database of a closed workspace by hand (what a crash or an attacker left)."""
    with sqlite3.connect(root / "ballast.db") as conn:
        conn.execute(sql, params)


def age_journal(root: Path) -> None:
    """Make every journal row older than a live process's could be."""
    in_database(root, "UPDATE output_journal SET created_at = ?", (time.time() - 3600,))


def power_cut(root: Path, cut: Path, files: dict[str, Path], lose: dict[str, bytes | None]) -> None:
    """`cut`: what the disk of `root` holds after a power cut, where the database was fsynced and
    the files in `lose` were not (None: its name never reached the disk either)."""
    shutil.copytree(root, cut)
    for name, data in lose.items():
        lost = cut / files[name].relative_to(root)
        if data is None:
            lost.unlink()
        else:
            lost.write_bytes(data)


def test_files_an_acknowledged_cascade_lost_in_a_power_cut_come_back_from_the_journal(
    tmp_path: Path,
) -> None:
    root, cut = tmp_path / "ws", tmp_path / "after-the-cut"
    with Workspace(root) as ws:
        _, board, files = edited_chain(ws, "SELECT 41 AS x")
        assert {p.name for p in files.values()} <= set(journaled(ws, board))
        hashes = {name: file_hash(path) for name, path in files.items()}
        # t1's name never reached the disk; t0's and t2's names did, their bytes did not.
        power_cut(root, cut, files, {"t0": b"", "t1": None, "t2": b""})
    age_journal(cut)

    with Workspace(cut) as ws:
        call = ToolClient(ws, ws.users.local())
        assert sorted(p.name for p in ws.restored) == sorted(p.name for p in files.values())
        for name, path in current_files(ws, board).items():
            assert file_hash(path) == hashes[name]
        assert rows_of(call, board) == {"t0": [{"x": 41}], "t1": [{"x": 42}], "t2": [{"x": 43}]}
        assert journaled(ws, board) == []  # restored, then settled


def test_a_recent_journal_restores_its_files_but_stays_for_a_live_process(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with Workspace(root) as ws:
        call, board, files = edited_chain(ws, "SELECT 7 AS x")
        rows = journaled(ws, board)
        files["t2"].write_bytes(b"")
        # A second process opens the workspace meanwhile (another SSH login).
        with Workspace(root) as other:
            assert [p.name for p in other.restored] == [files["t2"].name]
            assert journaled(other, board) == rows  # may be the first process's, still settling
        assert rows_of(call, board)["t2"] == [{"x": 9}]


def test_a_damaged_journal_row_restores_nothing_and_rows_name_files_of_their_board_only(
    tmp_path: Path,
) -> None:
    root, cut = tmp_path / "ws", tmp_path / "after-the-cut"
    with Workspace(root) as ws:
        _, board, files = edited_chain(ws, "SELECT 5 AS x")
        power_cut(root, cut, files, {"t0": b"", "t1": b"", "t2": b""})
    # The bytes of t1's row are not those its hash was taken of.
    in_database(
        cut, "UPDATE output_journal SET data = X'00' WHERE file = ?", (f"{board}/{files['t1'].name}",)
    )
    crafted = b"not this board's file"
    for key in ["../escape.parquet", f"{board}/../../escape.parquet", "/escape.parquet", "gone/x.parquet"]:
        in_database(
            cut,
            "INSERT INTO output_journal (grp, file, content_hash, data, created_at) VALUES ('x', ?, ?, ?, 0)",
            (key, content_hash_of(crafted), crafted),
        )
    age_journal(cut)

    with Workspace(cut) as ws:
        assert sorted(p.name for p in ws.restored) == sorted([files["t0"].name, files["t2"].name])
        assert (cut / files["t1"].relative_to(root)).read_bytes() == b""
        assert not list(tmp_path.rglob("escape.parquet"))
        assert not (cut / "data" / "gone").exists()
        assert ws.db.rows("SELECT file FROM output_journal") == []  # none of them kept either


@pytest.mark.parametrize("name", ["../other_board/run.parquet", ".hidden", "a\\b", "sub/run.parquet"])
def test_only_a_boards_own_output_files_are_journaled(tmp_path: Path, name: str) -> None:
    data = tmp_path / "data"
    assert file_key(data, data / "dash_1" / "run_1.parquet") == "dash_1/run_1.parquet"
    with pytest.raises(ValueError, match="not an output file of a board"):
        file_key(data, data / "dash_1" / name)
    with pytest.raises(ValueError, match="not an output file of a board"):
        file_key(data, tmp_path / "run_1.parquet")


def test_journals_are_settled_once_the_workspace_idles_and_when_it_closes(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        ws.journals = JournalSettler(ws.writer, ws.db, idle_s=0.2)
        call = ToolClient(ws, ws.users.local())
        board, t0 = chain(call)
        update_sql(call, board, t0, "SELECT 2 AS x")
        deadline = time.monotonic() + 10
        while journaled(ws, board) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert journaled(ws, board) == []
        assert ws.journals.waiting() == []

        unsettled(ws)
        update_sql(call, board, t0, "SELECT 3 AS x")
        assert journaled(ws, board)
    with Workspace(tmp_path / "ws") as ws:
        assert journaled(ws, board) == []  # closing settled it
        assert rows_of(ToolClient(ws, ws.users.local()), board)["t2"] == [{"x": 5}]


@pytest.mark.parametrize("bound", [{"most_waiting": 2}, {"most_waiting_bytes": 1500}])
def test_many_waiting_journals_are_settled_without_waiting_for_idle(tmp_path: Path, bound: Row) -> None:
    with Workspace(tmp_path / "ws") as ws:
        ws.journals = JournalSettler(ws.writer, ws.db, idle_s=3600, **bound)
        call = ToolClient(ws, ws.users.local())
        board, t0 = chain(call)
        for k in range(8):
            update_sql(call, board, t0, f"SELECT {10 + k} AS x")
            assert len(ws.journals.waiting()) <= 2  # the backlog is bounded, however busy the board
        deadline = time.monotonic() + 10
        while len({r["grp"] for r in ws.db.rows("SELECT grp FROM output_journal")}) > 2:
            assert time.monotonic() < deadline, "the rows of settled groups were never deleted"
            time.sleep(0.05)
