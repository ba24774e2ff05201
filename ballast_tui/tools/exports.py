"""A block's whole current output as CSV, Parquet or JSON, streamed batch by batch.

Not a tool (its answer is a file, not JSON): `ballast export` and the HTTP
export route call it with the caller's context, and it checks the role the
same way tools do. With `filter_overrides` the block is computed for this call
alone (nothing stored, as `dashboard_run_block` does) and that output is written.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from typing import IO, Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ballast_tui.engine.data import current_output, jsonable
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.outputs import Output
from ballast_tui.storage import repos
from ballast_tui.tools.common import Board, board_graph, load_block, load_board
from ballast_tui.tools.public import compute_with_overrides, resolve_overrides
from ballast_tui.tools.registry import Context

FORMATS = ("csv", "parquet", "json")
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "json": "application/json"}
BATCH_ROWS = 64_000


def export_block(
    ctx: Context,
    dashboard_id: str,
    block_ref: str,
    fmt: str,
    sink: IO[bytes],
    *,
    filter_overrides: dict[str, Any] | None = None,
    on_start: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Write the block's whole current output to `sink` in `fmt`; return the number of rows.

    `on_start` is called with the block, once every check passed and before
    the first byte is written (an HTTP route sets its headers then).
    """
    if fmt not in FORMATS:
        raise InvalidRequest(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    board = load_board(ctx, dashboard_id, "view")
    block = load_block(ctx, board, block_ref)
    if filter_overrides is not None:
        output = _overridden_output(ctx, board, block, filter_overrides)
    else:
        _run, current = current_output(ctx.ws, board.id, block)
        if current is None or current.path is None:
            raise InvalidRequest(f"block {block['name']!r} has no output to export (state: {block['state']})")
        output = current
    if on_start is not None:
        on_start(block)
    if fmt == "parquet":
        if output.table is None and output.path is not None:
            with open(output.path, "rb") as source:
                shutil.copyfileobj(source, sink)
        else:
            _write_parquet(_batches(output), _schema(output), sink)
        return output.row_count
    if fmt == "csv":
        _write_csv(_batches(output), _schema(output), sink)
    else:
        for chunk in json_chunks(_batches(output)):
            sink.write(chunk)
    return output.row_count


def _overridden_output(
    ctx: Context, board: Board, block: dict[str, Any], filter_overrides: dict[str, Any]
) -> Output:
    """The block's output with the overrides bound for this call alone; nothing is stored."""
    blocks = repos.blocks(ctx.ws.db, board.id)
    overrides = resolve_overrides(blocks, filter_overrides)
    g = board_graph(ctx, board.id, blocks)
    result = compute_with_overrides(ctx.ws, board.id, g, overrides, [block["id"]], ctx.user.id)
    if block["id"] in result.outputs:
        return result.outputs[block["id"]]
    if block["id"] in result.failed or block["id"] in result.upstream_error:
        error = result.errors.get(block["id"], "an upstream block failed")
        raise InvalidRequest(f"block {block['name']!r} failed with these filter_overrides: {error}")
    # Not downstream of any overridden control: its current output is the answer.
    _run, output = current_output(ctx.ws, board.id, block)
    if output is None:
        raise InvalidRequest(f"block {block['name']!r} has no output to export (state: {block['state']})")
    return output


def _schema(output: Output) -> pa.Schema:
    if output.table is not None:
        return output.table.schema
    assert output.path is not None
    return pq.read_schema(output.path)


def _batches(output: Output) -> Iterator[pa.RecordBatch]:
    """The output batch by batch, from memory or from its Parquet file."""
    if output.table is not None:
        yield from output.table.to_batches(max_chunksize=BATCH_ROWS)
        return
    assert output.path is not None
    yield from pq.ParquetFile(output.path).iter_batches(batch_size=BATCH_ROWS)


def _write_parquet(batches: Iterator[pa.RecordBatch], schema: pa.Schema, sink: IO[bytes]) -> None:
    with pq.ParquetWriter(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)


def _write_csv(batches: Iterator[pa.RecordBatch], schema: pa.Schema, sink: IO[bytes]) -> None:
    with pacsv.CSVWriter(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)


def json_chunks(batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    """A JSON array of row objects, one chunk per batch, never the whole output at once."""
    yield b"["
    first = True
    for batch in batches:
        rows: list[dict[str, Any]] = batch.to_pylist()
        if not rows:
            continue
        text = ",".join(json.dumps({k: jsonable(v) for k, v in row.items()}) for row in rows)
        yield (text if first else "," + text).encode()
        first = False
    yield b"]"
