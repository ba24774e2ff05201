"""What each block type computes from its upstream outputs, and how outputs are described."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ballast_tui.engine.blocks import CONTROL_TYPES, DATERANGE, chart_columns, resolve_daterange
from ballast_tui.engine.executor import Executor, QueryError, Relation, TableWriter
from ballast_tui.engine.output_writer import WriteAhead
from ballast_tui.lazy import lazy_module

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq
else:
    pa = lazy_module("pyarrow")
    pq = lazy_module("pyarrow.parquet")

_SIMPLE_TYPES = {
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "uint8": "UTINYINT",
    "uint16": "USMALLINT",
    "uint32": "UINTEGER",
    "uint64": "UBIGINT",
    "float": "FLOAT",
    "halffloat": "FLOAT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "string": "VARCHAR",
    "large_string": "VARCHAR",
    "string_view": "VARCHAR",
    "binary": "BLOB",
    "large_binary": "BLOB",
    "date32[day]": "DATE",
    "null": "NULL",
    "extension<arrow.uuid>": "UUID",
}


def sql_type_name(arrow_type: pa.DataType) -> str:
    """A DuckDB-style name for an Arrow type, as users see column types."""
    text = str(arrow_type)
    if text in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[text]
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP WITH TIME ZONE" if arrow_type.tz else "TIMESTAMP"
    if pa.types.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_time(arrow_type):
        return "TIME"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"{sql_type_name(arrow_type.value_type)}[]"
    if pa.types.is_struct(arrow_type):
        return "STRUCT"
    if pa.types.is_dictionary(arrow_type):
        return sql_type_name(arrow_type.value_type)
    return text.upper()


def describe_schema(schema: pa.Schema) -> list[dict[str, str]]:
    """The contract's `columns`: a list of ``{"name", "type"}``."""
    return [{"name": f.name, "type": sql_type_name(f.type)} for f in schema]


@dataclass
class Output:
    """A block's or a source's output: in memory, in a Parquet file, or both."""

    content_hash: str
    row_count: int
    columns: list[dict[str, str]]
    path: Path | None = None
    table: pa.Table | None = None
    run_id: str | None = None
    writing: WriteAhead | None = None
    """While its file is still being written (`output_writer`): the file's content hash to come;
    `content_hash` is empty until the cascade settles it."""

    @property
    def relation(self) -> Relation:
        if self.table is not None:
            return self.table
        assert self.path is not None
        return self.path

    @property
    def column_names(self) -> list[str]:
        return [c["name"] for c in self.columns]

    def summary(self) -> dict[str, Any]:
        return {"row_count": self.row_count, "columns": self.columns, "content_hash": self.content_hash}


def output_of_file(path: Path, content_hash: str, run_id: str | None = None) -> Output:
    """An Output for an existing Parquet file (row count and schema from its footer)."""
    meta = pq.read_metadata(path)
    return Output(
        content_hash, meta.num_rows, describe_schema(meta.schema.to_arrow_schema()), path=path, run_id=run_id
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _require_columns(block: Mapping[str, Any], source: Output, wanted: list[str]) -> None:
    missing = [c for c in wanted if c not in source.column_names]
    if missing:
        raise QueryError(
            f"{block['config']['source']!r} has no column {', '.join(repr(m) for m in missing)} "
            f"(its columns: {', '.join(source.column_names) or 'none'})"
        )


def source_query(block: Mapping[str, Any]) -> str:
    """The SELECT a chart, table or metric block makes of its `source` (for a connected table,
    which is read through SQL like any block's query)."""
    config = block["config"]
    source = ".".join(_ident(part) for part in config["source"].split("."))
    if block["type"] == "chart":
        return f"SELECT {', '.join(_ident(c) for c in chart_columns(config))} FROM {source}"
    if block["type"] == "metric":
        return f"SELECT {_ident(config['column'])} FROM {source} LIMIT 1"
    columns = config.get("columns")
    return f"SELECT {', '.join(_ident(c) for c in columns) if columns else '*'} FROM {source}"


def control_table(block_type: str, value: Any, today: Any) -> pa.Table:
    """A control's output: its value, and for a date range both resolved ends."""
    columns: dict[str, list[Any]] = {"value": [json.dumps(value, sort_keys=True)]}
    if block_type == DATERANGE:
        start, end = resolve_daterange(value, today)
        columns["start"], columns["end"] = [start], [end]
    return pa.table(columns)


def compute(
    executor: Executor,
    board_id: str,
    block: Mapping[str, Any],
    inputs: Mapping[str, Output],
    bound: Mapping[str, Any],
    value: Any,
    today: Any,
    into: Path | None = None,
    *,
    durable: bool = True,
    keep_bytes: int = 0,
    writer: TableWriter | None = None,
    single: bool = False,
) -> pa.Table | Output:
    """Run one block: an Arrow table, or an upstream Output reused as it is (a plain table view).

    `inputs` maps the names the block reads to their outputs; `bound` holds the
    parameters its SQL may use. With `into`, a query's result streams from
    DuckDB into that Parquet file (never whole in memory; fsynced unless
    `durable=False`) and the answer is the file's `Output`. With `keep_bytes`,
    that Output also holds the result as a table when it is no larger and its
    types read the same from the table as from the file (`handoff`); with `writer`
    too, such a result's file is written by `writer` (`Output.writing`). With `single`, a query
    streamed into its file runs on the board's single-threaded instance (`Executor.query_to_file`).
    Raises `QueryError` with a message for the user.
    """
    kind, config = block["type"], block["config"]

    def run(
        sql: str, relations: Mapping[str, Relation], params: Mapping[str, Any] | None = None
    ) -> pa.Table | Output:
        if into is None:
            return executor.query(board_id, sql, relations, params)
        written = executor.query_to_file(
            board_id,
            sql,
            relations,
            params,
            into,
            durable=durable,
            keep_bytes=keep_bytes,
            writer=writer,
            single=single,
        )
        return Output(
            written.content_hash,
            written.rows,
            describe_schema(written.schema),
            path=into,
            table=written.table,
            writing=written.writing,
        )

    if kind == "sql":
        relations = {name: output.relation for name, output in inputs.items()}
        return run(config["sql"], relations, bound)
    if kind == "markdown":
        return pa.table({"text": [config["text"]]})
    if kind in CONTROL_TYPES:
        return control_table(kind, value, today)
    source = inputs[config["source"]]
    if kind == "table":
        columns = config.get("columns")
        if not columns or columns == source.column_names:
            return source
        _require_columns(block, source, columns)
        select = ", ".join(_ident(c) for c in columns)
        return run(f"SELECT {select} FROM __source", {"__source": source.relation})
    if kind == "chart":
        # x, the y columns and the series column, so the chart's output is what it draws.
        wanted = chart_columns(config)
        _require_columns(block, source, wanted)
        select = ", ".join(_ident(c) for c in wanted)
        return run(f"SELECT {select} FROM __source", {"__source": source.relation})
    if kind == "metric":
        _require_columns(block, source, [config["column"]])
        return run(f"SELECT {_ident(config['column'])} FROM __source LIMIT 1", {"__source": source.relation})
    raise QueryError(f"unknown block type {kind!r}")
