"""Arrow from the drivers, made plain for DuckDB and Parquet.

The PostgreSQL driver answers NUMERIC as an opaque extension type over its
text; DuckDB would read that as VARCHAR. It becomes a DECIMAL (precision and
scale from the column's type modifier, or from the values when the type has
none), or DOUBLE when it holds NaN or does not fit 38 digits. UUIDs stay
UUIDs (DuckDB and Parquet know them); other extension types (JSON, opaque)
become their storage type; driver metadata is dropped.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

MAX_DECIMAL_DIGITS = 38
# Canonical extension types of pyarrow >= 18 (absent before: then nothing arrives as them).
_OPAQUE: type | tuple[()] = getattr(pa, "OpaqueType", ())
_UUID: type | tuple[()] = getattr(pa, "UuidType", ())


def normalize(table: pa.Table) -> pa.Table:
    """`table` with plain Arrow types and no driver metadata."""
    fields: list[pa.Field] = []
    columns: list[pa.ChunkedArray] = []
    for index, field in enumerate(table.schema):
        column = table.column(index)
        if isinstance(field.type, _OPAQUE):
            column = _opaque(column, field)
        elif isinstance(field.type, pa.ExtensionType) and not isinstance(field.type, _UUID):
            column = _storage(column, field.type)
        fields.append(pa.field(field.name, column.type, field.nullable))
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _storage(column: pa.ChunkedArray, extension: pa.ExtensionType) -> pa.ChunkedArray:
    return pa.chunked_array([chunk.storage for chunk in column.chunks], type=extension.storage_type)


def _opaque(column: pa.ChunkedArray, field: pa.Field) -> pa.ChunkedArray:
    storage = _storage(column, field.type)
    if field.type.type_name != "numeric" or not pa.types.is_string(storage.type):
        return storage
    return _numeric(storage, _typmod(field))


def _typmod(field: pa.Field) -> tuple[int, int] | None:
    """(precision, scale) from PostgreSQL's type modifier, when the column declares them."""
    raw = (field.metadata or {}).get(b"POSTGRESQL:typmod")
    try:
        typmod = int(raw) if raw is not None else -1
    except ValueError:
        return None
    if typmod < 4:
        return None
    return ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF


def _numeric(text: pa.ChunkedArray, declared: tuple[int, int] | None) -> pa.ChunkedArray:
    """NUMERIC text as DECIMAL when every value fits one, else DOUBLE."""
    target = _decimal_type(text, declared)
    if target is not None:
        try:
            return pc.cast(text, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    return pc.cast(text, pa.float64())


def _decimal_type(text: pa.ChunkedArray, declared: tuple[int, int] | None) -> pa.DataType | None:
    if declared is not None:
        precision, scale = declared
        return pa.decimal128(precision, scale) if 0 < precision <= MAX_DECIMAL_DIGITS else None
    if len(text) == text.null_count:
        return pa.decimal128(MAX_DECIMAL_DIGITS, 0)
    unsigned = pc.replace_substring_regex(text, pattern="^[-+]", replacement="")
    dot = pc.find_substring(unsigned, ".")
    length = pc.utf8_length(unsigned)
    has_dot = pc.greater_equal(dot, 0)
    fraction = pc.if_else(has_dot, pc.subtract(pc.subtract(length, dot), 1), 0)
    whole = pc.if_else(has_dot, dot, length)
    scale = pc.max(fraction).as_py() or 0
    digits = pc.max(whole).as_py() or 0
    if scale + max(digits, 1) > MAX_DECIMAL_DIGITS:
        return None
    return pa.decimal128(MAX_DECIMAL_DIGITS, scale)
