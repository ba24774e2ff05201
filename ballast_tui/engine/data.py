"""Reading outputs: rows as JSON, pages over Parquet, and chart series reduced in DuckDB."""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from ballast_tui.engine.cascade import CascadeResult
from ballast_tui.engine.derived_cache import code_id
from ballast_tui.engine.errors import NotFound
from ballast_tui.engine.json_values import jsonable
from ballast_tui.engine.outputs import Output, output_of_file
from ballast_tui.engine.series_data import series_chart
from ballast_tui.engine.small_reads import columns_of, small_table, sorted_columns
from ballast_tui.engine.workspace import Workspace
from ballast_tui.lazy import lazy_module
from ballast_tui.storage import repos

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

Row = dict[str, Any]
DEFAULT_MAX_POINTS = 1000


def table_rows(table: pa.Table) -> list[Row]:
    """Rows of a (small) Arrow table as JSON objects keyed by column name."""
    return [{k: jsonable(v) for k, v in row.items()} for row in table.to_pylist()]


def _page(ws: Workspace, board_id: str, output: Output, limit: int, offset: int) -> list[Row]:
    if limit == 0:
        return []
    if output.table is not None:
        return table_rows(output.table.slice(offset, limit))
    small = small_table(output)
    if small is not None:
        return table_rows(small.slice(offset, limit))
    table = ws.executor.query(
        board_id,
        "SELECT * FROM __out LIMIT $limit OFFSET $offset",
        {"__out": output.relation},
        {"limit": limit, "offset": offset},
    )
    return table_rows(table)


def persisted_run(ws: Workspace, board_id: str, block: Row, result: CascadeResult, limit: int) -> Row:
    """A recorded run with its first `limit` rows."""
    run = result.runs.get(block["id"]) or {}
    output = result.outputs.get(block["id"])
    described = describe_run(run) if run else {"block_id": block["id"], "status": "upstream_error"}
    described["columns"] = output.columns if output else []
    described["row_count"] = output.row_count if output else 0
    described["rows"] = _page(ws, board_id, output, limit, 0) if output else []
    return described


def unpersisted_run(ws: Workspace, board_id: str, block: Row, result: CascadeResult, limit: int) -> Row:
    """An overrides run: nothing stored, so no id."""
    output = result.outputs.get(block["id"])
    error = result.errors.get(block["id"])
    if output is None and error is None:
        error = "an upstream block failed"
    return {
        "id": None,
        "persisted": False,
        "block_id": block["id"],
        "status": "success" if output is not None else "error",
        "error": error,
        "columns": output.columns if output else [],
        "row_count": output.row_count if output else 0,
        "rows": _page(ws, board_id, output, limit, 0) if output else [],
        "remote": result.remote.get(block["id"]),
    }


def describe_run(run: Row) -> Row:
    """A run record as tools answer it."""
    return {
        key: run.get(key)
        for key in (
            "id",
            "block_id",
            "board_id",
            "status",
            "trigger",
            "actor",
            "inputs",
            "output",
            "error",
            "started_at",
            "finished_at",
            "duration_ms",
            "remote",
        )
    }


def current_run(ws: Workspace, board_id: str, block: Row) -> Row | None:
    """The block's current run, if it has one."""
    return repos.run(ws.db, board_id, block["current_run_id"]) if block["current_run_id"] else None


def given_run(ws: Workspace, board_id: str, block: Row, run_id: str) -> Row:
    """A given run of the block (`NotFound` for another block's run or none)."""
    run = repos.run(ws.db, board_id, run_id)
    if run is None or run["block_id"] != block["id"]:
        raise NotFound(f"no run {run_id!r} of block {block['name']!r}")
    return run


def output_of_run(ws: Workspace, board_id: str, run: Row | None) -> Output | None:
    """A run's output, when it succeeded and stored one."""
    if run is None or run["status"] != "success" or not run["file"]:
        return None
    return output_of_file(ws.board_dir(board_id) / run["file"], run["output"]["content_hash"], run["id"])


def current_output(ws: Workspace, board_id: str, block: Row) -> tuple[Row | None, Output | None]:
    """The block's current run and, when it succeeded, its output."""
    run = current_run(ws, board_id, block)
    return run, output_of_run(ws, board_id, run)


def run_output(ws: Workspace, board_id: str, block: Row, run_id: str) -> tuple[Row, Output | None]:
    """A given run of the block and, when it succeeded, its output."""
    run = given_run(ws, board_id, block, run_id)
    return run, output_of_run(ws, board_id, run)


def block_data(
    ws: Workspace,
    board_id: str,
    block: Row,
    limit: int,
    offset: int,
    max_points: int | None,
    run_id: str | None = None,
) -> Row:
    """The contract's `dashboard_block_data` answer, for the current run or the one asked for."""
    if run_id is None:
        run = current_run(ws, board_id, block)
        status, error = block["state"], block["error"]
    else:
        run = given_run(ws, board_id, block, run_id)
        status, error = run["status"], run["error"]
    return {
        "block_id": block["id"],
        "run_id": run["id"] if run else None,
        "finished_at": run["finished_at"] if run else None,
        "status": status,
        "error": error,
        **stored_output_data(ws, board_id, block, run, limit, offset, max_points),
    }


@functools.cache
def _readers_id() -> str:
    """Which code made a kept block data answer (`stored_output_data`)."""
    return code_id(*(f"ballast_tui.engine.{name}" for name in READERS))


READERS = ("data", "series_data", "small_reads", "json_values", "outputs")
"""The modules whose code shapes a block's data answer."""


