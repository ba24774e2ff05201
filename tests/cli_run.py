"""`ballast` run in the test's own process, as its console script runs it: the real parser and commands.

Faster than a process per call, for tests that walk many commands; tests of what only a real process
shows (a traceback, a terminal) start one.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ballast_tui.cli import main


@pytest.fixture(autouse=True)
def keep_umask() -> Iterator[None]:
    """`main` makes the process's umask owner-only, as the command does; put it back after."""
    umask = os.umask(0o077)
    os.umask(umask)
    yield
    os.umask(umask)


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No workspace, token or debug switch from the environment the tests run in."""
    for name in ("BALLAST_WORKSPACE", "BALLAST_TOKEN", "BALLAST_DEBUG"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`ballast ARGV` in this process: (status, stdout, stderr)."""
    try:
        status = main(list(argv))
    except SystemExit as leaving:
        status = leaving.code if isinstance(leaving.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line(status: int, err: str, expected_status: int, *fragments: str) -> None:
    """The status expected, and one line on standard error (no traceback) holding every fragment."""
    assert status == expected_status, err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    for fragment in fragments:
        assert fragment in err, err


def content(db: Path) -> list[str]:
    """The database's rows, as SQL: equal before and after means nothing was changed."""
    with sqlite3.connect(db) as connection:
        return list(connection.iterdump())
