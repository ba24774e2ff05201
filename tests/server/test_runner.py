"""`ballast serve` as a real process: its address line, `server.json`, refusal, stale files, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from ballast_tui.config import WorkspacePaths, live_server, read_server_json, write_server_json
from ballast_tui.engine.workspace import Workspace

SLOW_SQL = "select sum(hash(a.range)) as h from range(1000000000000) a"
START_TIMEOUT_S = 30


@dataclass
class Served:
    proc: asyncio.subprocess.Process
    url: str
    port: int


async def spawn_serve(root: Path, *extra: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ballast_tui.cli",
        "serve",
        "--workspace",
        str(root),
        "--port",
        "0",
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@asynccontextmanager
async def serving(root: Path) -> AsyncIterator[Served]:
    """`ballast serve` on `root` (a free port), killed at the end if a test left it running."""
    proc = await spawn_serve(root)
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT_S)).decode()
        match = re.fullmatch(r"Ballast serving (http://127\.0\.0\.1:(\d+))\n", line)
        assert match, line
        yield Served(proc, match[1], int(match[2]))
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def stop(proc: asyncio.subprocess.Process, timeout: float = 20) -> tuple[int, str]:
    """SIGTERM, then the exit status and everything written on stderr."""
    proc.send_signal(signal.SIGTERM)
    assert proc.stderr is not None
    stderr = await asyncio.wait_for(proc.stderr.read(), timeout)
    return await asyncio.wait_for(proc.wait(), timeout), stderr.decode()


async def get_json(url: str, token: str | None = None, body: Any = None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    method = "GET" if body is None else "POST"
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    return int(child.stdout)


async def test_serve_announces_writes_server_json_and_removes_it_on_sigterm(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace(root).close()  # `serve` opens a workspace; it never creates one
    paths = WorkspacePaths(root)
    async with serving(root) as served:
        info = read_server_json(paths)
        assert info is not None
        assert info["pid"] == served.proc.pid
        assert info["port"] == served.port
        assert info["host"] == "127.0.0.1"
        assert info["url"] == served.url
        assert isinstance(info["started"], str) and info["started"].endswith("Z")
        assert live_server(paths) == info
        status, body = await get_json(f"{served.url}/api/v1/health")
        assert status == 200 and body["success"] is True

        code, stderr = await stop(served.proc)
        assert code == 0, stderr
        assert not paths.server_json.exists()

    # Structured access log: one JSON object per line on stderr.
    entries = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    access = [e for e in entries if e["logger"] == "ballast.server.access"]
    health = [e for e in access if e.get("path") == "/api/v1/health"]
    assert health, stderr
    assert health[0]["method"] == "GET" and health[0]["status"] == 200
    assert isinstance(health[0]["duration_ms"], float)


async def test_a_second_serve_on_the_same_workspace_refuses(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace(root).close()  # `serve` opens a workspace; it never creates one
    paths = WorkspacePaths(root)
    async with serving(root) as first:
        before = read_server_json(paths)
        second = await spawn_serve(root)
        out, err = await asyncio.wait_for(second.communicate(), START_TIMEOUT_S)
        assert second.returncode != 0
        assert out == b""
        message = err.decode()
        assert f"a server for this workspace is already running at {first.url}" in message, message
        assert "Traceback" not in message
        # The running server and its file are untouched.
        assert read_server_json(paths) == before
        status, _ = await get_json(f"{first.url}/api/v1/health")
        assert status == 200
        code, stderr = await stop(first.proc)
        assert code == 0, stderr
    assert not paths.server_json.exists()


async def test_a_stale_server_json_is_replaced(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace(root).close()  # `serve` opens a workspace; it never creates one
    paths = WorkspacePaths(root)
    paths.ensure()
    gone = dead_pid()
    write_server_json(
        paths,
        {
            "url": "http://127.0.0.1:1",
            "host": "127.0.0.1",
            "port": 1,
            "pid": gone,
            "started": "2020-01-01T00:00:00Z",
        },
    )
    assert live_server(paths) is None
    async with serving(root) as served:
        info = read_server_json(paths)
        assert info is not None
        assert info["pid"] == served.proc.pid != gone
        assert info["url"] == served.url
        code, stderr = await stop(served.proc)
        assert code == 0, stderr
    assert not paths.server_json.exists()


async def test_sigterm_cancels_a_running_query_and_exits_promptly(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with Workspace(root) as ws:
        _user, token = ws.users.create("alice")
    paths = WorkspacePaths(root)
    async with serving(root) as served:
        _, created = await get_json(f"{served.url}/api/v1/tools/dashboard_create", token, {"title": "Slow"})
        board = created["dashboard"]["id"]
        # Adding the block runs it at once: a query that would take far longer than the test.
        adding = asyncio.create_task(
            get_json(
                f"{served.url}/api/v1/tools/dashboard_add_block",
                token,
                {"dashboard_id": board, "type": "sql", "name": "slow", "config": {"sql": SLOW_SQL}},
            )
        )
        await asyncio.sleep(1.0)
        assert not adding.done()
        loop = asyncio.get_running_loop()
        started = loop.time()
        code, stderr = await stop(served.proc)
        assert code == 0, stderr
        assert loop.time() - started < 8  # cancelled, not waited out (the time limit is 30 s)
        # The server lets the request end before it stops: its answer reports the cancelled run
        # (a client that lost the connection instead is fine too).
        try:
            status, body = await adding
        except aiohttp.ClientError:
            pass
        else:
            assert status == 200, body
            assert body["block"]["state"] == "error" and "cancelled" in body["block"]["error"], body
    assert not paths.server_json.exists()


async def test_serve_on_a_port_in_use_fails_with_a_clear_message(tmp_path: Path) -> None:
    import socket

    Workspace(tmp_path / "ws").close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ballast_tui.cli",
            "serve",
            "--workspace",
            str(tmp_path / "ws"),
            "--port",
            str(port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), START_TIMEOUT_S)
    assert proc.returncode == 1
    assert out == b""
    assert f"cannot listen on http://127.0.0.1:{port}" in err.decode(), err.decode()
    assert "Traceback" not in err.decode()
    assert not WorkspacePaths(tmp_path / "ws").server_json.exists()


async def test_a_server_json_whose_pid_was_reused_is_replaced(tmp_path: Path) -> None:
    """A live pid (here: the test's own process) but nothing listening at the address: stale."""
    import socket

    root = tmp_path / "ws"
    paths = WorkspacePaths(root)
    Workspace(root).close()  # `serve` opens a workspace; it never creates one
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{closed_port}"
    write_server_json(
        paths,
        {
            "url": url,
            "host": "127.0.0.1",
            "port": closed_port,
            "pid": os.getpid(),
            "started": "2020-01-01T00:00:00Z",
        },
    )
    async with serving(root) as served:
        info = read_server_json(paths)
        assert info is not None and info["pid"] == served.proc.pid
        code, stderr = await stop(served.proc)
        assert code == 0, stderr
    assert not paths.server_json.exists()
