"""GET /api/v1/dashboards/{id}/blocks/{block_id}/data.{csv|parquet|json} against a real server."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import quote

import aiohttp
import pyarrow.parquet as pq
import pytest

from tests.server.conftest import Api
from tests.server.test_api import assert_error

BIG_ROWS = 200_000
BIG_SQL = (
    f"select range::BIGINT as i, range * 2 as j, 'row ' || range::VARCHAR as s, "
    f"(date '2024-01-01' + (range % 365)::INTEGER) as d from range({BIG_ROWS})"
)


async def make_block(
    api: Api, token: str, sql: str, name: str = "big", board: str | None = None
) -> tuple[str, str]:
    if board is None:
        board = (await api.ok("dashboard_create", token, title="Exports"))["dashboard"]["id"]
    added = await api.ok(
        "dashboard_add_block", token, dashboard_id=board, type="sql", name=name, config={"sql": sql}
    )
    assert added["block"]["state"] == "success", added
    return board, str(added["block"]["id"])


def export_path(board: str, block: str, fmt: str, overrides: dict[str, Any] | None = None) -> str:
    path = f"/api/v1/dashboards/{board}/blocks/{block}/data.{fmt}"
    if overrides is not None:
        path += "?filter_overrides=" + quote(json.dumps(overrides))
    return path


async def download(api: Api, token: str | None, path: str) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with api.http.get(api.base + path, headers=headers) as response:
        return response.status, dict(response.headers), await response.read()


# -- every row, in every format --------------------------------------------------------


async def test_csv_export_streams_every_row(api: Api) -> None:
    token = api.token("alice")
    board, block = await make_block(api, token, BIG_SQL)
    status, headers, body = await download(api, token, export_path(board, block, "csv"))
    assert status == 200, body[:500]
    assert headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"] == 'attachment; filename="big.csv"'
    assert headers.get("Transfer-Encoding") == "chunked"  # streamed, not built up first
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(rows) == BIG_ROWS
    assert sorted(int(r["i"]) for r in rows) == list(range(BIG_ROWS))
    last = max(rows, key=lambda r: int(r["i"]))
    assert (last["j"], last["s"]) == (str(2 * (BIG_ROWS - 1)), f"row {BIG_ROWS - 1}")


async def test_json_export_streams_every_row(api: Api) -> None:
    token = api.token("alice")
    board, block = await make_block(api, token, BIG_SQL)
    status, headers, body = await download(api, token, export_path(board, block, "json"))
    assert status == 200, body[:500]
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Content-Disposition"] == 'attachment; filename="big.json"'
    rows = json.loads(body)
    assert len(rows) == BIG_ROWS
    assert sorted(r["i"] for r in rows) == list(range(BIG_ROWS))
    assert rows[0].keys() == {"i", "j", "s", "d"}
    assert rows[0]["d"] == "2024-01-01"


async def test_parquet_export_streams_every_row(api: Api) -> None:
    token = api.token("alice")
    board, block = await make_block(api, token, BIG_SQL)
    status, headers, body = await download(api, token, export_path(board, block, "parquet"))
    assert status == 200, body[:500]
    assert headers["Content-Type"] == "application/vnd.apache.parquet"
    assert headers["Content-Disposition"] == 'attachment; filename="big.parquet"'
    table = pq.read_table(io.BytesIO(body))
    assert table.num_rows == BIG_ROWS
    assert sorted(table.column("i").to_pylist()) == list(range(BIG_ROWS))


async def test_export_by_block_name_and_of_a_table_block(api: Api) -> None:
    token = api.token("alice")
    board, _block = await make_block(api, token, "select range as n from range(10)", name="nums")
    table = await api.ok(
        "dashboard_add_block", token, dashboard_id=board, type="table", name="view", config={"source": "nums"}
    )
    status, _headers, body = await download(api, token, export_path(board, "nums", "json"))
    assert status == 200
    assert [r["n"] for r in json.loads(body)] == list(range(10))
    status, headers, body = await download(api, token, export_path(board, table["block"]["id"], "csv"))
    assert status == 200
    assert headers["Content-Disposition"] == 'attachment; filename="view.csv"'
    assert body.decode().splitlines() == ['"n"', *[str(n) for n in range(10)]]


async def test_empty_output_exports_an_empty_file(api: Api) -> None:
    token = api.token("alice")
    board, block = await make_block(api, token, "select 1 as one where false", name="none")
    status, _headers, body = await download(api, token, export_path(board, block, "json"))
    assert (status, json.loads(body)) == (200, [])
    status, _headers, body = await download(api, token, export_path(board, block, "parquet"))
    assert status == 200 and pq.read_table(io.BytesIO(body)).num_rows == 0


async def test_a_client_that_goes_away_does_not_hurt_the_server(api: Api) -> None:
    token = api.token("alice")
    board, block = await make_block(api, token, BIG_SQL)
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(3):
        async with api.http.get(api.base + export_path(board, block, "csv"), headers=headers) as response:
            assert response.status == 200
            await response.content.read(1000)
            response.close()
    status, body = await api.request("GET", "/api/v1/health")
    assert status == 200, body
    status, _headers, data = await download(api, token, export_path(board, block, "csv"))
    assert status == 200 and data.count(b"\n") == BIG_ROWS + 1


# -- errors in the contract's shape ------------------------------------------------------


async def test_export_errors(api: Api) -> None:
    owner, stranger = api.token("alice"), api.token("mallory")
    board, block = await make_block(api, owner, "select 1 as one", name="one")
    cases = [
        (owner, export_path(board, block, "xlsx"), 404, "not_found"),
        (owner, export_path(board, "blk_000000000000", "csv"), 404, "not_found"),
        (owner, export_path("dash_000000000000", block, "csv"), 404, "not_found"),
        (None, export_path(board, block, "csv"), 401, "unauthorized"),
        (stranger, export_path(board, block, "csv"), 403, "forbidden"),
        (owner, export_path(board, block, "csv") + "?limit=10", 400, "invalid_request"),
        (owner, export_path(board, block, "csv") + "?filter_overrides=%7Bnope", 400, "invalid_request"),
        (owner, export_path(board, block, "csv") + "?filter_overrides=%5B%5D", 400, "invalid_request"),
    ]
    for token, path, status, code in cases:
        got_status, _headers, body = await download(api, token, path)
        assert_error(got_status, json.loads(body), status, code)


async def test_export_of_a_failed_block_is_400(api: Api) -> None:
    token = api.token("alice")
    board = (await api.ok("dashboard_create", token, title="Broken"))["dashboard"]["id"]
    added = await api.ok(
        "dashboard_add_block",
        token,
        dashboard_id=board,
        type="sql",
        name="bad",
        config={"sql": "select 1/0::INTEGER as x, error('boom')"},
    )
    assert added["block"]["state"] == "error"
    status, _headers, body = await download(api, token, export_path(board, added["block"]["id"], "csv"))
    assert_error(status, json.loads(body), 400, "invalid_request")


# -- filter_overrides ------------------------------------------------------------------


async def make_filtered(api: Api, token: str) -> tuple[str, dict[str, str]]:
    board = (await api.ok("dashboard_create", token, title="Filtered"))["dashboard"]["id"]
    blocks = {}
    added = await api.ok(
        "dashboard_add_block",
        token,
        dashboard_id=board,
        type="param-enum",
        name="parity",
        config={"options": ["even", "odd"], "default": "even"},
    )
    blocks["parity"] = added["block"]["id"]
    numbers = await api.ok(
        "dashboard_add_block",
        token,
        dashboard_id=board,
        type="sql",
        name="numbers",
        config={
            "sql": "select range as n from range(100000) where (range % 2 = 0) = ($parity = 'even')",
            "inputs": ["parity"],
        },
    )
    assert numbers["block"]["state"] == "success", numbers
    blocks["numbers"] = numbers["block"]["id"]
    _board, blocks["other"] = await make_block(api, token, "select 7 as seven", name="other", board=board)
    return board, blocks


async def test_export_with_filter_overrides_streams_that_output_and_stores_nothing(api: Api) -> None:
    token = api.token("alice")
    board, blocks = await make_filtered(api, token)
    runs_before = await api.ok("dashboard_runs", token, dashboard_id=board, block_id=blocks["numbers"])
    for fmt in ("csv", "json", "parquet"):
        status, headers, body = await download(
            api, token, export_path(board, blocks["numbers"], fmt, {"parity": "odd"})
        )
        assert status == 200, body[:300]
        if fmt == "csv":
            values = [int(line) for line in body.decode().splitlines()[1:]]
        elif fmt == "json":
            values = [r["n"] for r in json.loads(body)]
        else:
            values = pq.read_table(io.BytesIO(body)).column("n").to_pylist()
        assert len(values) == 50_000 and all(v % 2 == 1 for v in values), fmt
        assert headers["Content-Disposition"] == f'attachment; filename="numbers.{fmt}"'
    # Without overrides: the stored (even) output.
    status, _headers, body = await download(api, token, export_path(board, blocks["numbers"], "json"))
    assert status == 200 and all(r["n"] % 2 == 0 for r in json.loads(body))
    # A block no override reaches exports its current output; keys by control id work too.
    status, _headers, body = await download(
        api, token, export_path(board, blocks["other"], "json", {blocks["parity"]: "odd"})
    )
    assert (status, json.loads(body)) == (200, [{"seven": 7}])
    runs_after = await api.ok("dashboard_runs", token, dashboard_id=board, block_id=blocks["numbers"])
    assert runs_after["runs"] == runs_before["runs"]
    got = await api.ok("dashboard_get", token, dashboard_id=board)
    assert {b["name"]: b for b in got["dashboard"]["blocks"]}["parity"]["value"] == "even"


@pytest.mark.parametrize("overrides", [{"parity": "both"}, {"numbers": 1}, {"nope": "odd"}])
async def test_export_with_overrides_the_control_does_not_allow_is_400(
    api: Api, overrides: dict[str, Any]
) -> None:
    token = api.token("alice")
    board, blocks = await make_filtered(api, token)
    status, _headers, body = await download(
        api, token, export_path(board, blocks["numbers"], "csv", overrides)
    )
    assert_error(status, json.loads(body), 400, "invalid_request")


async def test_a_viewer_may_export_with_overrides(api: Api) -> None:
    owner, viewer = api.token("alice"), api.token("bob")
    board, blocks = await make_filtered(api, owner)
    await api.ok("dashboard_grant", owner, dashboard_id=board, user="bob", role="viewer")
    status, _headers, body = await download(
        api, viewer, export_path(board, blocks["numbers"], "json", {"parity": "odd"})
    )
    assert status == 200
    assert len(json.loads(body)) == 50_000


# -- the stream itself -------------------------------------------------------------------


async def test_a_failure_after_the_headers_breaks_the_transfer(api: Api) -> None:
    token = api.token("alice")
    board, block = await make_block(api, token, "select range as n from range(300000)", name="big")
    # The output's file is damaged after the run: its footer (what the export reads first) is whole,
    # its pages are not, so the export fails once its headers and first bytes went out.
    current = api.ws.db.row(
        "SELECT r.file FROM runs r JOIN blocks b ON b.current_run_id = r.id WHERE b.id = ?",
        [block],
    )
    assert current is not None
    run_file = api.ws.board_dir(board) / current["file"]
    data = bytearray(run_file.read_bytes())
    data[8 : len(data) // 2] = b"\xff" * (len(data) // 2 - 8)
    run_file.write_bytes(bytes(data))
    with pytest.raises(aiohttp.ClientPayloadError):
        await download(api, token, export_path(board, block, "csv"))
    status, _body = await api.request("GET", "/api/v1/health")
    assert status == 200


async def test_the_worker_waits_for_a_slow_reader_and_stops_when_it_leaves() -> None:
    import asyncio
    import threading

    from ballast_server.export_route import QUEUE_CHUNKS, _Aborted, _Bridge, _Sink

    bridge = _Bridge(asyncio.get_running_loop(), threading.Event())
    sink = _Sink(bridge)
    written: list[int] = []
    outcome: list[BaseException] = []

    def produce() -> None:
        try:
            for n in range(10 * QUEUE_CHUNKS):
                sink.write(b"y" * export_route_chunk())
                written.append(n)
        except _Aborted as error:
            outcome.append(error)

    worker = asyncio.get_running_loop().run_in_executor(None, produce)
    await asyncio.sleep(0.5)
    # Bounded: the queue holds QUEUE_CHUNKS chunks and the worker waits with one more in hand.
    assert bridge.queue.qsize() == QUEUE_CHUNKS
    assert len(written) == QUEUE_CHUNKS
    first = await bridge.queue.get()
    assert len(first) == export_route_chunk()
    await asyncio.sleep(0.2)
    assert len(written) == QUEUE_CHUNKS + 1
    bridge.abort()
    await asyncio.wait_for(worker, 5)
    assert outcome and len(written) < 10 * QUEUE_CHUNKS


def export_route_chunk() -> int:
    from ballast_server.export_route import CHUNK_BYTES

    return CHUNK_BYTES
