"""Every file a workspace holds is owner-only after real use under umask 022 (CONTRACT 10): the demo, a
publish, exports, an import, a connection, and a server drawing published pages, all real processes."""

from __future__ import annotations

import asyncio
import json
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import not_owner_only
from tests.server.test_runner import START_TIMEOUT_S, stop

UMASK_022 = ["sh", "-c", 'umask 022 && exec "$@"', "sh"]
"""A command prefix: what follows runs under umask 022 (files 0644, directories 0755 by default)."""


def ballast(root: Path, *args: str) -> str:
    """`ballast --workspace ROOT ARGS` under umask 022; its standard output (it must succeed)."""
    done = subprocess.run(
        [*UMASK_022, sys.executable, "-m", "ballast_tui.cli", "--workspace", str(root), *args],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def tool(root: Path, name: str, **arguments: Any) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(ballast(root, "tool", name, json.dumps(arguments)))
    return answer


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        return response.status, (await response.read()).decode(errors="replace")


async def test_after_real_use_under_umask_022_every_directory_is_0700_and_every_file_0600(
    tmp_path: Path,
) -> None:
    root = (tmp_path / "ws").resolve()
    ballast(root, "demo", "--no-tui", "--rows", "2000")
    board = tool(root, "dashboard_list")["dashboards"][0]["id"]
    slug = tool(root, "dashboard_publish", dashboard_id=board)["slug"]
    protected = tool(root, "dashboard_create", title="Protected")["dashboard"]["id"]
    protected_slug = tool(root, "dashboard_publish", dashboard_id=protected, password="pass-1234")["slug"]
    csv = tmp_path / "refunds.csv"
    csv.write_text("id,amount\n1,2.5\n2,4.0\n")
    ballast(root, "import", str(csv), "--dashboard", board)
    ballast(root, "export", board, "--block", "filtered", "-o", str(root / "filtered.csv"))
    ballast(
        root, "export", board, "--block", "filtered", "--format", "parquet", "-o", str(tmp_path / "out.pq")
    )
    ballast(root, "export", board, "-o", str(root / "board.svg"))
    ballast(root, "connection", "add", "app", f"sqlite:///{tmp_path / 'app.db'}", "--no-check")

    proc = await asyncio.create_subprocess_exec(
        *UMASK_022,
        sys.executable,
        "-m",
        "ballast_tui.cli",
        "serve",
        "--workspace",
        str(root),
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT_S)).decode()
        match = re.fullmatch(r"Ballast serving (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        async with aiohttp.ClientSession() as http:
            status, page = await get(http, f"{match[1]}/public/dashboards/{slug}")
            assert status == 200 and "<svg" in page  # drawn by the worker into published/
            status, _png = await get(http, f"{match[1]}/public/dashboards/{slug}/preview.png")
            assert status == 200
            status, form = await get(http, f"{match[1]}/public/dashboards/{protected_slug}")
            assert status == 200 and 'name="csrf"' in form  # signed with secret.key
        made = {path.relative_to(root).as_posix() for path in root.rglob("*")}
        for expected in ("ballast.db", "ballast.db-wal", "ballast.db-shm", "server.json", "secret.key"):
            assert expected in made, expected
        assert {"connections.key", "filtered.csv", "board.svg", "imports"} <= made
        assert any(re.fullmatch(rf"published/{board}/.+\.(svg|png|json)", name) for name in made), made
        assert any(re.fullmatch(r"data/.+\.parquet", name) for name in made)
        assert not_owner_only(root) == []  # while the server runs: its database files and server.json
    finally:
        code, stderr = await stop(proc)
    assert code == 0, stderr
    assert not_owner_only(root) == []
    # Exports are the user's files, wherever they go: owner-only too (sharing one is a chmod away).
    assert stat.S_IMODE((tmp_path / "out.pq").stat().st_mode) == 0o600
