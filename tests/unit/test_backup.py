"""`ballast backup` and `ballast restore` as a user runs them: real processes, real workspaces.

A round trip keeps boards, sources, outputs and keys, with private files; every bad path, and every
backup that is not one or was changed, is refused in one line with exit status 1, changing nothing.
(The backup taken beside a running server under writes: tests/server/test_backup_live.py.)
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient


def ballast(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ballast_tui.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def assert_refused(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit status 1, nothing on stdout, one line `ballast: …` on stderr naming the problem."""
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert result.stderr.startswith("ballast: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under `root` and its bytes (None for a directory): to show nothing changed."""
    return {
        str(p.relative_to(root)): None if p.is_dir() else p.read_bytes()
        for p in sorted(root.rglob("*"))
        if not p.name.endswith(("-wal", "-shm"))
    }


@dataclass(frozen=True)
class Made:
    """A workspace (closed) and a backup of it, made once for this module; tests work on copies."""

    workspace: Path
    backup: Path


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    """A workspace with a board, a pushed source, a SQL block's run, tokens and a connection; its backup."""
    base = tmp_path_factory.mktemp("made")
    root, shop, dest = base / "ws", base / "shop.duckdb", base / "backups" / "monday"
    with duckdb.connect(str(shop)) as conn:
        conn.execute("CREATE TABLE orders AS SELECT range AS id FROM range(5)")
    with Workspace(root) as ws:
        call = ToolClient(ws, ws.users.local())
        board = call("dashboard_create", title="Sales")["dashboard"]["id"]
        rows = [{"id": i} for i in range(100)]
        call("catalog_push", dashboard_id=board, name="orders", rows=rows, mode="replace")
        config = {"sql": "select * from orders"}
        call("dashboard_add_block", dashboard_id=board, type="sql", name="big", config=config)
        call("connection_add", name="shop", url=f"duckdb://{shop}")
        ws.users.create("robot", "agent")
    dest.parent.mkdir()
    result = ballast("--workspace", str(root), "backup", str(dest))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"backed up {root} to {dest}: boards 1, "), result.stdout
    return Made(root, dest)


@pytest.fixture
def workspace(made: Made, tmp_path: Path) -> Path:
    """A copy of the made workspace (closed, so a copy by hand is whole)."""
    return Path(shutil.copytree(made.workspace, tmp_path / "ws"))


@pytest.fixture
def backup(made: Made, tmp_path: Path) -> Path:
    """A copy of the made backup, modes kept."""
    return Path(shutil.copytree(made.backup, tmp_path / "backups" / "monday"))


def test_a_backup_restores_as_a_workspace_with_every_file_private(made: Made, tmp_path: Path) -> None:
    workspace, backup = made.workspace, made.backup
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["format"] == "ballast-backup" and manifest["version"] == 1
    assert manifest["workspace"] == str(workspace)
    assert manifest["counts"]["boards"] == 1 and manifest["counts"]["runs"] >= 1
    data = sorted(name for name in manifest["files"] if name.startswith("data/"))
    assert manifest["counts"]["data_files"] == len(data) >= 2
    assert set(manifest["files"]) == {"ballast.db", "secret.key", "connections.key", *data}
    assert sorted(str(p.relative_to(backup)) for p in backup.rglob("*") if p.is_file()) == sorted(
        [*manifest["files"], "manifest.json"]
    )

    target = tmp_path / "restored"
    target.mkdir()  # an empty directory is a fine target
    old = os.umask(0o022)
    try:
        result = ballast("restore", str(backup), str(target))
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    assert f"to {target}" in result.stdout
    for path in [backup, target, *backup.rglob("*"), *target.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path} is {oct(mode)}"
    listed = ballast("--workspace", str(target), "list")
    assert listed.returncode == 0 and "Sales" in listed.stdout
    with Workspace(target) as ws:
        for name in data:
            assert pq.read_table(target / name).num_rows > 0
        assert {u["name"] for u in ws.db.rows("SELECT name FROM users")} >= {"robot"}
        assert ws.connections.target(ws.connections.get("shop")).driver == "duckdb"


@pytest.mark.parametrize("inside", ["backups/b", "data/b", "."])
def test_backup_refuses_a_destination_inside_the_workspace(workspace: Path, inside: str) -> None:
    before = tree(workspace)
    result = ballast("--workspace", str(workspace), "backup", str(workspace / inside))
    assert_refused(result, "outside the workspace")
    assert tree(workspace) == before


