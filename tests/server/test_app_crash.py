"""A `ballast` whose app stops on an unexpected error exits non-zero, says so in one line with where the
traceback went, and leaves nothing stale: no `server.json`, the server lock free. Real process, real
pseudo-terminal, real embedded server.

No input makes the app crash on purpose (text that once did, a markup-looking title, is shown as
written now), so the fault is injected: a `sitecustomize` on the process's path makes the
dashboards list's reload key (`r`) raise. Everything else is the real app.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from ballast_tui.server_lock import held
from tests.server.test_one_server import server_json
from tests.server.test_two_ballasts import Terminal, wait_for, workspace  # noqa: F401 (fixture)

FAULT = """
from ballast_tui.screens.dashboards import DashboardsScreen

def action_reload(self):
    raise RuntimeError("injected fault: the reload key broke")

DashboardsScreen.action_reload = action_reload
"""


class RecordingTerminal(Terminal):
    """A `Terminal` that keeps what the process wrote."""

    output = b""

    def drain(self, seconds: float) -> None:
        import select

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    return


def plain(output: bytes) -> str:
    """The terminal output without escape sequences."""
    return re.sub(
        r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-B]|[=>])",
        "",
        output.decode(errors="replace"),
    )


def test_an_app_that_crashes_exits_non_zero_in_one_line_and_leaves_nothing_stale(
    workspace: tuple[Path, str, str],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, _board, _token = workspace
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(FAULT)
    state = tmp_path / "state"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(inject), os.getcwd()]))
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    app = RecordingTerminal("--workspace", str(root))
    try:
        wait_for(lambda: (server_json(root) or {}).get("pid") == app.process.pid, 60, "the app serving")
        app.drain(1)
        os.write(app.master, b"r")
        deadline = time.monotonic() + 30
        while app.process.poll() is None and time.monotonic() < deadline:
            app.drain(0.2)
        app.drain(0.5)
        code = app.process.wait(timeout=5)
    finally:
        if app.process.poll() is None:
            app.process.kill()
            app.process.wait()
        os.close(app.master)
    assert code == 1
    log = state / "ballast" / "crash.log"
    said = [line.strip() for line in re.findall(r"ballast: [^\r\n]*", plain(app.output))]
    assert said == [
        "ballast: the app stopped on an unexpected error: RuntimeError: injected fault: the reload key "
        f"broke (traceback in {log})"
    ]
    assert "Traceback" not in plain(app.output)  # the traceback is in the log, not on the terminal
    traceback = log.read_text()
    assert "Traceback" in traceback and "injected fault" in traceback and "action_reload" in traceback
    assert oct(log.stat().st_mode & 0o777) == oct(0o600)
    assert not (root / "server.json").exists()
    assert not held(root)
