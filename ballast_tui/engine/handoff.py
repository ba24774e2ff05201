"""Handing a block's output to the blocks downstream of it in the same cascade, in memory.

A persisted block's result streams from DuckDB into its Parquet file. While it
streams, its batches may be kept as an Arrow table, so that the blocks
downstream in the same cascade read that table instead of reading the file
back. Two conditions keep this invisible:

- the types: DuckDB must see exactly the column types in the Arrow table that
  it sees reading the Parquet file (`survives_parquet`); otherwise a block
  would see other types in a cascade than in any later run, which reads the
  file. Types outside the proven list (e.g. TIMESTAMP_MS, which Parquet gives
  back as TIMESTAMP, fixed-size lists, ENUMs, extension types) are read back
  from the file as before.
- the memory: tables kept by all cascades of the workspace together never pass
  `HANDOFF_BYTES` (`HandOffBudget`); a result too large for what is left is
  read back from its file. A cascade gives its share back when it ends.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ballast_tui.engine.output_writer import WriteAhead
from ballast_tui.lazy import lazy_module

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

HANDOFF_BYTES = 64 * 1024 * 1024
"""The memory all cascades of a workspace may hold in outputs handed on in memory, together."""


@functools.cache
def _plain_checks() -> tuple[Callable[[pa.DataType], bool], ...]:
    """The types DuckDB reads back unchanged, whatever their parameters (built on first use: pyarrow
    loads with the first Arrow table, not with this module)."""
    return (
        pa.types.is_integer,
        pa.types.is_floating,
        pa.types.is_boolean,
        pa.types.is_string,
        pa.types.is_large_string,
        pa.types.is_binary,
        pa.types.is_large_binary,
        pa.types.is_date32,
        pa.types.is_decimal128,
        pa.types.is_null,
    )


def _same_type(arrow_type: pa.DataType) -> bool:
    """Whether DuckDB reads `arrow_type` the same from an Arrow table and from its Parquet file."""
    if isinstance(arrow_type, pa.ExtensionType) or pa.types.is_dictionary(arrow_type):
        return False
    if pa.types.is_float16(arrow_type):
        return False
    if any(check(arrow_type) for check in _plain_checks()):
        return True
    if pa.types.is_timestamp(arrow_type):
        return str(arrow_type.unit) in ("us", "ns")  # seconds and milliseconds come back as microseconds
    if pa.types.is_time64(arrow_type):
        return str(arrow_type.unit) == "us"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return _same_type(arrow_type.value_type)
    if pa.types.is_struct(arrow_type):
        return _same_fields([arrow_type.field(i) for i in range(arrow_type.num_fields)])
    if pa.types.is_map(arrow_type):
        return _same_type(arrow_type.key_type) and _same_type(arrow_type.item_type)
    return False


def _same_fields(fields: list[pa.Field]) -> bool:
    names = [f.name.lower() for f in fields]
    if len(set(names)) != len(names):
        return False  # DuckDB renames duplicate columns when it reads a file
    return all(_same_type(f.type) for f in fields)


@functools.lru_cache(maxsize=256)
def survives_parquet(schema: pa.Schema) -> bool:
    """Whether DuckDB sees the same columns, with the same types, in a table of `schema` as in the
    Parquet file written from it (so the table may stand in for the file).

    Remembered by schema: a cascade asks twice a block, mostly of the same few schemas."""
    return _same_fields(list(schema))


class HandOffBudget:
    """The bytes of the workspace's outputs held in memory for their cascades, under a limit."""

    def __init__(self, limit: int = HANDOFF_BYTES) -> None:
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    def available(self) -> int:
        """How many bytes could be taken now."""
        with self._lock:
            return max(0, self.limit - self._used)

    def take(self, size: int) -> bool:
        """Reserve `size` bytes if they fit under the limit; whether they did."""
        with self._lock:
            if self._used + size > self.limit:
                return False
            self._used += size
            return True

    def give(self, size: int) -> None:
        """Return `size` bytes taken earlier."""
        with self._lock:
            self._used = max(0, self._used - size)


@dataclass(frozen=True)
class Written:
    """A result written to its Parquet file: its content hash, rows and schema, and the result
    itself when it was kept in memory (only where it reads the same as the file:
    `survives_parquet`).

    With `writing`, the file is still being written (on the writer's thread): the content hash
    is its future's, and `content_hash` is empty until then.
    """

    content_hash: str
    rows: int
    schema: pa.Schema
    table: pa.Table | None = None
    writing: WriteAhead | None = None


def take_batches(reader: Iterable[pa.RecordBatch], limit: int) -> tuple[list[pa.RecordBatch], bool]:
    """Batches from `reader` until they come to more than `limit` bytes; whether they are all of
    it (the rest, if any, is still in `reader`). With no `limit`, nothing is taken."""
    head: list[pa.RecordBatch] = []
    if limit <= 0:
        return head, False
    size = 0
    for batch in reader:
        head.append(batch)
        size += batch.get_total_buffer_size()
        if size > limit:
            return head, False
    return head, True