@pytest.mark.parametrize("kind", ["directory", "empty directory", "file"])
def test_backup_refuses_a_destination_that_exists(workspace: Path, tmp_path: Path, kind: str) -> None:
    dest = tmp_path / "there"
    if kind == "file":
        dest.write_text("keep me")
    else:
        dest.mkdir()
        if kind == "directory":
            (dest / "keep").write_text("keep me")
    before = tree(tmp_path)
    assert_refused(ballast("--workspace", str(workspace), "backup", str(dest)), "exists")
    assert tree(tmp_path) == before


def test_backup_of_no_workspace_creates_none(tmp_path: Path) -> None:
    result = ballast("--workspace", str(tmp_path / "nothing"), "backup", str(tmp_path / "b"))
    assert_refused(result, "no workspace at")
    assert list(tmp_path.iterdir()) == []


def test_backup_into_a_missing_directory_is_refused(workspace: Path, tmp_path: Path) -> None:
    assert_refused(
        ballast("--workspace", str(workspace), "backup", str(tmp_path / "no" / "b")), "no directory"
    )
    assert not (tmp_path / "no").exists()


def test_a_failed_backup_leaves_nothing_at_dest(workspace: Path, tmp_path: Path) -> None:
    (workspace / "ballast.db").write_bytes(b"not a database " * 1000)
    dest = tmp_path / "b"
    assert_refused(ballast("--workspace", str(workspace), "backup", str(dest)), "cannot copy")
    assert not dest.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a partial backup was left"


def write_manifest(backup: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = backup / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def first_data_file(backup: Path) -> Path:
    return next(p for p in sorted((backup / "data").rglob("*.parquet")))


def flip_a_byte(path: Path) -> None:
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))


TAMPERINGS: dict[str, tuple[Callable[[Path], None], str]] = {
    "database changed": (lambda b: flip_a_byte(b / "ballast.db"), "ballast.db is not the file"),
    "data file changed": (lambda b: flip_a_byte(first_data_file(b)), "is not the file its manifest lists"),
    "data file gone": (lambda b: first_data_file(b).unlink(), "the backup is incomplete"),
    "key gone": (lambda b: (b / "secret.key").unlink(), "lacks secret.key"),
    "manifest hash changed": (
        lambda b: write_manifest(b, lambda m: m["files"]["ballast.db"].update(sha256="0" * 64)),
        "ballast.db is not the file",
    ),
    "manifest names a file outside": (
        lambda b: write_manifest(
            b,
            lambda m: m["files"].update({"../../etc/passwd": {"sha256": "0" * 64, "bytes": 1}}),
        ),
        "a workspace does not hold",
    ),
    "manifest not JSON": (lambda b: (b / "manifest.json").write_text("{"), "not valid JSON"),
    "manifest of another format": (lambda b: write_manifest(b, lambda m: m.update(format="zip")), "format"),
    "manifest from the future": (lambda b: write_manifest(b, lambda m: m.update(version=99)), "newer"),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_restore_refuses_a_tampered_backup(backup: Path, tmp_path: Path, tampering: str) -> None:
    tamper, message = TAMPERINGS[tampering]
    tamper(backup)
    before = tree(tmp_path)
    assert_refused(ballast("restore", str(backup), str(tmp_path / "restored")), message)
    assert tree(tmp_path) == before  # no DIR, no staging directory beside it


def test_restore_refuses_what_is_not_a_backup(workspace: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    for source, message in (
        (workspace, "has no manifest.json"),
        (tmp_path / "nothing", "no such directory"),
        (tmp_path / "a-file", "not a directory"),
    ):
        assert_refused(ballast("restore", str(source), str(tmp_path / "restored")), message)
        assert not (tmp_path / "restored").exists()


def test_restore_refuses_a_directory_that_is_not_empty(backup: Path, tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    assert_refused(ballast("restore", str(backup), str(target)), "is not empty")
    assert tree(target) == {"notes.txt": b"mine"}


def test_restore_refuses_a_directory_inside_the_backup(backup: Path) -> None:
    before = tree(backup)
    assert_refused(ballast("restore", str(backup), str(backup / "inside")), "outside the backup")
    assert tree(backup) == before
