"""A block's whole current output as CSV, Parquet or JSON, streamed batch by batch.

Not a tool (its answer is a file, not JSON): `ballast export` and the HTTP
export route call it with the caller's context, and it checks the role the
same way tools do.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import IO, Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ballast_tui.engine.data import current_output, jsonable
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.tools.common import load_block, load_board
from ballast_tui.tools.registry import Context

FORMATS = ("csv", "parquet", "json")
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "json": "application/json"}
BATCH_ROWS = 64_000


def export_block(ctx: Context, dashboard_id: str, block_ref: str, fmt: str, sink: IO[bytes]) -> int:
    """Write the block's whole current output to `sink` in `fmt`; return the number of rows."""
    if fmt not in FORMATS:
        raise InvalidRequest(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    board = load_board(ctx, dashboard_id, "view")
    block = load_block(ctx, board, block_ref)
    _run, output = current_output(ctx.ws, board.id, block)
    if output is None or output.path is None:
        raise InvalidRequest(f"block {block['name']!r} has no output to export (state: {block['state']})")
    if fmt == "parquet":
        with open(output.path, "rb") as source:
            shutil.copyfileobj(source, sink)
        return output.row_count
    batches = pq.ParquetFile(output.path).iter_batches(batch_size=BATCH_ROWS)
    if fmt == "csv":
        _write_csv(batches, pq.read_schema(output.path), sink)
    else:
        for chunk in json_chunks(batches):
            sink.write(chunk)
    return output.row_count


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
