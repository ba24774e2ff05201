"""A block's whole output written as CSV, Parquet or JSON, batch by batch, never whole in memory.

`write_output` is the format part of the `export_block` tool: it takes an
`Output` (a Parquet file, or an in-memory table computed under overrides) and
writes it to a binary file (in CSV, lists, structs and maps as JSON text).
Where the bytes go is the caller's: an
`ExportSink` (the CLI's file, the HTTP route's stream, the TUI's file) is
asked for its file only once every check has passed, so a refused export
writes nothing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.json_values import jsonable
from ballast_tui.engine.outputs import Output
from ballast_tui.storage.private import open_private

FORMATS = ("csv", "parquet", "json")
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "json": "application/json"}
BATCH_ROWS = 64_000
ROWS_HEADER = "X-Ballast-Rows"
"""The HTTP export's header saying how many rows it streams."""


class ExportSink(Protocol):
    """Where an export's bytes go."""

    def begin(self, name: str, fmt: str, rows: int) -> IO[bytes]:
        """Every check passed: the binary file to write block `name`'s output (`rows` rows) into, as
        `fmt`."""
        ...


def write_output(output: Output, fmt: str, sink: IO[bytes]) -> int:
    """Write `output` to `sink` in `fmt` (csv, parquet or json); the number of rows."""
    if fmt == "parquet":
        if output.table is None and output.path is not None:
            with open(output.path, "rb") as source:
                shutil.copyfileobj(source, sink)
        else:
            with pq.ParquetWriter(sink, schema_of(output)) as writer:
                for batch in batches(output):
                    writer.write_batch(batch)
    elif fmt == "csv":
        schema = csv_schema(schema_of(output))
        with pacsv.CSVWriter(sink, schema) as writer:
            for batch in batches(output):
                writer.write_batch(csv_ready(batch, schema))
    else:
        for chunk in json_chunks(batches(output)):
            sink.write(chunk)
    return output.row_count


def _nested(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_list(kind)
        or pa.types.is_large_list(kind)
        or pa.types.is_fixed_size_list(kind)
        or pa.types.is_struct(kind)
        or pa.types.is_map(kind)
        or pa.types.is_union(kind)
    )


def csv_schema(schema: pa.Schema) -> pa.Schema:
    """The schema a CSV file can hold: lists, structs and maps become JSON text."""
    return pa.schema(
        [pa.field(f.name, pa.string()) if _nested(f.type) else f for f in schema], metadata=schema.metadata
    )


def csv_ready(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` with its list, struct and map columns as JSON text (nulls stay empty)."""
    if all(not _nested(column.type) for column in batch.columns):
        return batch
    columns = [_as_json_text(column) if _nested(column.type) else column for column in batch.columns]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _as_json_text(column: pa.Array) -> pa.Array:
    """A nested column as JSON text; a map becomes an object of its keys."""
    is_map = pa.types.is_map(column.type)
    values = [
        None if v is None else json.dumps({str(k): jsonable(x) for k, x in v} if is_map else jsonable(v))
        for v in column.to_pylist()
    ]
    return pa.array(values, pa.string())


def schema_of(output: Output) -> pa.Schema:
    if output.table is not None:
        return output.table.schema
    assert output.path is not None
    return pq.read_schema(output.path)


def batches(output: Output) -> Iterator[pa.RecordBatch]:
    """The output batch by batch, from memory or from its Parquet file."""
    if output.table is not None:
        yield from output.table.to_batches(max_chunksize=BATCH_ROWS)
        return
    assert output.path is not None
    yield from pq.ParquetFile(output.path).iter_batches(batch_size=BATCH_ROWS)


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


class FileSink:
    """An `ExportSink` into a file: nothing is written to `target` until `commit`.

    `begin` opens a temporary file beside the target (so the rename stays on one
    file system); `commit` flushes it to disk and renames it over the target;
    `discard` removes it. A failed or refused export leaves an existing target
    untouched. The file is owner-only (0600) wherever it goes, like every file
    of the workspace its data comes from: sharing it is its owner's choice.
    """

    def __init__(self, target: Path) -> None:
        """400 `invalid_request` (nothing written) when `target` cannot be written: its folder is
        missing or not writable, or it names a folder."""
        self.target = target
        folder = target.parent
        if not folder.is_dir():
            raise InvalidRequest(f"cannot write {target}: there is no folder {folder}")
        if target.is_dir():
            raise InvalidRequest(f"cannot write {target}: it is a folder")
        if not os.access(folder, os.W_OK):
            raise InvalidRequest(f"cannot write {target}: the folder {folder} is not writable")
        self.temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
        self._file: IO[bytes] | None = None

    def begin(self, name: str, fmt: str, rows: int) -> IO[bytes]:
        self._file = open_private(self.temporary, "xb")
        return self._file

    def commit(self) -> None:
        """Make the written file the target (atomically)."""
        if self._file is None:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.temporary, self.target)

    def discard(self) -> None:
        """Remove what was written, if anything."""
        if self._file is not None and not self._file.closed:
            self._file.close()
        self.temporary.unlink(missing_ok=True)


class StreamSink:
    """An `ExportSink` onto an open binary stream (standard output)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream

    def begin(self, name: str, fmt: str, rows: int) -> IO[bytes]:
        return self.stream
