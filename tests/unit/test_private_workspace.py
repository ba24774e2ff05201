"""A workspace is private to its owner (CONTRACT 10): 0700 directories, 0600 files, whatever the umask;
a workspace made looser by hand is tightened on open; a `server.json` of another uid is not trusted."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from ballast_tui.backend import export_to_file
from ballast_tui.config import (
    WorkspacePaths,
    live_server,
    read_server_json,
    remove_server_json,
    write_server_json,
)
from ballast_tui.demo import write_sales_parquet
from ballast_tui.engine.workspace import Workspace
from ballast_tui.server_lock import ServerLock
from ballast_tui.tools.registry import Context
from tests.conftest import ToolClient, not_owner_only

NOBODY = 65534


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def ballast(*args: str) -> subprocess.CompletedProcess[str]:
    """`ballast ARGS` as a process started under umask 022."""
    return subprocess.run(
        ["sh", "-c", 'umask 022 && exec "$@"', "sh", sys.executable, "-m", "ballast_tui.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """This process creates files 0644 and directories 0755 by default while the test runs."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_what_the_engine_writes_is_owner_only_under_umask_022(tmp_path: Path, loose_umask: None) -> None:
    root = tmp_path / "ws"
    with Workspace(root) as ws:
        call = ToolClient(ws, ws.users.local())
        board = call("dashboard_create", title="Private")["dashboard"]["id"]
        rows = [{"id": 1, "amount": 2.5}, {"id": 2, "amount": 4.0}]
        call("catalog_push", dashboard_id=board, name="orders", rows=rows, mode="replace")
        content = base64.b64encode(b"a,b\n1,2\n").decode()
        call("catalog_import", dashboard_id=board, name="upload", format="csv", content=content)
        sql = {"sql": "select * from orders"}
        call("dashboard_add_block", dashboard_id=board, type="sql", name="big", config=sql)
        call("dashboard_clone", dashboard_id=board)
        call("dashboard_publish", dashboard_id=board, password="pass-1234")
        call("connection_add", name="app", url=f"sqlite:///{tmp_path / 'app.db'}", check=False)
        assert ws.secret
        arguments = {"dashboard_id": board, "block_id": "big", "format": "csv"}
        export_to_file(call.registry, Context(ws, call.user), arguments, root / "big.csv")
        write_server_json(ws.paths, {"pid": os.getpid()})
        ws.paths.private_file(ws.paths.server_log)
        write_sales_parquet(ws.paths.imports / "sales.parquet", 100, date(2026, 1, 31))
        made = {path.relative_to(root).as_posix() for path in root.rglob("*")}
        expected = {"ballast.db", "ballast.db-wal", "ballast.db-shm", "secret.key", "connections.key"}
        assert expected | {"big.csv", "server.json", "server.log", "imports/sales.parquet"} <= made
        assert sum(name.endswith(".parquet") for name in made) >= 5
        assert not_owner_only(root) == []


def test_an_existing_workspace_is_tightened_on_open_and_each_change_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = (tmp_path / "ws").resolve()
    Workspace(root).close()
    outside = tmp_path / "outside.txt"
    outside.write_text("not the workspace's")
    os.chmod(outside, 0o644)
    by_hand = root / "data" / "dash_byhand"
    by_hand.mkdir()
    (by_hand / "notes.txt").write_text("x")
    (root / "imports" / "mine.csv").write_text("a\n1\n")
    (root / "imports" / "private.csv").write_text("a\n1\n")
    (root / "imports" / "link").symlink_to(outside)
    loosened = {
        root: 0o755,
        root / "data": 0o755,
        root / "ballast.db": 0o644,
        by_hand: 0o775,
        by_hand / "notes.txt": 0o644,
        root / "imports" / "mine.csv": 0o664,
    }
    for path, loose in loosened.items():
        os.chmod(path, loose)
    os.chmod(root / "imports" / "private.csv", 0o600)

    with caplog.at_level(logging.WARNING, logger="ballast.workspace"):
        ws = Workspace(root)
    ws.close()

    assert {(t.path, t.before, t.after) for t in ws.tightened} == {
        (path, loose, loose & 0o700) for path, loose in loosened.items()
    }
    messages = [r.getMessage() for r in caplog.records if r.name == "ballast.workspace"]
    assert len(messages) == len(loosened), messages
    for path, loose in loosened.items():
        assert f"made {path} private: mode {loose:03o} -> {loose & 0o700:03o}" in messages
    assert not_owner_only(root) == []
    assert mode(outside) == 0o644  # a symbolic link is neither followed nor changed


