"""The catalog's data: imported files and pushed tables become Parquet sources.

Files are read by DuckDB inside the board's sandbox (its CSV and JSON readers
sniff types better than hand-written code), streamed into a new Parquet file,
and only then is the source row written.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.executor import QueryError
from ballast_tui.engine.ids import new_id, random_base36
from ballast_tui.engine.outputs import describe_schema
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage.files import TMP_SUFFIX, write_parquet_atomic, write_stream_atomic
from ballast_tui.storage.private import make_dirs, open_private

READERS = {
    "csv": "read_csv_auto",
    "tsv": "read_csv_auto",
    "json": "read_json_auto",
    "parquet": "read_parquet",
}
"""The formats DuckDB reads (`xlsx` is read by `ballast_tui.engine.xlsx`)."""
IMPORTED = (*READERS, "xlsx")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def decode_base64(content: str, what: str) -> bytes:
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"{what} is not valid base64") from None


def import_path(ws: Workspace, requested: str) -> Path:
    """A server-side path, refused unless it is a file inside the workspace's import directory."""
    root = ws.paths.imports.resolve()
    if "\x00" in requested:
        raise InvalidRequest("an import path cannot contain a NUL character")
    try:
        path = (root / requested).resolve() if not os.path.isabs(requested) else Path(requested).resolve()
        if not path.is_relative_to(root):
            raise InvalidRequest(f"imports are read only from {root}; {requested!r} is outside it")
        if not path.is_file():
            raise InvalidRequest(f"no file {requested!r} in the import directory")
    except OSError as error:  # e.g. a name too long for the file system
        raise InvalidRequest(f"cannot read {requested!r}: {error.strerror or error}") from None
    return path


def _reader_sql(path: Path, file_format: str) -> str:
    """The DuckDB call that reads `path` as `file_format` (gzip found by its first bytes, not its name)."""
    with open(path, "rb") as head:
        gzipped = head.read(2) == b"\x1f\x8b"
    options = ", compression = 'gzip'" if gzipped and file_format != "parquet" else ""
    if file_format == "tsv":
        options += ", delim = '\t'"
    return f"SELECT * FROM {READERS[file_format]}({_literal(str(path))}{options})"


def read_file_to_source(
    ws: Workspace,
    board_id: str,
    path: Path,
    file_format: str,
    *,
    sheet: str | None = None,
    shown: str | None = None,
) -> tuple[str, str, int, list[dict[str, str]]]:
    """Read a CSV/TSV (gzipped or not), JSON, Parquet or Excel file into a new source Parquet file:
    (file, hash, rows, columns). Errors name the file as `shown` (what the caller gave), never by
    the path it was staged at."""
    shown = shown or path.name
    if path.stat().st_size == 0:
        raise InvalidRequest(f"{shown} is empty")
    if file_format == "xlsx":
        from ballast_tui.engine.xlsx import read_sheet

        return write_table_source(ws, board_id, read_sheet(path, sheet, shown))
    if sheet is not None:
        raise InvalidRequest(f"sheet is for Excel workbooks (xlsx), not {file_format} files")
    file_name = f"src_{random_base36(12)}.parquet"
    target = ws.board_dir(board_id) / file_name

    def convert(cursor: Any) -> tuple[str, int, pa.Schema]:
        reader = cursor.sql(_reader_sql(path, file_format)).to_arrow_reader()
        content_hash, rows = write_stream_atomic(reader, reader.schema, target, all_statistics=True)
        return content_hash, rows, reader.schema

    try:
        content_hash, rows, schema = ws.executor.with_connection(board_id, convert)
    except QueryError as error:
        target.unlink(missing_ok=True)
        message = str(error).replace(str(path), shown).replace(path.name, shown)
        raise InvalidRequest(f"could not read {shown} as {file_format}: {message}") from None
    return file_name, content_hash, rows, describe_schema(schema)


