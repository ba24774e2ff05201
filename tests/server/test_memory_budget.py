"""One memory budget for the workspace: a result several times the budget streams into its file
while the server's peak memory (read from /proc) stays under the budget plus a fixed margin, and a
query that needs more than its share fails its run with a clear error. A real server process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ballast_tui.engine.workspace import Workspace

BUDGET_MB = 256
MARGIN_MB = 450
"""What the server process holds besides DuckDB's working memory: the interpreter, pyarrow, DuckDB's
own code and caches, aiohttp, the drawing of nothing."""

SERVE = """
import asyncio, sys
from pathlib import Path
from ballast_tui.config import Settings
from ballast_tui.engine.workspace import Workspace
from ballast_server.runner import serve
ws = Workspace(Path(sys.argv[1]), Settings(memory_limit=sys.argv[2], query_timeout_s=120))
try:
    asyncio.run(serve(ws, "127.0.0.1", 0))
finally:
    ws.close()
"""


def peak_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def call(url: str, token: str, tool: str, **arguments: Any) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{url}/api/v1/tools/{tool}",
        data=json.dumps(arguments).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    root = tmp_path / "ws"
    with Workspace(root) as ws:
        token = ws.users.add_token(ws.users.local().id)
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(root), f"{BUDGET_MB}MB"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not (root / "server.json").exists():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.1)
        url = json.loads((root / "server.json").read_text())["url"]
        yield url, token, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_result_several_times_the_budget_streams_and_memory_stays_under_it(
    server: tuple[str, str, int],
) -> None:
    url, token, pid = server
    board = call(url, token, "dashboard_create", title="Big")["dashboard"]["id"]
    started = peak_mb(pid)
    # 8M rows of ~160 bytes: about 1.3 GB of result, five times the budget.
    sql = "select range as id, repeat('x', 150) || range::varchar as pad from range(8000000)"
    added = call(
        url, token, "dashboard_add_block", dashboard_id=board, type="sql", name="big", config={"sql": sql}
    )
    assert added["block"]["state"] == "success", added["block"]
    data = call(url, token, "dashboard_block_data", dashboard_id=board, block_id="big", limit=2)
    assert data["row_count"] == 8_000_000
    peak = peak_mb(pid)
    assert peak < BUDGET_MB + MARGIN_MB, f"peak {peak:.0f} MB (at start {started:.0f} MB)"


def test_a_query_that_needs_more_than_its_share_fails_its_run_clearly(server: tuple[str, str, int]) -> None:
    url, token, pid = server
    board = call(url, token, "dashboard_create", title="Greedy")["dashboard"]["id"]
    sql = (
        "select range % 30000000 as k, count(*) as n, max(repeat('y', 40)) as m "
        "from range(60000000) group by k"
    )
    added = call(
        url, token, "dashboard_add_block", dashboard_id=board, type="sql", name="greedy", config={"sql": sql}
    )
    assert added["block"]["state"] == "error"
    assert (
        "more memory than it may use" in added["block"]["error"] and "memory_limit" in added["block"]["error"]
    )
    assert peak_mb(pid) < BUDGET_MB + MARGIN_MB
    # The engine stays responsive after it.
    small = call(
        url, token, "dashboard_add_block", dashboard_id=board, type="sql", config={"sql": "select 1 as one"}
    )
    assert small["block"]["state"] == "success"