def stored_output_data(
    ws: Workspace, board_id: str, block: Row, run: Row | None, limit: int, offset: int, max_points: int | None
) -> Row:
    """`output_data` of a run's stored output, kept by its content hash (`Workspace.derived`): a
    board drawn again reads neither its files nor DuckDB. A run's file never changes, and the key
    holds all the answer depends on (the block's type and settings, the page, the points)."""
    if run is None or run["status"] != "success" or not run["file"]:
        return output_data(ws, board_id, block, None, limit, offset, max_points)
    content_hash = run["output"]["content_hash"]
    kept_as = [_readers_id(), content_hash, block["type"], block["config"], limit, offset, max_points]
    key = json.dumps(kept_as, sort_keys=True, separators=(",", ":"))
    kept = ws.derived.get("block-data", key)
    if isinstance(kept, dict):
        return kept
    answer = output_data(ws, board_id, block, output_of_run(ws, board_id, run), limit, offset, max_points)
    ws.derived.put("block-data", key, answer)
    return answer


def output_data(
    ws: Workspace,
    board_id: str,
    block: Row,
    output: Output | None,
    limit: int,
    offset: int,
    max_points: int | None,
) -> Row:
    """What a view draws of one output: `columns`, `row_count`, a page of `rows`, and a chart's
    `series` reduced to `max_points`."""
    answer: Row = {
        "columns": output.columns if output else [],
        "row_count": output.row_count if output else 0,
        "rows": _page(ws, board_id, output, limit, offset) if output else [],
    }
    if block["type"] == "chart" and output is not None:
        answer["series"] = chart_series(
            ws, board_id, block["config"], output, max_points or DEFAULT_MAX_POINTS
        )
    return answer


def first_rows(ws: Workspace, board_id: str, output: Output, limit: int) -> list[Row]:
    """The first `limit` rows of an output (from memory, or read from its file in DuckDB)."""
    if output.table is not None:
        return table_rows(output.table.slice(0, limit))
    small = small_table(output)
    if small is not None:
        return table_rows(small.slice(0, limit))
    table = ws.executor.query(
        board_id, "SELECT * FROM __out LIMIT $limit", {"__out": output.relation}, {"limit": limit}
    )
    return table_rows(table)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def chart_series(ws: Workspace, board_id: str, config: Row, output: Output, max_points: int) -> Row:
    """x and y series of a chart, at most `max_points` points, reduced in DuckDB.

    Line, area and scatter charts over more points than that are cut into
    buckets along x, each keeping the rows of its minimum and maximum of the
    first y (the extremes a reader would miss); bars keep the first points;
    a histogram bins x into at most `max_points` equal-width bins. A chart with
    `series` draws one series per value of that column (`series_data`).
    """
    if config.get("series"):
        return series_chart(ws, board_id, config, output, max_points)
    ys = config["y"] if isinstance(config["y"], list) else [config["y"]]
    x = config["x"]
    relation = {"__out": output.relation}
    kind = config["kind"]
    if kind == "histogram":
        bins = max(1, min(max_points, 50))
        table = ws.executor.query(
            board_id,
            f"""
            WITH v AS (SELECT {_ident(x)}::DOUBLE AS x FROM __out WHERE {_ident(x)} IS NOT NULL),
                 r AS (SELECT min(x) AS lo, max(x) AS hi FROM v)
            SELECT lo + (hi - lo) / $bins * b AS bin_start, count(*) AS count
            FROM (SELECT least(floor((x - lo) / nullif(hi - lo, 0) * $bins), $bins - 1)::INT AS b, lo, hi
                  FROM v, r) GROUP BY b, lo, hi ORDER BY b""",
            relation,
            {"bins": bins},
        )
        return {
            "kind": kind,
            "x": [jsonable(v) for v in table.column("bin_start").to_pylist()],
            "y": {"count": table.column("count").to_pylist()},
            "reduced": output.row_count > 0,
            "points": table.num_rows,
        }
    # Each column once: a chart may plot a column against itself (x == y), and the answer is by name.
    names = [c for c in dict.fromkeys([x, *ys]) if c]
    cols = ", ".join(_ident(c) for c in names)
    if output.row_count <= max_points or kind == "bar":
        reduced = output.row_count > max_points
        small = small_table(output, names)
        if small is not None:
            # ORDER BY x LIMIT n, as DuckDB sorts; bars keep the first rows as stored.
            values = columns_of(small) if kind == "bar" else sorted_columns(columns_of(small), x)
            values = {name: column[:max_points] for name, column in values.items()}
        else:
            sql = f"SELECT {cols} FROM __out " + ("" if kind == "bar" else f"ORDER BY {_ident(x)} ")
            values = columns_of(ws.executor.query(board_id, sql + "LIMIT $n", relation, {"n": max_points}))
    else:
        first = _ident(ys[0])
        table = ws.executor.query(
            board_id,
            f"""
            WITH b AS (SELECT {cols}, ntile($buckets) OVER (ORDER BY {_ident(x)}) AS bucket FROM __out),
                 e AS (SELECT bucket, arg_min({first}, {first}) AS lo, arg_max({first}, {first}) AS hi
                       FROM b GROUP BY bucket),
                 picked AS (SELECT b.*, row_number() OVER (
                                PARTITION BY b.bucket, b.{first} ORDER BY {_ident(x)}) AS k
                            FROM b JOIN e ON b.bucket = e.bucket AND (b.{first} = e.lo OR b.{first} = e.hi))
            SELECT {cols} FROM picked WHERE k = 1 ORDER BY {_ident(x)}""",
            relation,
            {"buckets": max(1, max_points // 2)},
        )
        values = columns_of(table)
        reduced = True
    return {
        "kind": kind,
        "x": [jsonable(v) for v in values[x]],
        "y": {y: [jsonable(v) for v in values[y]] for y in ys},
        "reduced": reduced,
        "points": len(values[x]),
    }
