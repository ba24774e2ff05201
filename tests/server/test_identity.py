"""Who a command acts as on a shared box: the real uid's account, or the user of a token that must be
good. Real `ballast` processes, on the workspace's files and through a real running server."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ballast_tui.engine.workspace import Workspace
from tests.serve_process import serving

ME = pwd.getpwuid(os.getuid()).pw_name


def ballast(
    workspace: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "BALLAST_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "ballast_tui.cli", "--workspace", str(workspace), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**full_env, **(env or {})},
        cwd=cwd,
    )


def tool(workspace: Path, name: str, *extra: str, env: dict[str, str] | None = None, **arguments: Any) -> Any:
    done = ballast(workspace, "tool", name, json.dumps(arguments), *extra, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[tuple[Path, str, str, str]]:
    """A workspace whose local account owns a private board; alice (a stranger to it) has a token.
    (workspace, board id, alice's token, the owner's token)"""
    root = tmp_path / "ws"
    with Workspace(root) as ws:
        owner = ws.users.local()
        _alice, alice_token = ws.users.create("alice")
        owner_token = ws.users.add_token(owner.id)
    board = tool(root, "dashboard_create", title="Payroll")["dashboard"]["id"]
    yield root, board, alice_token, owner_token


@pytest.fixture
def served(shared: tuple[Path, str, str, str]) -> Iterator[tuple[Path, str, str, str]]:
    """The same workspace, served by a real `ballast serve` process."""
    with serving(shared[0]):
        yield shared


def refused_as_unauthorized(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "unauthorized" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("where", ["files", "server"])
def test_a_strangers_token_reads_nothing_of_a_private_board(
    request: pytest.FixtureRequest, where: str
) -> None:
    root, board, alice, _ = request.getfixturevalue("shared" if where == "files" else "served")
    done = ballast(root, "tool", "dashboard_get", json.dumps({"dashboard_id": board}), "--token", alice)
    assert done.returncode == 1 and "forbidden" in done.stderr, done.stderr
    assert "Payroll" not in done.stdout + done.stderr
    via_env = ballast(
        root, "tool", "dashboard_get", json.dumps({"dashboard_id": board}), env={"BALLAST_TOKEN": alice}
    )
    assert via_env.returncode == 1 and "forbidden" in via_env.stderr
    listed = ballast(root, "list", "--token", alice)
    assert listed.returncode == 0 and board not in listed.stdout
    mine = ballast(root, "list")
    assert (
        mine.returncode == 0 and board in mine.stdout and "Payroll" in mine.stdout and "owner" in mine.stdout
    )


@pytest.mark.parametrize("where", ["files", "server"])
@pytest.mark.parametrize(
    "command",
    [
        ["tool", "dashboard_list"],
        ["list"],
        ["connection", "list"],
        ["export", "dash_000000000000", "--block", "x", "-o", "out.csv"],
        ["import", "data.csv", "--dashboard", "dash_000000000000"],
        ["user", "list"],
    ],
    ids=lambda c: c[0] if c[0] != "connection" else "connection",
)
def test_an_unknown_or_revoked_token_is_refused_never_ignored(
    request: pytest.FixtureRequest, tmp_path: Path, where: str, command: list[str]
) -> None:
    root, _board, alice, _ = request.getfixturevalue("shared" if where == "files" else "served")
    (tmp_path / "data.csv").write_text("a\n1\n")
    bogus = "blt_000000000000_" + "x" * 43
    refused_as_unauthorized(ballast(root, *command, "--token", bogus, cwd=tmp_path))
    refused_as_unauthorized(ballast(root, *command, env={"BALLAST_TOKEN": "not-even-a-token"}, cwd=tmp_path))
    assert ballast(root, "user", "revoke", "alice").returncode == 0
    refused_as_unauthorized(ballast(root, *command, "--token", alice, cwd=tmp_path))
    assert not (tmp_path / "out.csv").exists()


def test_user_and_logname_choose_no_identity(shared: tuple[Path, str, str, str]) -> None:
    root, board, _alice, _ = shared
    for name in ("USER", "LOGNAME"):
        done = ballast(
            root, "tool", "dashboard_list", env={name: "alice", "USER": "alice", "LOGNAME": "alice"}
        )
        assert done.returncode == 0, done.stderr
        assert board in done.stdout  # still the real uid's account, the board's owner
    users = tool(root, "user_list")["users"]
    assert ME in [u["name"] for u in users]


def test_tokens_are_made_listed_and_revoked_from_the_command_line(served: tuple[Path, str, str, str]) -> None:
    root, _board, alice, _ = served
    made = ballast(root, "user", "token", "alice", "--label", "laptop")
    assert made.returncode == 0, made.stderr
    laptop = made.stdout.strip().splitlines()[-1]
    assert laptop.startswith("blt_") and laptop != alice
    listed = ballast(root, "user", "list")
    assert "alice" in listed.stdout and laptop not in listed.stdout and alice not in listed.stdout
    alice_line = next(line for line in listed.stdout.splitlines() if line.startswith("alice"))
    assert alice_line.split()[-2] == "2"  # two live tokens
    laptop_id = laptop.split("_")[1]
    assert ballast(root, "user", "revoke", "alice", "--token-id", laptop_id).returncode == 0
    refused_as_unauthorized(ballast(root, "list", "--token", laptop))
    assert ballast(root, "list", "--token", alice).returncode == 0  # the other one still works
    # alice makes and revokes her own; she may not touch the owner's
    own = ballast(root, "user", "token", "alice", "--token", alice)
    assert own.returncode == 0, own.stderr
    theirs = ballast(root, "user", "token", ME, "--token", alice)
    assert theirs.returncode == 1 and "forbidden" in theirs.stderr


def test_revoking_the_last_administrator_or_an_unknown_user_changes_nothing(
    shared: tuple[Path, str, str, str],
) -> None:
    root, _board, _alice, _ = shared
    before = tool(root, "user_list")["users"]
    last = ballast(root, "user", "remove", ME)
    assert last.returncode == 1 and "conflict" in last.stderr
    ghost = ballast(root, "user", "revoke", "ghost")
    assert ghost.returncode == 1 and "not_found" in ghost.stderr
    bad = ballast(root, "tool", "connection_grant", json.dumps({"connection": "nope", "user": "alice"}))
    assert bad.returncode == 1 and "not_found" in bad.stderr
    assert tool(root, "user_list")["users"] == before
