"""Exports that fail write nothing: an existing file keeps its bytes, bad paths are one-line errors,
and lists, structs and maps are JSON text in CSV. Real `ballast export` processes, on the workspace's
files and through a real running server; the HTTP route's broken-off stream says why."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient
from tests.serve_process import serving
from tests.server.conftest import Api
from tests.server.test_identity import ballast

NESTED = "select 1 as id, [1, 2, 3] as numbers, {'a': 1, 'b': 'x'} as pair, map(['k'], ['v']) as labels"


@pytest.fixture
def board(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "ws"
    with Workspace(root) as ws:
        call = ToolClient(ws, ws.users.local())
        board_id = call("dashboard_create", title="Exports")["dashboard"]["id"]
        call("dashboard_add_block", dashboard_id=board_id, type="sql", name="nested", config={"sql": NESTED})
    yield root, board_id


@pytest.fixture(params=["files", "server"])
def where(request: pytest.FixtureRequest, board: tuple[Path, str]) -> Iterator[tuple[Path, str]]:
    root, _board = board
    if request.param == "files":
        yield board
        return
    with serving(root):
        yield board


def one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


def test_a_refused_export_leaves_an_existing_file_untouched(where: tuple[Path, str], tmp_path: Path) -> None:
    root, board = where
    keep = tmp_path / "keep.csv"
    keep.write_text("precious\n")
    one_line_error(ballast(root, "export", board, "--block", "typo", "-o", str(keep)), "not_found", "typo")
    one_line_error(
        ballast(root, "export", "dash_000000000000", "--block", "nested", "-o", str(keep)), "not_found"
    )
    assert keep.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".keep")] == []


@pytest.mark.parametrize("target", ["missing/dir/x.csv", "."], ids=["missing-folder", "a-folder"])
def test_a_bad_path_is_a_one_line_error(where: tuple[Path, str], tmp_path: Path, target: str) -> None:
    root, board = where
    done = ballast(root, "export", board, "--block", "nested", "-o", str(tmp_path / target))
    one_line_error(done, "cannot write")


def test_lists_structs_and_maps_are_json_text_in_csv(where: tuple[Path, str], tmp_path: Path) -> None:
    root, board = where
    out = tmp_path / "nested.csv"
    done = ballast(root, "export", board, "--block", "nested", "-o", str(out))
    assert done.returncode == 0, done.stderr
    (row,) = list(csv.DictReader(io.StringIO(out.read_text())))
    assert json.loads(row["numbers"]) == [1, 2, 3]
    assert json.loads(row["pair"]) == {"a": 1, "b": "x"}
    assert json.loads(row["labels"]) == {"k": "v"}
    streamed = ballast(root, "export", board, "--block", "nested")
    assert streamed.returncode == 0 and json.loads(
        next(csv.DictReader(io.StringIO(streamed.stdout)))["numbers"]
    ) == [
        1,
        2,
        3,
    ]


async def test_nested_types_stream_over_http_as_json_text(api: Api) -> None:
    token = api.token("alice")
    board = (await api.ok("dashboard_create", token, title="Nested"))["dashboard"]["id"]
    block = await api.ok("dashboard_add_block", token, dashboard_id=board, type="sql", config={"sql": NESTED})
    path = f"/api/v1/dashboards/{board}/blocks/{block['block']['id']}/data.csv"
    async with api.http.get(api.base + path, headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200
        text = await response.text()
    assert json.loads(next(csv.DictReader(io.StringIO(text)))["pair"]) == {"a": 1, "b": "x"}


async def test_a_stream_that_fails_after_its_headers_ends_with_an_error_trailer(api: Api) -> None:
    token = api.token("alice")
    board = (await api.ok("dashboard_create", token, title="Big"))["dashboard"]["id"]
    block = await api.ok(
        "dashboard_add_block",
        token,
        dashboard_id=board,
        type="sql",
        config={"sql": "select range as n from range(300000)"},
    )
    current = api.ws.db.row(
        "SELECT r.file FROM runs r JOIN blocks b ON b.current_run_id = r.id WHERE b.id = ?",
        [block["block"]["id"]],
    )
    assert current is not None
    run_file = api.ws.board_dir(board) / current["file"]
    data = bytearray(run_file.read_bytes())
    data[8 : len(data) // 2] = b"\xff" * (len(data) // 2 - 8)
    run_file.write_bytes(bytes(data))
    path = f"/api/v1/dashboards/{board}/blocks/{block['block']['id']}/data.csv"
    reader, writer = await asyncio.open_connection("127.0.0.1", int(api.base.rsplit(":", 1)[1]))
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    raw = await reader.read()  # until the server closes
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"200" in head.split(b"\r\n")[0] and b"Trailer: X-Ballast-Error" in head
    assert (
        body.startswith(b"0\r\nX-Ballast-Error: export failed") or b"\r\n0\r\nX-Ballast-Error: export" in body
    )
    assert not body.endswith(b"\r\n\r\n")  # the message is left incomplete: no client takes it as whole
    with pytest.raises(aiohttp.ClientPayloadError):
        async with api.http.get(api.base + path, headers={"Authorization": f"Bearer {token}"}) as response:
            await response.read()
