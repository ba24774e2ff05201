"""A cascade's outputs written on the writer's thread while the cascade goes on (issue 17).

Real workspaces in tmp_path, everything through the tools. What a user would notice if this went
wrong: a block below a large result seeing other rows than that result's file holds, a run
announced before its file is there, a run made early left behind (its file or its row) when it
proved reusable, a content hash that depends on how the file was written (so reuse misses), or a
reuse lookup that slows down as a block's history grows.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ballast_tui.engine.events import Event, RunFinished, RunStarted
from ballast_tui.engine.output_writer import ENCODE_HERE_BYTES
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage.files import encode_table, file_hash, place_synced, result_hash, write_stream_atomic
from tests.conftest import ToolClient
from tests.unit.test_cascade import Events, add_sql, runs_of, update_sql
from tests.unit.test_group_commit import stored_run

Row = dict[str, Any]

LARGE_ROWS = 100_000
"""Rows of a result well over `ENCODE_HERE_BYTES`: encoded and written on the writer's thread."""


def files_named_by_no_run(ws: Workspace, board: str) -> list[str]:
    named = {r["file"] for r in ws.db.rows("SELECT file FROM runs WHERE board_id = ?", [board])}
    named |= {r["file"] for r in ws.db.rows("SELECT file FROM sources WHERE board_id = ?", [board])}
    return sorted(p.name for p in ws.board_dir(board).iterdir() if p.name not in named)


def test_a_large_result_is_really_encoded_on_the_writer_thread() -> None:
    # The cases below are about the writer's own path: make sure they take it.
    table = pa.table({"v": pa.array(range(LARGE_ROWS), pa.int64())})
    assert table.nbytes >= ENCODE_HERE_BYTES


@pytest.mark.parametrize(("batch_rows", "codec"), [(1000, "SNAPPY"), (20_000, "ZSTD")])
def test_a_file_written_ahead_has_the_bytes_and_hash_of_one_streamed_in_line(
    tmp_path: Path, batch_rows: int, codec: str
) -> None:
    """A small result (under 64 KB in Arrow) is compressed with snappy, a larger one with zstd,
    whichever way it is written: the same bytes, and one content hash (the result's, not its
    file's: `result_hash`)."""
    batches = [
        pa.record_batch(
            {
                "v": pa.array(range(i * batch_rows, (i + 1) * batch_rows), pa.int64()),
                "s": ["x"] * batch_rows,
            }
        )
        for i in range(3)
    ]
    table = pa.Table.from_batches(batches)
    streamed = tmp_path / "streamed.parquet"
    content_hash, rows = write_stream_atomic(batches, table.schema, streamed, durable=False)
    encoded, ahead_hash = encode_table(table)
    ahead = tmp_path / "ahead.parquet"
    place_synced(encoded, ahead)

    assert rows == 3 * batch_rows
    assert ahead.read_bytes() == streamed.read_bytes()  # a row group per batch, both ways
    metadata = pq.ParquetFile(streamed).metadata
    assert {metadata.row_group(g).column(0).compression for g in range(3)} == {codec}
    assert ahead_hash == file_hash(ahead)  # what the journal checks a file against
    assert content_hash == result_hash(table) == result_hash(pq.read_table(ahead))
    assert content_hash != ahead_hash
    assert not list(tmp_path.glob("*.tmp"))


def statistics_kept(path: Path) -> dict[str, bool]:
    """Whether the file's first row group keeps min/max statistics, by column."""
    group = pq.read_metadata(path).row_group(0)
    return {group.column(i).path_in_schema: group.column(i).is_stats_set for i in range(group.num_columns)}


