"""One server per workspace, whatever happens to the process that serves it: two servers racing, a
dropped SSH session (SIGHUP) and an immediate relaunch, a server killed without cleaning up. Real
processes, real pseudo-terminals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ballast_tui.server_lock import held
from tests.server.test_two_ballasts import Terminal, wait_for, workspace  # noqa: F401 (fixture)


def serve(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ballast_tui.cli", "--workspace", str(root), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def server_json(root: Path) -> dict[str, object] | None:
    try:
        return json.loads((root / "server.json").read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def test_two_servers_started_at_the_same_instant_one_runs_and_the_other_names_it(
    workspace: tuple[Path, str, str],  # noqa: F811
) -> None:
    root, _board, _token = workspace
    first, second = serve(root), serve(root)
    try:
        loser = wait_for(
            lambda: next((p for p in (first, second) if p.poll() is not None), None), 60, "a loser"
        )
        winner = second if loser is first else first
        _out, err = loser.communicate(timeout=10)
        assert loser.returncode == 1
        info = wait_for(lambda: server_json(root), 30, "server.json")
        assert info["pid"] == winner.pid
        assert ("already running" in err and str(info["url"]) in err) or "already running" in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert winner.poll() is None
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
    assert not (root / "server.json").exists()


def test_a_hung_up_app_stops_serving_and_an_immediate_relaunch_works(
    workspace: tuple[Path, str, str],  # noqa: F811
) -> None:
    root, board, _token = workspace
    first = Terminal("--workspace", str(root), "open", board)
    wait_for(lambda: (server_json(root) or {}).get("pid") == first.process.pid, 60, "the first app serving")
    first.process.send_signal(signal.SIGHUP)  # the SSH session dropped
    os.close(first.master)
    second = Terminal("--workspace", str(root), "open", board)  # relaunched at once
    try:
        code = first.process.wait(timeout=30)
        assert code != 0  # a hang-up is not a clean exit
        info = wait_for(lambda: server_json(root), 60, "the relaunched app serving")
        assert info["pid"] == second.process.pid
        assert second.process.poll() is None, "the relaunch failed"
        assert held(root)
    finally:
        second.quit()
    wait_for(lambda: not (root / "server.json").exists(), 10, "server.json removed")
    assert not held(root)


def test_a_server_killed_without_cleaning_up_is_taken_over(
    workspace: tuple[Path, str, str],  # noqa: F811
) -> None:
    root, board, _token = workspace
    dead = serve(root)
    info = wait_for(lambda: server_json(root), 60, "the server serving")
    dead.send_signal(signal.SIGKILL)
    dead.wait(timeout=10)
    assert (root / "server.json").exists()  # left behind, naming a dead server
    assert not held(root)
    started = time.monotonic()
    app = Terminal("--workspace", str(root), "open", board)
    try:
        taken = wait_for(lambda: (server_json(root) or {}).get("pid") == app.process.pid, 60, "the takeover")
        assert taken and app.process.poll() is None
        assert time.monotonic() - started < 30
        assert info["pid"] != app.process.pid
    finally:
        assert app.quit() == 0


def test_a_hung_up_app_whose_terminal_is_gone_or_stalled_still_exits(
    workspace: tuple[Path, str, str],  # noqa: F811
) -> None:
    """tmux kill-session, a dead SSH connection: the pty is closed, or nobody reads it any more, and
    Textual's own shutdown would block writing to it. The app still exits and stops serving."""
    root, board, _token = workspace
    closed = Terminal("--workspace", str(root), "open", board)
    stalled = None
    try:
        wait_for(lambda: (server_json(root) or {}).get("pid") == closed.process.pid, 60, "the app serving")
        os.write(closed.master, b"\x11")  # ctrl+q, and the terminal goes away while the app quits
        time.sleep(0.3)
        os.close(closed.master)
        closed.process.send_signal(signal.SIGHUP)
        assert closed.process.wait(timeout=30) != 0
        assert not held(root)
        stalled = Terminal("--workspace", str(root), "open", board)
        wait_for(
            lambda: (server_json(root) or {}).get("pid") == stalled.process.pid, 60, "the relaunch serving"
        )
        time.sleep(3)  # nobody reads the screen: the pty fills up
        stalled.process.send_signal(signal.SIGHUP)
        assert stalled.process.wait(timeout=30) != 0
        assert not held(root)
    finally:
        for terminal in (closed, stalled):
            if terminal is not None and terminal.process.poll() is None:
                terminal.process.kill()
                terminal.process.wait()


def test_a_command_started_while_the_app_quits_never_fails_on_the_exiting_server(
    workspace: tuple[Path, str, str],  # noqa: F811
) -> None:
    """The exiting server may still answer the first probe and be gone a moment later: the command
    waits for the lock or the next server instead of failing with "cannot reach"."""
    root, board, _token = workspace
    for _ in range(3):
        app = Terminal("--workspace", str(root), "open", board)
        try:
            pid = app.process.pid
            wait_for(lambda: (server_json(root) or {}).get("pid") == pid, 60, "the app serving")  # noqa: B023
            # As tmux's kill-session after a ctrl+q: the app quits, then its terminal goes; at once:
            os.write(app.master, b"\x11")
            time.sleep(0.3)
            app.process.send_signal(signal.SIGHUP)
            listing = subprocess.run(
                [sys.executable, "-m", "ballast_tui.cli", "--workspace", str(root), "list"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert listing.returncode == 0, listing.stderr
            assert board in listing.stdout
        finally:
            app.process.kill()
            app.process.wait()
            os.close(app.master)
