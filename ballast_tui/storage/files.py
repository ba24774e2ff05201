"""Parquet files of a workspace: atomic writes and the cleanup of leftovers.

A file is written under a temporary name, fsynced, renamed into place, and the
directory fsynced, before the row that names it is committed. So a crash
leaves either nothing or a complete file no row names yet, which `sweep`
removes at the next start. A cascade writes its outputs with `durable=False`
(renamed into place, not yet fsynced) and makes them durable together with
`make_durable` before it commits the rows that name them (group commit): a
crash in between leaves files no row names, swept the same way. A result
handed on in memory is encoded and written on a writer thread while the
cascade goes on (`encode_table`, `place_synced`): the file fsynced there, its
directory left to `make_durable`; a small one is written there without fsync,
its bytes made durable with the rows of its group, journaled in the database
(`storage.journal`); the other files of a group are fsynced on that thread as
they come (`fsync_file`), so that at the commit only their directory is left.
Files are 0600 and the directories made for them 0700, whatever the umask
(`private`).

A result's content hash, which the fingerprints of the blocks below it hold, is
that of its Arrow data (`ResultDigest`), not of its file's bytes: it is known
before the file is encoded, and the same whichever way, with whichever codec or
Parquet writer, the file is written. The hash of a file's bytes (`file_hash`,
`content_hash_of`) is what the journal checks a file against.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ballast_tui.lazy import lazy_module
from ballast_tui.storage.private import fsync_dir, make_dirs, open_private

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq
else:
    pa = lazy_module("pyarrow")
    pq = lazy_module("pyarrow.parquet")

__all__ = [
    "SMALL_OUTPUT_BYTES",
    "TMP_SUFFIX",
    "ResultDigest",
    "codec_for",
    "content_hash_of",
    "dictionary_columns",
    "encode_table",
    "file_hash",
    "fsync_dir",
    "fsync_file",
    "make_durable",
    "parquet_bytes",
    "parquet_options",
    "place_synced",
    "result_hash",
    "statistics_columns",
    "sweep",
    "write_parquet_atomic",
    "write_stream_atomic",
]

TMP_SUFFIX = ".tmp"
_HASH_CHUNK = 1 << 20
SMALL_OUTPUT_BYTES = 64 * 1024
"""A result whose Arrow buffers hold less than this is compressed with snappy, a larger one with
zstd (`codec_for`)."""


def codec_for(nbytes: int) -> str:
    """The Parquet codec of a result holding `nbytes` in Arrow.

    zstd's setup costs a small result more than it saves: a one-row table encodes in about 225 µs
    with zstd and 135 µs with snappy right after a DuckDB query (its caches cold), and neither
    makes its file smaller. The choice depends on the result alone, so one result is written as
    the same bytes whichever way it is written.
    """
    return "snappy" if nbytes < SMALL_OUTPUT_BYTES else "zstd"


def parquet_options(schema: pa.Schema, nbytes: int, *, all_statistics: bool = False) -> dict[str, Any]:
    """How a result of `nbytes` in Arrow is encoded: its codec (`codec_for`), the columns given
    statistics (`statistics_columns`; with `all_statistics`, every column: an imported source, which
    the blocks filter, text columns included) and the columns dictionary-encoded
    (`dictionary_columns`). Each depends on the result alone, so one result is written as the same
    bytes whichever way it is written."""
    statistics: bool | list[str] = True if all_statistics else statistics_columns(schema)
    return {
        "compression": codec_for(nbytes),
        "write_statistics": statistics,
        "use_dictionary": dictionary_columns(schema),
    }


def statistics_columns(schema: pa.Schema) -> list[str]:
    """The columns whose min/max statistics a result's file keeps: numbers, decimals, dates, times
    and booleans, with which a reader skips row groups and picks a perfect hash aggregate.

    Not text or binary columns: their min and max took a third of the encoding of a result grouped
    by four text columns (the 1M chain's `daily_cat`, 48k rows: 19 ms with them, 13 ms without),
    on the writer's thread that the blocks below wait for, and nothing reads them. Not nested
    columns either.
    """
    return [field.name for field in schema if _has_cheap_statistics(field.type)]


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """The columns a result's file dictionary-encodes: all top-level columns but floating-point ones
    (a nested column's leaves are named by their paths, so they get none).

    A float column is a measure (a revenue, an average), its values nearly all distinct: its
    dictionary holds every value and saves nothing. Building it took half of the encoding of the
    1M chain's `daily_cat` (48k rows: 3.7 ms of 11 ms for its `revenue` column, 1.9 ms without),
    on the writer's thread the cascade's commit waits for, and the file came out 17% larger.
    """
    return [field.name for field in schema if not pa.types.is_floating(field.type)]


def _has_cheap_statistics(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_temporal(kind)
        or pa.types.is_boolean(kind)
    )


def write_parquet_atomic(
    table: pa.Table, path: Path, *, durable: bool = True, all_statistics: bool = False
) -> str:
    """Write `table` to `path` atomically; return its content hash (`result_hash`).

    With `durable=False` the file is complete and in place but not fsynced: the caller makes it
    durable (`make_durable`) before any row names it. `all_statistics` as for `parquet_options`.
    """
    make_dirs(path.parent)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    try:
        with open_private(tmp) as sink:
            options = parquet_options(
                table.schema, table.get_total_buffer_size(), all_statistics=all_statistics
            )
            pq.write_table(table, sink, **options)
            sink.flush()
            if durable:
                os.fsync(sink.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    if durable:
        fsync_dir(path.parent)
    return result_hash(table)


def write_stream_atomic(
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    path: Path,
    *,
    durable: bool = True,
    all_statistics: bool = False,
) -> tuple[str, int]:
    """Write record batches to `path` atomically without holding them all; return their content
    hash (`ResultDigest`) and row count.

    `durable=False` and `all_statistics` as for `write_parquet_atomic`.
    """
    make_dirs(path.parent)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    rows = 0
    head, nbytes, rest = _small_head(iter(batches))
    digest = ResultDigest(schema)
    try:
        with open_private(tmp) as sink:
            options = parquet_options(schema, nbytes, all_statistics=all_statistics)
            with pq.ParquetWriter(sink, schema, **options) as writer:
                for batch in itertools.chain(head, rest):
                    rows += batch.num_rows
                    writer.write_batch(batch)
                    digest.update(batch)
            sink.flush()
            if durable:
                os.fsync(sink.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    if durable:
        fsync_dir(path.parent)
    return digest.hexdigest(), rows


def _small_head(
    batches: Iterator[pa.RecordBatch],
) -> tuple[list[pa.RecordBatch], int, Iterator[pa.RecordBatch]]:
    """The first batches, up to `SMALL_OUTPUT_BYTES` of them (all of a small result), their size
    (`SMALL_OUTPUT_BYTES` or more when the result is not small), and the batches after them."""
    head: list[pa.RecordBatch] = []
    nbytes = 0
    for batch in batches:
        head.append(batch)
        nbytes += batch.get_total_buffer_size()
        if nbytes >= SMALL_OUTPUT_BYTES:
            break
    return head, nbytes, batches


def encode_table(table: pa.Table) -> tuple[pa.Buffer, str]:
    """`table` encoded as a Parquet file in memory (`parquet_bytes`), and the hash of those bytes
    (`content_hash_of`; the journal checks a file against it). The result's own content hash is
    `result_hash`."""
    encoded = parquet_bytes(table)
    return encoded, content_hash_of(encoded)


def parquet_bytes(table: pa.Table) -> pa.Buffer:
    """`table` encoded as a Parquet file in memory: the bytes `write_stream_atomic` writes for the
    table's batches (a row group per batch)."""
    sink = pa.BufferOutputStream()
    options = parquet_options(table.schema, table.get_total_buffer_size())
    with pq.ParquetWriter(sink, table.schema, **options) as writer:
        for batch in table.to_batches():
            writer.write_batch(batch)
    return sink.getvalue()


def content_hash_of(data: pa.Buffer | bytes | memoryview) -> str:
    """The hash of a file holding these bytes (`file_hash`'s, without the file)."""
    return hashlib.blake2b(memoryview(data), digest_size=20).hexdigest()


class ResultDigest:
    """The content hash of a result: sha256 over its Arrow IPC messages, its schema's and then each
    batch's, in order (the blocks below it put it in their fingerprints).

    sha256, not blake2b: with the SHA extensions of today's CPUs it hashes twice as fast (a 3.8 MB
    grouped result in 2.1 ms, against 3.8 ms), on the writer's thread the cascade's commit waits for.

    It depends on the result alone, not on how its file is encoded, so it is known before the file
    is written: a table handed on in memory is hashed in about 25 µs right after its query, where
    encoding it as Parquet took about 150 µs, and the encoding goes to the writer's thread. A
    result is hashed the same way whichever way its file is written (`result_hash`,
    `write_stream_atomic`). A schema with dictionaries (DuckDB's ENUM) is hashed as an IPC stream,
    whose messages carry the dictionaries too.
    """

    def __init__(self, schema: pa.Schema) -> None:
        self._digest = hashlib.sha256()
        self._stream: pa.ipc.RecordBatchStreamWriter | None = None
        if _holds_dictionary(schema):
            self._stream = pa.ipc.new_stream(_DigestSink(self._digest), schema)
        else:
            self._digest.update(schema.serialize())

    def update(self, batch: pa.RecordBatch) -> None:
        if self._stream is not None:
            self._stream.write_batch(batch)
        else:
            self._digest.update(batch.serialize())

    def hexdigest(self) -> str:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        return self._digest.hexdigest()


def result_hash(table: pa.Table) -> str:
    """The content hash of a result held whole (`ResultDigest`)."""
    digest = ResultDigest(table.schema)
    for batch in table.to_batches():
        digest.update(batch)
    return digest.hexdigest()


class _DigestSink:
    """A write-only file that only hashes what is written to it."""

    closed = False

    def __init__(self, digest: hashlib._Hash) -> None:
        self._digest = digest

    def write(self, data: bytes | memoryview) -> int:
        self._digest.update(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def _holds_dictionary(schema: pa.Schema) -> bool:
    """Whether a column of `schema`, at any depth, is dictionary-encoded."""
    types = list(schema.types)
    while types:
        kind = types.pop()
        if pa.types.is_dictionary(kind):
            return True
        types.extend(kind.field(i).type for i in range(kind.num_fields))
    return False


def place_synced(encoded: pa.Buffer | bytes, path: Path, *, sync: bool = True) -> None:
    """Write the bytes `encode_table` made to `path` atomically, the file fsynced (its directory
    not: `make_durable` with `synced`). With `sync=False` the file is not fsynced either: its
    bytes are made durable otherwise (`storage.journal`)."""
    make_dirs(path.parent)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    try:
        with open_private(tmp) as out:
            out.write(memoryview(encoded))
            out.flush()
            if sync:
                os.fsync(out.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def fsync_file(path: Path) -> None:
    """fsync the file at `path` (its bytes; its name is its directory's: `fsync_dir`)."""
    fsync_dir(path)  # the same call: open the path read-only and fsync it


def make_durable(paths: Iterable[Path], synced: Iterable[Path] = (), *, missing_ok: bool = False) -> None:
    """fsync each file of `paths`, then the directories of `paths` and `synced` once each (their
    renames). With `missing_ok`, a file or directory gone meanwhile (its board deleted) needs none.

    What `write_*_atomic(durable=False)` left to do (and, for `synced` files, fsynced already, what
    `place_synced` or `fsync_file` left), done for many files at once.
    """
    gone = (FileNotFoundError, NotADirectoryError) if missing_ok else ()
    directories: dict[Path, None] = dict.fromkeys(path.parent for path in synced)
    for path in paths:
        with contextlib.suppress(*gone):
            fsync_file(path)
        directories[path.parent] = None
    for directory in directories:
        with contextlib.suppress(*gone):
            fsync_dir(directory)


def file_hash(path: Path) -> str:
    """The blake2b digest of a file's bytes."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as source:
        while chunk := source.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


SWEEP_MIN_AGE_S = 120.0


def sweep(data_dir: Path, referenced: set[str], min_age_s: float = SWEEP_MIN_AGE_S) -> list[Path]:
    """Remove temporary files, and Parquet files no row names, under `data_dir`; return what went.

    `referenced` holds paths relative to `data_dir` (``<board_id>/<file>``). Only
    files older than `min_age_s` go: another live process on the workspace (a
    server, a second `ballast`) may be between writing a file and committing
    the row that names it.
    """
    removed: list[Path] = []
    if not data_dir.exists():
        return removed
    cutoff = time.time() - min_age_s
    for path in data_dir.rglob("*"):
        try:
            stat = path.stat()
        except OSError:
            continue
        if not path.is_file() or stat.st_mtime > cutoff:
            continue
        relative = path.relative_to(data_dir).as_posix()
        if path.name.endswith(TMP_SUFFIX) or (path.suffix == ".parquet" and relative not in referenced):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
