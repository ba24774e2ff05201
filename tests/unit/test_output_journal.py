"""A group's small output files made durable by one journal (issue 17, item 3).

Real workspaces in tmp_path, everything through the tools. What a user would notice if this went
wrong: after a power cut, a block whose run was acknowledged showing no data or other data (its
file never reached the disk), a journal torn by the crash writing garbage into a file, a journal
naming a file outside its board, or journals piling up in the board's folder.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from ballast_tui.engine.output_journal import JournalSettler
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage.files import content_hash_of, file_hash
from ballast_tui.storage.journal import MAGIC, Entry, read_journal, write_journal
from tests.conftest import ToolClient
from tests.unit.test_cascade import add_sql, update_sql

Row = dict[str, Any]


def journals_of(ws: Workspace, board: str) -> list[Path]:
    return sorted(ws.board_dir(board).glob("*.journal"))


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


def entry(name: str, data: bytes) -> Entry:
    return Entry(name, content_hash_of(data), data)


def test_a_journal_torn_by_a_crash_gives_back_only_whole_entries(tmp_path: Path) -> None:
    path = write_journal(tmp_path, [entry("a.parquet", b"first file"), entry("b.parquet", b"second file")])
    assert path.read_bytes().startswith(MAGIC)
    assert [(e.name, bytes(e.data)) for e in read_journal(path)] == [
        ("a.parquet", b"first file"),
        ("b.parquet", b"second file"),
    ]

    whole = path.read_bytes()
    path.write_bytes(whole[:-3])  # the crash cut the last entry short
    assert [e.name for e in read_journal(path)] == ["a.parquet"]

    path.write_bytes(whole.replace(b"second file", b"secxnd file"))  # bytes that are not what was hashed
    assert [e.name for e in read_journal(path)] == ["a.parquet"]

    path.write_bytes(b"not a journal at all")
    assert read_journal(path) == []


@pytest.mark.parametrize("name", ["../other_board/run.parquet", "/etc/passwd", ".hidden", "", "a\\b"])
def test_a_journal_names_files_of_its_own_folder_only(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not a file name"):
        write_journal(tmp_path, [entry(name, b"bytes")])
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind

    # A journal crafted by hand with such a name is read as ending there.
    good = write_journal(tmp_path, [entry("ok.parquet", b"fine")])
    crafted = good.read_bytes().replace(b'"ok.parquet"', b'"../x.parquet"', 1)
    good.write_bytes(crafted)
    assert read_journal(good) == []


def test_files_an_acknowledged_cascade_lost_in_a_power_cut_come_back_from_its_journal(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    with Workspace(root) as ws:
        ws.journals = JournalSettler(ws.writer, idle_s=3600)  # nothing settled before the "cut"
        call = ToolClient(ws, ws.users.local())
        board, t0 = chain(call)
        answer = update_sql(call, board, t0, "SELECT 41 AS x")
        assert len(answer["cascade"]["ran"]) == 3
        assert journals_of(ws, board), "the group's small files went into a journal"
        files = current_files(ws, board)
        hashes = {name: file_hash(path) for name, path in files.items()}
        # What the disk holds after the cut: the rows and the journal were fsynced, the files not.
        cut = tmp_path / "after-the-cut"
        shutil.copytree(root, cut)
    for name, path in files.items():
        lost = cut / path.relative_to(root)
        if name == "t1":
            lost.unlink()  # never reached the disk
        else:
            lost.write_bytes(b"")  # its name did, its bytes did not
    long_ago = time.time() - 3600
    for journal in (cut / "data").rglob("*.journal"):
        os.utime(journal, (long_ago, long_ago))

    with Workspace(cut) as ws:
        call = ToolClient(ws, ws.users.local())
        assert sorted(p.name for p in ws.restored) == sorted(p.name for p in files.values())
        for name, path in current_files(ws, board).items():
            assert file_hash(path) == hashes[name]
        rows = {
            b["name"]: call("dashboard_block_data", dashboard_id=board, block_id=b["id"])["rows"]
            for b in call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]
        }
        assert rows == {"t0": [{"x": 41}], "t1": [{"x": 42}], "t2": [{"x": 43}]}
        assert journals_of(ws, board) == []  # replayed, then removed


def test_a_recent_journal_restores_its_files_but_stays_for_a_live_process(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with Workspace(root) as ws:
        ws.journals = JournalSettler(ws.writer, idle_s=3600)
        call = ToolClient(ws, ws.users.local())
        board, t0 = chain(call)
        update_sql(call, board, t0, "SELECT 7 AS x")
        files = current_files(ws, board)
        journals = journals_of(ws, board)
        assert journals
        files["t2"].write_bytes(b"")
        # A second process opens the workspace meanwhile (another SSH login).
        with Workspace(root) as other:
            assert [p.name for p in other.restored] == [files["t2"].name]
            assert journals_of(other, board) == journals  # may be the first process's, still settling
        assert ToolClient(ws, ws.users.local())(
            "dashboard_block_data", dashboard_id=board, block_id=current_ids(ws, board)["t2"]
        )["rows"] == [{"x": 9}]


def current_ids(ws: Workspace, board: str) -> dict[str, str]:
    return {r["name"]: r["id"] for r in ws.db.rows("SELECT id, name FROM blocks WHERE board_id = ?", [board])}


def test_journals_are_settled_once_the_workspace_idles_and_when_it_closes(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        ws.journals = JournalSettler(ws.writer, idle_s=0.2)
        call = ToolClient(ws, ws.users.local())
        board, t0 = chain(call)
        update_sql(call, board, t0, "SELECT 2 AS x")
        deadline = time.monotonic() + 10
        while journals_of(ws, board) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert journals_of(ws, board) == []
        assert ws.journals.waiting() == []

        ws.journals = JournalSettler(ws.writer, idle_s=3600)
        update_sql(call, board, t0, "SELECT 3 AS x")
        assert journals_of(ws, board)
        folder = ws.board_dir(board)
    assert list(folder.glob("*.journal")) == []  # closing settled it
    with Workspace(tmp_path / "ws") as ws:
        rows = ToolClient(ws, ws.users.local())(
            "dashboard_block_data", dashboard_id=board, block_id=current_ids(ws, board)["t2"]
        )["rows"]
        assert rows == [{"x": 5}]


@pytest.mark.parametrize("bound", [{"most_waiting": 2}, {"most_waiting_bytes": 1500}])
def test_many_waiting_journals_are_settled_without_waiting_for_idle(tmp_path: Path, bound: Row) -> None:
    with Workspace(tmp_path / "ws") as ws:
        ws.journals = JournalSettler(ws.writer, idle_s=3600, **bound)
        call = ToolClient(ws, ws.users.local())
        board, t0 = chain(call)
        for k in range(8):
            update_sql(call, board, t0, f"SELECT {10 + k} AS x")
            assert len(ws.journals.waiting()) <= 2  # the backlog is bounded, however busy the board
        deadline = time.monotonic() + 10
        while len(journals_of(ws, board)) > 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(journals_of(ws, board)) <= 2