def test_the_command_line_says_what_it_tightened(tmp_path: Path) -> None:
    root = (tmp_path / "ws").resolve()
    assert ballast("init", str(root)).returncode == 0
    os.chmod(root, 0o755)
    os.chmod(root / "ballast.db", 0o644)
    listed = ballast("--workspace", str(root), "tool", "dashboard_list")
    assert listed.returncode == 0, listed.stderr
    assert f"made {root} private: mode 755 -> 700" in listed.stderr
    assert f"made {root / 'ballast.db'} private: mode 644 -> 600" in listed.stderr
    assert not_owner_only(root) == []
    again = ballast("--workspace", str(root), "tool", "dashboard_list")
    assert "private" not in again.stderr  # nothing left to tighten


def test_server_json_is_written_owner_only_and_trusted_when_it_is_ours(
    tmp_path: Path, loose_umask: None
) -> None:
    paths = WorkspacePaths(tmp_path / "ws")
    paths.ensure()
    info: dict[str, object] = {"pid": os.getpid(), "url": "http://127.0.0.1:9", "port": 9}
    write_server_json(paths, info)
    assert mode(paths.server_json) == 0o600
    assert read_server_json(paths) == info
    assert live_server(paths) is None  # no server holds the workspace's lock: the file is stale
    lock = ServerLock(paths.root)
    assert lock.acquire()
    try:
        assert live_server(paths) == info
    finally:
        lock.release()


def test_a_symlinked_server_json_is_not_trusted(tmp_path: Path) -> None:
    paths = WorkspacePaths(tmp_path / "ws")
    paths.ensure()
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"pid": os.getpid(), "url": "http://127.0.0.1:9"}))
    paths.server_json.symlink_to(elsewhere)
    assert read_server_json(paths) is None
    assert live_server(paths) is None


def test_a_server_json_owned_by_another_uid_is_not_trusted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if os.getuid() != 0:
        pytest.skip("giving a file to another uid (chown) needs root; CI runs the suite as root")
    root = tmp_path / "ws"
    Workspace(root).close()
    paths = WorkspacePaths(root.resolve())
    # A live pid (this test's) and an address where nothing listens: were it trusted, commands would
    # try to join that "server" and fail.
    write_server_json(
        paths, {"pid": os.getpid(), "url": "http://127.0.0.1:9", "host": "127.0.0.1", "port": 9}
    )
    os.chown(paths.server_json, NOBODY, NOBODY)

    with caplog.at_level(logging.WARNING, logger="ballast.workspace"):
        assert read_server_json(paths) is None
        assert live_server(paths) is None
    assert any(f"uid {NOBODY}" in r.getMessage() for r in caplog.records)
    assert remove_server_json(paths, os.getpid()) is False and paths.server_json.exists()
    listed = ballast("--workspace", str(root), "tool", "dashboard_list")
    assert listed.returncode == 0, listed.stderr  # worked on the files: the file was ignored

    os.chown(paths.server_json, os.getuid(), os.getgid())  # the same file, ours, while a server holds
    lock = ServerLock(paths.root)  # the workspace: trusted
    assert lock.acquire()
    try:
        assert live_server(paths) is not None
    finally:
        lock.release()
