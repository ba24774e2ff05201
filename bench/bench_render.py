"""`dashboard_render` on the demo board: a kept drawing process against a new process per drawing.

    python bench/bench_render.py [--rows 300000] [--repeat 5] [--width 120]

Builds the demo's "Sales overview" board in a temporary workspace and draws it as text through
the registry, as `ballast show` and an agent do. Ours: the first drawing (it starts the drawing
process) and the median of the next `--repeat` (the process is kept). Baseline: the same drawing
by a new `python -m ballast_tui.published.text` process each time (what a drawing costs when
nothing is kept). Prints what keeping the process saves per drawing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballast_tui.demo import build_demo
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Context, load_registry


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--width", type=int, default=120)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("load average before:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp, Workspace(Path(tmp) / "ws") as ws:
        board = build_demo(ws, rows=args.rows)
        user = ws.users.local()
        ctx = Context(ws, user, client="bench")
        registry = load_registry()
        arguments = {"dashboard_id": board, "width": args.width}

        def ours() -> float:
            started = time.perf_counter()
            text = registry.call(ctx, "dashboard_render", arguments)["text"]
            assert "Sales" in text or text.strip(), "nothing drawn"
            return time.perf_counter() - started

        def fresh() -> float:
            request = {"user_id": user.id, "dashboard_id": board, "width": args.width, "ansi": False}
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "ballast_tui.published.text", "--workspace", str(ws.paths.root)],
                input=json.dumps(request) + "\n",
                capture_output=True,
                text=True,
                check=True,
            )
            assert json.loads(done.stdout.splitlines()[-1])["ok"], done.stderr
            return time.perf_counter() - started

        first = ours()
        kept, new = [], []
        for _ in range(args.repeat):
            kept.append(ours())
            new.append(fresh())
    ratio = statistics.median(new) / statistics.median(kept)
    print("load average after:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"\n{'case':<44}{'seconds':>10}")
    print(f"{'first drawing (starts the drawing process)':<44}{first:>10.2f}")
    print(f"{'kept process, median of ' + str(args.repeat):<44}{statistics.median(kept):>10.2f}")
    print(f"{'new process each time, median':<44}{statistics.median(new):>10.2f}")
    saved = statistics.median(new) - statistics.median(kept)
    print(f"\na kept process saves {saved:.2f} s per drawing (new / kept: {ratio:.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
