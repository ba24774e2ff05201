"""Small outputs read straight from memory or from their Parquet file, without a DuckDB query.

The cells of a dashboard mostly show small outputs: a metric's row, a control's
value, a chart of a few hundred points. A DuckDB query has a fixed cost of
several milliseconds (a cursor, a view over the file, the statement check),
paid for every cell on every draw. An output of at most `SMALL_ROWS` rows whose
columns are all of plain types is read with pyarrow instead, giving the rows
the DuckDB query would give, in the same order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ballast_tui.engine.outputs import Output
from ballast_tui.lazy import lazy_module

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq
else:
    pa = lazy_module("pyarrow")
    pq = lazy_module("pyarrow.parquet")

SMALL_ROWS = 20_000
"""Outputs up to this many rows are read whole by pyarrow; larger ones are left to DuckDB."""


def plain_type(arrow_type: pa.DataType) -> bool:
    """Whether values of this type read, sort and convert alike in pyarrow and in DuckDB."""
    return (
        pa.types.is_integer(arrow_type)
        or pa.types.is_float64(arrow_type)
        or pa.types.is_float32(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_date32(arrow_type)
        or (pa.types.is_timestamp(arrow_type) and arrow_type.tz is None)
        or pa.types.is_decimal128(arrow_type)
        or pa.types.is_null(arrow_type)
    )


def small_table(output: Output, columns: list[str] | None = None) -> pa.Table | None:
    """The output's rows (only `columns`, when given) as an Arrow table, or None when it is too
    large or holds a type pyarrow and DuckDB would not give alike: then ask DuckDB."""
    names = output.column_names
    if output.row_count > SMALL_ROWS or len(set(names)) != len(names):
        return None
    if columns is not None and any(c not in names for c in columns):
        return None
    if output.table is not None:
        table = output.table if columns is None else output.table.select(columns)
    elif output.path is not None:
        # ParquetFile, not read_table: that one loads pyarrow's dataset and compute modules (0.1 s).
        with pq.ParquetFile(output.path) as file:
            table = file.read(columns=columns)
    else:
        return None
    if not all(plain_type(field.type) for field in table.schema):
        return None
    return table


def columns_of(table: pa.Table) -> dict[str, list[Any]]:
    """Each column's values as a Python list, by name."""
    return {name: table.column(name).to_pylist() for name in table.column_names}


def sorted_columns(columns: dict[str, list[Any]], by: str) -> dict[str, list[Any]]:
    """The rows ordered by column `by` as DuckDB's ORDER BY orders them: ascending, NaN after every
    number, NULL last; rows that tie keep their order. (In Python: the table is small, and pyarrow's
    sort would load its compute module.)"""
    keys = columns[by]

    def key(i: int) -> tuple[int, Any]:
        value = keys[i]
        if value is None:
            return (2, 0)
        if isinstance(value, float) and value != value:
            return (1, 0)
        return (0, value)

    order = sorted(range(len(keys)), key=key)
    return {name: [column[i] for i in order] for name, column in columns.items()}