def test_an_output_keeps_statistics_for_numbers_and_dates_and_a_source_for_every_column(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    """Min/max of text columns took a third of the encoding of a grouped result (on the writer's
    thread, which the blocks below wait for) and nothing reads them; a source's are kept, for the
    blocks that filter it."""
    csv = base64.b64encode(b"city,amount,day\nParis,3,2025-01-02\nOslo,4,2025-01-03\n").decode()
    call("catalog_import", dashboard_id=board, name="sales", format="csv", content=csv)
    sql = "select city, amount, day, amount * 1.5 as x, amount > 3 as big, {s} as tags from sales"
    small = add_sql(call, board, "small", sql.format(s="[city]"))
    large = add_sql(
        call, board, "large", f"select range as amount, 'c' || range as city from range({LARGE_ROWS})"
    )
    kept = {"city": False, "amount": True, "day": True, "x": True, "big": True, "tags.list.element": False}
    assert statistics_kept(output_file(ws, board, small)) == kept
    assert statistics_kept(output_file(ws, board, large)) == {"amount": True, "city": False}
    [source] = ws.db.rows("SELECT file FROM sources WHERE board_id = ?", [board])
    assert statistics_kept(ws.board_dir(board) / source["file"]) == dict.fromkeys(
        ["city", "amount", "day"], True
    )


def test_an_output_dictionary_encodes_its_columns_but_floats_and_reads_back_the_same(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    """A float column's values are nearly all distinct: its dictionary took half of the encoding of
    a grouped result and made the file larger."""
    sql = (
        "select range % 3 as n, 'c' || (range % 5) as city, range / 7 as avg, "
        "(range % 4)::decimal(9, 2) as price from range({rows})"
    )
    small = add_sql(call, board, "small", sql.format(rows=40))
    large = add_sql(call, board, "large", sql.format(rows=LARGE_ROWS))
    for block_id, rows in ((small, 40), (large, LARGE_ROWS)):
        path = output_file(ws, board, block_id)
        assert dictionary_encoded(path) == {"n": True, "city": True, "avg": False, "price": True}
        table = pq.read_table(path)
        assert table.num_rows == rows and table.column("avg")[rows - 1].as_py() == (rows - 1) / 7
        page = call("dashboard_block_data", dashboard_id=board, block_id=block_id, limit=3)
        assert [row["avg"] for row in page["rows"]] == [0, 1 / 7, 2 / 7]


def dictionary_encoded(path: Path) -> dict[str, bool]:
    """Whether the file's first row group dictionary-encodes each column."""
    group = pq.read_metadata(path).row_group(0)
    return {
        group.column(i).path_in_schema: group.column(i).has_dictionary_page for i in range(group.num_columns)
    }


def output_file(ws: Workspace, board: str, block_id: str) -> Path:
    current = ws.db.row("SELECT current_run_id FROM blocks WHERE id = ?", [block_id])
    assert current is not None
    run = stored_run(ws.paths.db, current["current_run_id"])
    assert run is not None
    return ws.board_dir(board) / run["file"]


def test_blocks_below_a_large_result_see_exactly_its_rows(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    top = add_sql(call, board, "top", f"select range as v, range % 7 as g from range({LARGE_ROWS})")
    add_sql(call, board, "mid", "select g, count(*) as n, sum(v) as s from top group by g")
    total = add_sql(call, board, "total", "select sum(n) as n, sum(s) as s from mid")

    answer = update_sql(call, board, top, f"select range + 3 as v, range % 7 as g from range({LARGE_ROWS})")

    assert len(answer["cascade"]["ran"]) == 3 and answer["cascade"]["failed"] == []
    rows = call("dashboard_block_data", dashboard_id=board, block_id=total)["rows"]
    expected = sum(range(LARGE_ROWS)) + 3 * LARGE_ROWS
    assert rows == [{"n": LARGE_ROWS, "s": expected}]
    # The same rows as the stored file of `top` gives to a run of its own.
    again = call("dashboard_run_block", dashboard_id=board, block_id=total)["run"]["rows"]
    assert again == rows
    current = ws.db.row("SELECT current_run_id FROM blocks WHERE id = ?", [top])
    assert current is not None
    top_run = stored_run(ws.paths.db, current["current_run_id"])
    assert top_run is not None
    path = ws.board_dir(board) / top_run["file"]
    assert pq.read_metadata(path).num_rows == LARGE_ROWS
    assert json.loads(top_run["output"])["content_hash"] == result_hash(pq.read_table(path))
    assert files_named_by_no_run(ws, board) == []


def record_runs(
    ws: Workspace, board: str
) -> tuple[list[tuple[str, str]], list[tuple[str, Row | None]], Callable[[], None]]:
    """From now on, the board's runs as announced: each `RunStarted`/`RunFinished` (kind, block
    name) in order, and each finished run's stored row at the moment it was announced (None: not
    stored yet); and how to stop recording."""
    order: list[tuple[str, str]] = []
    seen: list[tuple[str, Row | None]] = []

    def check(event: Event) -> None:
        if isinstance(event, RunStarted | RunFinished):
            order.append((type(event).__name__, event.block_name))
        if isinstance(event, RunFinished) and event.run_id:
            seen.append((event.block_name, stored_run(ws.paths.db, event.run_id)))

    return order, seen, ws.bus.subscribe(board, check)


def test_a_large_result_is_stored_with_its_complete_file_when_announced(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    top = add_sql(call, board, "top", f"select range as v from range({LARGE_ROWS})")
    add_sql(call, board, "n1", "select v + 1 as v from top")
    add_sql(call, board, "n2", "select sum(v) as s from n1")
    order, seen, unsubscribe = record_runs(ws, board)
    try:
        answer = update_sql(call, board, top, f"select range * 2 as v from range({LARGE_ROWS})")
    finally:
        unsubscribe()

    assert len(answer["cascade"]["ran"]) == 3
    assert [name for name, _ in seen] == ["top", "n1", "n2"]
    for name, run in seen:
        assert run is not None, f"{name} was announced before its run was stored"
        path = ws.board_dir(board) / run["file"]
        assert pq.read_metadata(path).num_rows == json.loads(run["output"])["row_count"]
        assert json.loads(run["output"])["content_hash"] == result_hash(pq.read_table(path))
    # Never announced as started before the block above it is announced finished.
    assert order == [
        ("RunStarted", "top"),
        ("RunFinished", "top"),
        ("RunStarted", "n1"),
        ("RunFinished", "n1"),
        ("RunStarted", "n2"),
        ("RunFinished", "n2"),
    ]


def test_a_block_run_early_that_proves_reusable_leaves_no_run_and_no_file(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    top = add_sql(call, board, "top", f"select range as v from range({LARGE_ROWS}) -- first")
    down = add_sql(call, board, "down", "select count(*) as n, sum(v) as s from top")
    runs_before = ws.db.rows("SELECT id FROM runs WHERE block_id = ?", [down])
    recorder = Events(ws, board)
    try:
        # Another text, the same rows: `top` runs again, and `down`, which may already have run on
        # its table while its file was written, finds its earlier run by fingerprint.
        answer = update_sql(call, board, top, f"select range as v from range({LARGE_ROWS}) -- second")
    finally:
        recorder.unsubscribe()

    assert answer["cascade"]["ran"] == [top]
    assert answer["cascade"]["reused"] == [down]
    assert ws.db.rows("SELECT id FROM runs WHERE block_id = ?", [down]) == runs_before
    assert files_named_by_no_run(ws, board) == []
    finished = [e for e in recorder.of("run_finished") if e["block_id"] == down]
    assert len(finished) == 1 and finished[0]["reused"] is True
    rows = call("dashboard_block_data", dashboard_id=board, block_id=down)["rows"]
    assert rows == [{"n": LARGE_ROWS, "s": sum(range(LARGE_ROWS))}]


def test_a_large_result_whose_types_do_not_survive_parquet_is_read_back_from_its_file(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    sql = "select ('2024-02-29 12:34:56.789'::TIMESTAMP_MS + to_milliseconds(range)) as c from range({})"
    up = add_sql(call, board, "up", sql.format(LARGE_ROWS))
    down = add_sql(
        call, board, "down", "select typeof(c) as t, max(c)::VARCHAR as v, count(*) as n from up group by t"
    )

    answer = update_sql(call, board, up, sql.format(LARGE_ROWS - 1))

    assert answer["cascade"]["ran"] == [up, down]
    in_cascade = call("dashboard_block_data", dashboard_id=board, block_id=down)["rows"]
    alone = call("dashboard_run_block", dashboard_id=board, block_id=down)["run"]["rows"]
    assert in_cascade == alone
    assert in_cascade[0]["n"] == LARGE_ROWS - 1 and in_cascade[0]["t"] == "TIMESTAMP"


def test_a_reuse_lookup_reads_one_index_entry_whatever_the_history(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    con = sqlite3.connect(ws.paths.db)
    try:
        plan = " ".join(
            str(row[3])
            for row in con.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM runs WHERE block_id = ? AND fingerprint = ? "
                "AND status = 'success' ORDER BY started_at DESC LIMIT 1",
                ["blk_x", "f"],
            )
        )
    finally:
        con.close()
    # Not `runs_by_block` (every run of the block, newest first, checked one by one).
    assert "runs_by_fingerprint (block_id=? AND fingerprint=? AND status=?)" in plan
    assert "TEMP B-TREE" not in plan


# -- the content hash is the result's, not its file's --------------------------


def test_a_results_hash_depends_on_its_rows_not_on_how_its_arrays_are_laid_out() -> None:
    values = pa.array([1, 2, 3], pa.int64())
    with_bitmap = pa.Array.from_buffers(
        pa.int64(), 3, [pa.py_buffer(b"\x07"), values.buffers()[1]], null_count=0
    )
    padded = pa.array([0, 1, 2, 3, 4], pa.int64()).slice(1, 3)
    strings = pa.array(["x", "a", "bb", "ccc"]).slice(1, 3)
    plain = pa.table({"v": values, "s": ["a", "bb", "ccc"]})

    assert result_hash(pa.table({"v": with_bitmap, "s": strings})) == result_hash(plain)
    assert result_hash(pa.table({"v": padded, "s": strings})) == result_hash(plain)
    assert result_hash(pa.table({"v": [1, 2, 4], "s": ["a", "bb", "ccc"]})) != result_hash(plain)
    assert result_hash(plain.rename_columns(["w", "s"])) != result_hash(plain)
    assert result_hash(plain.cast(pa.schema([("v", pa.int32()), ("s", pa.string())]))) != result_hash(plain)


def test_a_results_hash_covers_its_dictionaries() -> None:
    def labels(*words: str) -> pa.Table:
        return pa.table({"m": pa.DictionaryArray.from_arrays(pa.array([1, 0], pa.int8()), pa.array(words))})

    assert result_hash(labels("a", "b")) == result_hash(labels("a", "b"))
    assert result_hash(labels("a", "b")) != result_hash(labels("a", "c"))  # the same indices


def test_an_enum_whose_labels_changed_reruns_the_blocks_below(call: ToolClient, board: str) -> None:
    top = add_sql(call, board, "top", "SELECT 'b'::ENUM('a', 'b') AS m")
    below = add_sql(call, board, "below", "SELECT m::VARCHAR AS label FROM top")

    answer = update_sql(call, board, top, "SELECT 'c'::ENUM('a', 'c') AS m")  # index 1 again

    assert answer["cascade"]["ran"] == [top, below]
    rows = call("dashboard_block_data", dashboard_id=board, block_id=below)["rows"]
    assert rows == [{"label": "c"}]


def test_a_type_parquet_cannot_store_is_an_error_run_in_the_middle_of_a_chain(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    """A small result held in memory for the blocks below it is encoded later, on the writer's
    thread; one of a type Parquet cannot store is never held (`survives_parquet`), but written at
    once, so the refusal is its run's error and not the cascade's."""
    top = add_sql(call, board, "top", "SELECT 1 AS k")
    span = add_sql(call, board, "span", "SELECT (k::VARCHAR || ' day')::VARCHAR AS d FROM top")
    reader = add_sql(call, board, "reader", "SELECT * FROM span")
    update_sql(call, board, span, "SELECT to_days(k) AS d FROM top")

    answer = update_sql(call, board, top, "SELECT 2 AS k")

    cascade = answer["cascade"]
    assert cascade["ran"] == [top] and cascade["failed"] == [span]
    assert cascade["upstream_error"] == [reader]
    run = runs_of(ws, span)[-1]
    assert run["status"] == "error" and "INTERVAL" in run["error"].upper()