def import_content(
    ws: Workspace, board_id: str, content: bytes, file_format: str, *, sheet: str | None = None
) -> tuple[str, str, int, list[dict[str, str]]]:
    """Like `read_file_to_source`, for uploaded bytes (kept in a temporary file inside the board's data)."""
    board_dir = ws.board_dir(board_id)
    make_dirs(board_dir)
    staging = board_dir / f"upload_{random_base36(12)}.{file_format}{TMP_SUFFIX}"
    try:
        with open_private(staging) as file:
            file.write(content)
        return read_file_to_source(ws, board_id, staging, file_format, sheet=sheet, shown="the uploaded file")
    finally:
        staging.unlink(missing_ok=True)


def rows_to_table(rows: list[Any]) -> pa.Table:
    """A list of JSON objects as an Arrow table, types inferred per column."""
    if not rows:
        raise InvalidRequest("rows is empty: push at least one row")
    if not all(isinstance(r, dict) for r in rows):
        raise InvalidRequest("rows must be a list of objects keyed by column name")
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise InvalidRequest(f"rows have values of mixed types in one column: {error}") from None


def arrow_to_table(content: bytes) -> pa.Table:
    """An Arrow IPC stream as a table."""
    try:
        return pa.ipc.open_stream(content).read_all()
    except (pa.ArrowInvalid, OSError) as error:
        raise InvalidRequest(f"arrow is not an Arrow IPC stream: {error}") from None


def write_table_source(
    ws: Workspace, board_id: str, table: pa.Table
) -> tuple[str, str, int, list[dict[str, str]]]:
    file_name = f"src_{random_base36(12)}.parquet"
    try:
        content_hash = write_parquet_atomic(table, ws.board_dir(board_id) / file_name, all_statistics=True)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as error:
        # e.g. an empty object as a value: a struct without fields, which Parquet cannot hold
        raise InvalidRequest(f"these rows cannot be stored as a table: {error}") from None
    return file_name, content_hash, table.num_rows, describe_schema(table.schema)


def appended(ws: Workspace, board_id: str, existing: Path, table: pa.Table) -> pa.Table:
    """The existing source with `table` appended, matching columns by name.

    Like an ``INSERT INTO`` the source: the rows must have exactly the source's
    columns, and their values are cast to the source's column types (refused
    when they cannot be). Appending never adds, drops or retypes a column, since
    the source's readers depend on them; push with `replace` to change them.
    """
    old_names = set(pq.read_schema(existing).names)
    new_names = set(table.column_names)
    if new_names != old_names:
        problems = []
        if old_names - new_names:
            problems.append("missing " + ", ".join(sorted(old_names - new_names)))
        if new_names - old_names:
            problems.append("not in the source: " + ", ".join(sorted(new_names - old_names)))
        raise InvalidRequest(
            f"the rows do not fit the existing source ({'; '.join(problems)}); "
            "append rows with the same columns, or push with mode 'replace'"
        )

    def combine(cursor: Any) -> pa.Table:
        cursor.execute(
            f"CREATE OR REPLACE TEMP VIEW __old AS SELECT * FROM read_parquet({_literal(str(existing))})"
        )
        cursor.register("__new", table)
        # A column of nothing but nulls has no type yet: the appended values give it one.
        casts = ", ".join(
            f"__new.{_ident(name)}"
            if column_type.strip('"').upper() == "NULL"
            else f"CAST(__new.{_ident(name)} AS {column_type}) AS {_ident(name)}"
            for name, column_type, *_ in cursor.execute("DESCRIBE __old").fetchall()
        )
        return cursor.sql(f"SELECT * FROM __old UNION ALL SELECT {casts} FROM __new").to_arrow_table()

    try:
        return ws.executor.with_connection(board_id, combine)
    except QueryError as error:
        raise InvalidRequest(f"the rows do not fit the existing source's column types: {error}") from None


def source_id() -> str:
    return new_id("src")
