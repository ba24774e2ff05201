"""The app's first paint in a real terminal, beside a bare Textual app; and a control change redrawn.

    python bench/bench_tui.py [--rows 300000] [--rounds 5] [--changes 6] [--before DIR]

First paint: `ballast open ID` on a demo workspace, launched in a tmux pane
120x40, timed from the launch to the demo board fully drawn (every visible
cell showing its data: the revenue figure on screen, no cell still "never"
loaded, pending, running or without data), polling the pane every 10 ms.
Beside it, in alternating rounds, a bare Textual app (nine bordered cells of
static text in a 3x3 grid) launched in the same pane the same way, timed to
its last cell on screen. Both include Python's start and imports. Prints the
median of each and their ratio. Target: within 3x of the bare app. With
`--before DIR` (an older tree, `git archive REV ballast_tui ballast_server | tar
-x -C DIR`), each round also launches that code on the same workspace.

Control change: the owner picks another region in the real app (headless,
driven by Pilot on the same demo workspace), timed from the picking key to
every affected block redrawn; beside it the engine's time for the same change
(`dashboard_set_control` called directly: the cascade that re-runs and stores
the affected blocks). Target: within 150 ms plus the engine's time.
(`bench/bench_own_view.py` measures a viewer's own view the same way.)
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_own_view import app_changes

from ballast_tui.demo import REGIONS, build_demo
from ballast_tui.engine.workspace import Workspace
from ballast_tui.server_lock import held
from ballast_tui.startup import pause_collector
from ballast_tui.tools.registry import Context, load_registry
from ballast_tui.widgets.views import format_metric

SIZE = (120, 40)
SESSION = "ballast-bench-tui"
TIMEOUT_S = 60.0

BARE_APP = '''
from textual.app import App, ComposeResult
from textual.containers import Grid
from textual.widgets import Static


class Bare(App[None]):
    CSS = """
    Grid { grid-size: 3 3; }
    Static { border: round $foreground 25%; height: 1fr; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with Grid():
            for i in range(1, 10):
                yield Static(f"cell {i}: " + "static text " * 8, id=f"c{i}")


Bare().run()
'''


def pane() -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", SESSION], capture_output=True, text=True, check=False
    ).stdout


def timed_launch(command: str, drawn: Any) -> float:
    """Seconds from launching `command` in a fresh 120x40 tmux pane to `drawn(screen text)`."""
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True, check=False)
    started = time.perf_counter()
    # The pane outlives an early exit (`; sleep 60`), so a failure shows why.
    window = ["-x", str(SIZE[0]), "-y", str(SIZE[1])]
    subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, *window, command + "; sleep 60"], check=True)
    try:
        while time.perf_counter() - started < TIMEOUT_S:
            if drawn(pane()):
                return time.perf_counter() - started
            time.sleep(0.01)
        raise TimeoutError(f"not drawn within {TIMEOUT_S:.0f} s:\n{pane()}")
    finally:
        subprocess.run(["tmux", "send-keys", "-t", SESSION, "C-q"], capture_output=True, check=False)
        time.sleep(0.3)
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True, check=False)


def wait_until_free(root: Path, timeout_s: float = 30.0) -> None:
    """Until no process serves the workspace any more (the app just quit is gone)."""
    deadline = time.perf_counter() + timeout_s
    while held(root) and time.perf_counter() < deadline:
        time.sleep(0.05)


def board_drawn(revenue: str) -> Any:
    def drawn(screen: str) -> bool:
        return revenue in screen and not any(
            marker in screen for marker in ("never", "no data yet", "pending", "running", "Loading")
        )

    return drawn


def engine_change_ms(ws: Workspace, board_id: str, region_id: str, region: str) -> float:
    owner = Context(ws, ws.users.local())
    started = time.perf_counter()
    load_registry().call(
        owner, "dashboard_set_control", {"dashboard_id": board_id, "block_id": region_id, "value": region}
    )
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=300_000, help="demo sales rows (the demo's own 300,000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--changes", type=int, default=6)
    parser.add_argument(
        "--before",
        metavar="DIR",
        help="also launch the code in DIR (a tree from `git archive REV ballast_tui ballast_server`) "
        "in each round, on the same workspace: before and after in the same run",
    )
    args = parser.parse_args()
    pause_collector()  # as `ballast` starts (see bench_own_view.py)
    # Bytecode for our modules, as an installed package has it (pip compiles what it installs): the
    # launches time starting the app, not compiling it (with PYTHONDONTWRITEBYTECODE set, every
    # launch would compile it again).
    for package in ("ballast_tui", "ballast_server"):
        compileall.compile_dir(str(Path(__file__).resolve().parents[1] / package), quiet=1)
        if args.before:
            compileall.compile_dir(str(Path(args.before) / package), quiet=1)
    python = shlex.quote(sys.executable)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_APP)
        ws = Workspace(root)
        try:
            board_id = build_demo(ws, rows=args.rows)
            owner = Context(ws, ws.users.local())
            blocks = load_registry().call(owner, "dashboard_get", {"dashboard_id": board_id})["dashboard"]
            ids = {b["name"]: b["id"] for b in blocks["blocks"]}
            kpis = load_registry().call(
                owner, "dashboard_block_data", {"dashboard_id": board_id, "block_id": ids["kpis"], "limit": 1}
            )
            revenue = format_metric(kpis["rows"][0]["revenue"], "$,.0f")
        finally:
            ws.close()

        # The `ballast` console script, as a person runs it (it starts with the collector paused).
        command = shlex.quote(str(Path(sys.executable).parent / "ballast"))
        ballast = f"{command} --workspace {shlex.quote(str(root))} open {board_id}"
        bare_s, app_s, before_s = [], [], []
        for _ in range(args.rounds):
            bare_s.append(timed_launch(f"{python} {shlex.quote(str(bare))}", lambda s: "cell 9" in s))
            app_s.append(timed_launch(ballast, board_drawn(revenue)))
            wait_until_free(root)  # the next launch must not wait for this one to finish exiting
            if args.before:
                code = shlex.quote(str(Path(args.before).resolve()))
                before_s.append(timed_launch(f"env PYTHONPATH={code} {ballast}", board_drawn(revenue)))
                wait_until_free(root)

        ws = Workspace(root)
        owner = Context(ws, ws.users.local())
        try:
            names = [name for name, _ in REGIONS]
            regions = [names[i % len(names)] for i in range(args.changes)]
            engine = [engine_change_ms(ws, board_id, ids["region"], r) for r in regions]
            load_registry().call(
                owner,
                "dashboard_set_control",
                {"dashboard_id": board_id, "block_id": ids["region"], "value": "All"},
            )
            expected = {}
            for region in set(regions):
                run = load_registry().call(
                    Context(ws, ws.users.local()),
                    "dashboard_run_block",
                    {
                        "dashboard_id": board_id,
                        "block_id": ids["kpis"],
                        "filter_overrides": {"region": region},
                    },
                )["run"]
                expected[region] = format_metric(run["rows"][0]["revenue"], "$,.0f")
            changes = asyncio.run(app_changes(ws, Context(ws, ws.users.local()), board_id, regions, expected))
        finally:
            ws.close()

    b50, a50 = statistics.median(bare_s), statistics.median(app_s)
    print(
        f"demo board, {args.rows:,} rows, a {SIZE[0]}x{SIZE[1]} tmux pane, {args.rounds} alternating rounds"
    )
    print(f"bare Textual app, 9 static cells   median {b50 * 1000:7.0f} ms   (all: {_list(bare_s)})")
    print(f"ballast open, demo board drawn     median {a50 * 1000:7.0f} ms   (all: {_list(app_s)})")
    print(f"first paint ratio                  {a50 / b50:.2f}x the bare app   (target <= 3x)")
    if before_s:
        r50 = statistics.median(before_s)
        print(f"the code before ({args.before})   median {r50 * 1000:7.0f} ms   (all: {_list(before_s)})")
        print(f"first paint ratio before           {r50 / b50:.2f}x the bare app")
    e50, c50 = statistics.median(engine), statistics.median(changes)
    print(f"control change, engine alone       median {e50:7.1f} ms   (dashboard_set_control, stored)")
    print(f"control change, key to redrawn     median {c50:7.1f} ms   slowest {max(changes):.1f} ms")
    print(f"the app adds                       median {c50 - e50:7.1f} ms   (target <= 150 ms)")


def _list(values: list[float]) -> str:
    return ", ".join(f"{v * 1000:.0f}" for v in values)


if __name__ == "__main__":
    main()
