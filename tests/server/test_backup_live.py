"""`ballast backup` taken by its own process beside a running `ballast serve` that is being written to,
then `ballast restore`: every change acknowledged before the backup started comes back, whole.

Real processes (the server, the backup, the restore), real SQLite and Parquet files, real tokens and
connection keys.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pyarrow.parquet as pq

from ballast_server.runner import start_server
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage.repos import referenced_files
from tests.server.test_runner import serving, stop

WRITES_BEFORE_BACKUP = 12
PROCESS_TIMEOUT_S = 120


@dataclass
class Acknowledged:
    """What the server said it had done, in order."""

    blocks: list[tuple[str, str, int]] = field(default_factory=list)
    """(board id, block id, the value its SQL selects)."""
    latest_feed: int | None = None
    """The value of the last `replace` push of the `feed` source."""
    log_rows: int = 0
    """Rows appended to the `log` source."""
    tokens: list[str] = field(default_factory=list)

    def copy(self) -> Acknowledged:
        return Acknowledged(list(self.blocks), self.latest_feed, self.log_rows, list(self.tokens))


async def write_stream(url: str, token: str, acked: Acknowledged, stopping: asyncio.Event) -> None:
    """Add blocks, replace one source and append to another, recording each answer, until told to stop."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:

        async def call(tool: str, **arguments: Any) -> dict[str, Any]:
            async with http.post(f"{url}/api/v1/tools/{tool}", json=arguments) as response:
                body: dict[str, Any] = await response.json()
                assert response.status == 200, body
                return body

        board = (await call("dashboard_create", title="Stream"))["dashboard"]["id"]
        i = 0
        while not stopping.is_set():
            sql = f"select {i} as n, repeat('x', 200) as pad from range(50)"
            block = await call(
                "dashboard_add_block", dashboard_id=board, type="sql", name=f"b{i}", config={"sql": sql}
            )
            acked.blocks.append((board, block["block"]["id"], i))
            await call("catalog_push", dashboard_id=board, name="feed", rows=[{"v": i}], mode="replace")
            acked.latest_feed = i
            await call("catalog_push", dashboard_id=board, name="log", rows=[{"v": i}], mode="append")
            acked.log_rows += 1
            if i % 5 == 0:
                made = await call("user_token_create", user="writer")
                acked.tokens.append(made["token"])
            i += 1


async def ballast(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ballast_tui.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), PROCESS_TIMEOUT_S)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def shop_database(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL)")
        conn.executemany("INSERT INTO orders VALUES (?, ?)", [(i, i * 1.5) for i in range(10)])


def assert_private(tree: Path) -> None:
    for path in [tree, *tree.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path} is {oct(mode)}"


async def test_a_backup_under_a_stream_of_writes_restores_every_acknowledged_change(tmp_path: Path) -> None:
    root, dest, restored = tmp_path / "ws", tmp_path / "backup", tmp_path / "restored"
    shop = tmp_path / "shop.sqlite"
    shop_database(shop)
    shop_url = f"sqlite://{shop}"
    with Workspace(root) as ws:
        admin = ws.users.local()
        _writer, token = ws.users.create("writer")
        ws.connections.add("shop", shop_url, admin.id)

    acked = Acknowledged()
    stopping = asyncio.Event()
    async with serving(root) as served:
        writer = asyncio.create_task(write_stream(served.url, token, acked, stopping))
        while len(acked.blocks) < WRITES_BEFORE_BACKUP:
            assert not writer.done(), writer.exception()
            await asyncio.sleep(0.05)
        before = acked.copy()
        status, out, err = await ballast("--workspace", str(root), "backup", str(dest))
        during = len(acked.blocks) - len(before.blocks)
        stopping.set()
        await writer
        code, stderr = await stop(served.proc)
        assert code == 0, stderr
    assert status == 0, err
    assert out.startswith(f"backed up {root} to {dest}:"), out
    assert during > 0, "the server was written to while the backup ran"
    assert_private(dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["format"] == "ballast-backup" and manifest["version"] == 1
    assert {"ballast.db", "secret.key", "connections.key"} <= set(manifest["files"])
    assert not any(name.startswith(("server.", "published", "imports")) for name in manifest["files"])

    status, out, err = await ballast("restore", str(dest), str(restored))
    assert status == 0, err
    assert_private(restored)
    with sqlite3.connect(restored / "ballast.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []

    with Workspace(restored) as ws:
        for board, block_id, value in before.blocks:
            row = ws.db.row(
                "SELECT name, config FROM blocks WHERE id = ? AND board_id = ?", [block_id, board]
            )
            assert row is not None, f"block {block_id} (acknowledged before the backup) is missing"
            assert row["name"] == f"b{value}" and f"select {value} as n" in row["config"]
            runs = ws.db.rows("SELECT file FROM runs WHERE block_id = ? AND status = 'success'", [block_id])
            assert runs and all(r["file"] for r in runs)
        board = before.blocks[0][0]
        feed = ws.db.row("SELECT file FROM sources WHERE board_id = ? AND name = 'feed'", [board])
        log = ws.db.row("SELECT file, row_count FROM sources WHERE board_id = ? AND name = 'log'", [board])
        assert feed is not None and log is not None
        assert before.latest_feed is not None
        assert pq.read_table(ws.board_dir(board) / feed["file"])["v"][0].as_py() >= before.latest_feed
        assert log["row_count"] >= before.log_rows
        for name in referenced_files(ws.db):
            path = ws.paths.data / name
            assert path.is_file(), f"{path} is named by a row but missing"
            pq.read_table(path)
        for made in [token, *before.tokens]:
            assert ws.users.authenticate(made).name == "writer"
        secret = ws.db.row("SELECT secret FROM connections WHERE name = 'shop'")
        assert secret is not None and ws.connections.box.open(secret["secret"]) == shop_url
        tables = ws.connections.tables(ws.connections.get("shop"), refresh=True)
        assert "orders" in {t.name for t in tables}

        # The restored workspace serves: the old token reads the boards it wrote.
        runner, port = await start_server(ws, "127.0.0.1", 0)
        try:
            async with (
                aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http,
                http.post(
                    f"http://127.0.0.1:{port}/api/v1/tools/dashboard_get", json={"dashboard_id": board}
                ) as got,
            ):
                body = await got.json()
            assert got.status == 200, body
            names = {b["name"] for b in body["dashboard"]["blocks"]}
            assert {f"b{value}" for _, _, value in before.blocks} <= names
        finally:
            ws.executor.cancel()
            await runner.cleanup()
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir()), "a staging directory was left"
    assert os.listdir(root / "data")  # the live workspace kept its files
