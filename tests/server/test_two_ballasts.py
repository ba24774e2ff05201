"""Two `ballast` processes on one workspace (two SSH logins): the first serves, the second joins it."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient


class Terminal:
    """A real `ballast` TUI running in a pseudo-terminal, its screen output drained."""

    def __init__(self, *args: str) -> None:
        self.master, slave = pty.openpty()
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ballast_tui.cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    os.read(self.master, 65536)
                except OSError:
                    return

    def quit(self) -> int:
        os.write(self.master, b"\x11")  # ctrl+q
        deadline = time.monotonic() + 15
        while self.process.poll() is None and time.monotonic() < deadline:
            self.drain(0.2)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        os.close(self.master)
        return self.process.wait()


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """A workspace with one dashboard; (root, dashboard id, a token of its owner)."""
    root = tmp_path / "ws"
    with Workspace(root) as ws:
        owner = ws.users.local()
        board = ToolClient(ws, owner)("dashboard_create", title="Shared")["dashboard"]["id"]
        token = ws.users.add_token(owner.id)
    yield root, board, token


def presence(url: str, token: str, board: str) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"{url}/api/v1/tools/dashboard_presence",
        data=json.dumps({"dashboard_id": board}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["sessions"]  # type: ignore[no-any-return]


def test_the_second_ballast_joins_the_first_as_another_live_session(workspace: tuple[Path, str, str]) -> None:
    root, board, token = workspace
    first = Terminal("open", board, "--workspace", str(root))
    second = None
    try:
        info = wait_for(
            lambda: (root / "server.json").exists() and json.loads((root / "server.json").read_text()),
            30,
            "the first ballast to serve the workspace",
        )
        assert info["pid"] == first.process.pid
        url = info["url"]
        first.drain(1)
        second = Terminal("open", board, "--workspace", str(root))
        tui_sessions = wait_for(
            lambda: (
                (found := [s for s in presence(url, token, board) if s["client"] == "tui"])
                and len(found) == 2
                and found
            ),
            30,
            "both ballasts in the board's presence",
        )
        assert len({s["session"] for s in tui_sessions}) == 2
        assert json.loads((root / "server.json").read_text())["pid"] == first.process.pid  # still the first
        second.drain(1)
        assert second.quit() == 0
        second = None
        assert first.process.poll() is None
    finally:
        if second is not None:
            second.quit()
        assert first.quit() == 0
    assert not (root / "server.json").exists()
