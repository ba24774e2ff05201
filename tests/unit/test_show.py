"""`ballast show`: a board, or one block, printed as the terminal draws it. Real `ballast` processes
on a real workspace: piped (plain text), in a pseudo-terminal (ANSI colours), and through a running
`ballast serve`."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from ballast_tui.engine.errors import RateLimited
from ballast_tui.engine.text_drawing import MAX_WAITING
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient
from tests.drawn_board import CHART_TITLE, METRIC_NAME, DrawnBoard, build_drawn_board, has_chart_drawing
from tests.serve_process import serving

ESC = "\x1b["


def ballast(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "BALLAST_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "ballast_tui.cli", "--workspace", str(root), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**full_env, **(env or {})},
    )


def in_terminal(root: Path, *args: str, columns: int = 100) -> str:
    """What `ballast ARGS` writes to a pseudo-terminal `columns` wide, until it exits."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": "40"}
    env.pop("BALLAST_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "ballast_tui.cli", "--workspace", str(root), *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break  # the other end closed: the process is done
                if not chunk:
                    break
                out += chunk
            elif process.poll() is not None:
                break
        assert process.wait(timeout=30) == 0, out.decode(errors="replace")
    finally:
        os.close(master)
    return out.decode(errors="replace")


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, DrawnBoard, dict[str, str]]]:
    """A workspace whose local account owns the drawn board; (root, board, tokens by role)."""
    root = tmp_path_factory.mktemp("show") / "ws"
    with Workspace(root) as ws:
        owner = ws.users.local()
        built = build_drawn_board(ToolClient(ws, owner))
        viewer, viewer_token = ws.users.create("vera")
        _stranger, stranger_token = ws.users.create("sam")
        ToolClient(ws, owner)("dashboard_grant", dashboard_id=built.board, user="vera", role="viewer")
        assert viewer.name == "vera"
    yield root, built, {"viewer": viewer_token, "stranger": stranger_token}


def board_state(root: Path, board: str) -> tuple[Any, ...]:
    """What a drawing must never change: the board's versions, its blocks' runs and states."""
    with Workspace(root) as ws:
        call = ToolClient(ws, ws.users.local())
        got = call("dashboard_get", dashboard_id=board)["dashboard"]
        versions = call("dashboard_versions", dashboard_id=board)["versions"]
        runs = [
            [r["id"] for r in call("dashboard_runs", dashboard_id=board, block_id=b["id"])["runs"]]
            for b in got["blocks"]
        ]
    return got["layout"], [(b["id"], b["version"], b["state"]) for b in got["blocks"]], len(versions), runs


def test_show_prints_the_board_as_plain_text_when_piped(drawn: tuple[Path, DrawnBoard, Any]) -> None:
    root, built, _tokens = drawn
    done = ballast(root, "show", built.board)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert ESC not in text
    assert CHART_TITLE in text and METRIC_NAME in text
    assert has_chart_drawing(text)
    assert "daily" not in text  # the hidden SQL block is not drawn
    assert max(len(line) for line in text.splitlines()) <= 120


def test_show_one_block_at_a_width_and_height(drawn: tuple[Path, DrawnBoard, Any]) -> None:
    root, built, _tokens = drawn
    chart = ballast(root, "show", built.board, "--block", "trend", "--width", "60", "--height", "24")
    assert chart.returncode == 0, chart.stderr
    lines = chart.stdout.splitlines()
    assert CHART_TITLE in chart.stdout and METRIC_NAME not in chart.stdout
    assert has_chart_drawing(chart.stdout)
    assert max(len(line) for line in lines) <= 60
    assert 20 <= len(lines) <= 24  # the chart fills the rows it was given
    # A hidden block, by name: the SQL block's rows as the app's table draws them.
    table = ballast(root, "show", built.board, "--block", "daily", "--width", "80")
    assert table.returncode == 0, table.stderr
    assert "day" in table.stdout and "amount" in table.stdout and CHART_TITLE not in table.stdout


def test_show_in_a_terminal_draws_with_ansi_colours(drawn: tuple[Path, DrawnBoard, Any]) -> None:
    root, built, _tokens = drawn
    screen = in_terminal(root, "show", built.board, columns=90)
    assert ESC in screen and "m" in screen
    assert CHART_TITLE in screen and METRIC_NAME in screen


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["dash_000000000000"], "not_found"),
        (["{board}", "--block", "nope"], "not_found"),
        (["{board}", "--width", "5"], "--width must be from 20 to 400"),
        (["{board}", "--width", "wide"], "--width must be a whole number"),
        (["{board}", "--height", "100000"], "--height must be from 3 to 600"),
    ],
    ids=["unknown-board", "unknown-block", "narrow", "not-a-number", "too-tall"],
)
def test_show_refuses_bad_input_in_one_line_and_changes_nothing(
    drawn: tuple[Path, DrawnBoard, Any], args: list[str], said: str
) -> None:
    root, built, _tokens = drawn
    before = board_state(root, built.board)
    done = ballast(root, "show", *[a.format(board=built.board) for a in args])
    assert done.returncode == 1, done.stdout
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and said in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert board_state(root, built.board) == before


def test_show_refuses_another_boards_block(drawn: tuple[Path, DrawnBoard, Any]) -> None:
    root, built, _tokens = drawn
    with Workspace(root) as ws:
        other = build_drawn_board(ToolClient(ws, ws.users.local()), title="Other")
    done = ballast(root, "show", built.board, "--block", other.chart)
    assert done.returncode == 1 and "not_found" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.fixture
def served(
    drawn: tuple[Path, DrawnBoard, dict[str, str]],
) -> Iterator[tuple[Path, DrawnBoard, dict[str, str]]]:
    """The same workspace, served by a real `ballast serve` process."""
    with serving(drawn[0]):
        yield drawn


def test_show_through_a_running_server_as_the_tokens_user(
    served: tuple[Path, DrawnBoard, dict[str, str]],
) -> None:
    root, built, tokens = served
    seen = ballast(root, "show", built.board, "--block", "trend", "--token", tokens["viewer"])
    assert seen.returncode == 0, seen.stderr
    assert CHART_TITLE in seen.stdout and has_chart_drawing(seen.stdout) and ESC not in seen.stdout
    refused = ballast(root, "show", built.board, env={"BALLAST_TOKEN": tokens["stranger"]})
    assert refused.returncode == 1 and "forbidden" in refused.stderr
    assert CHART_TITLE not in refused.stdout + refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_drawings_past_the_queue_are_refused_as_rate_limited(call: ToolClient) -> None:
    built = build_drawn_board(call)
    start = threading.Barrier(MAX_WAITING + 2)

    def draw(_: int) -> str:
        start.wait()
        try:
            return str(call("dashboard_render", dashboard_id=built.board, block_id="trend", width=40)["text"])
        except RateLimited as refused:
            return f"refused: {refused.message}"

    with ThreadPoolExecutor(MAX_WAITING + 2) as pool:
        answers = list(pool.map(draw, range(MAX_WAITING + 2)))
    drawn = [a for a in answers if not a.startswith("refused")]
    assert len(drawn) == MAX_WAITING and all(CHART_TITLE in a for a in drawn)
    assert all("drawings are under way" in a for a in answers if a.startswith("refused"))


def test_a_kept_drawing_process_draws_the_board_as_it_is_now(call: ToolClient) -> None:
    built = build_drawn_board(call)
    first = call("dashboard_render", dashboard_id=built.board, block_id="trend", width=60)["text"]
    assert CHART_TITLE in first
    call(
        "dashboard_update_block",
        dashboard_id=built.board,
        block_id=built.chart,
        config={"source": "daily", "kind": "bar", "x": "day", "y": "amount", "title": "Now in bars"},
    )
    again = call("dashboard_render", dashboard_id=built.board, block_id="trend", width=60)["text"]
    assert "Now in bars" in again and CHART_TITLE not in again
    assert any(c in again for c in "▁▂▃▄▅▆▇█") and not has_chart_drawing(again)
