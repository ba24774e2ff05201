"""The export tool: a block's whole current output as CSV, Parquet or JSON.

Its bytes go to the caller's `ExportSink` (`Context.export_sink`: `ballast
export`'s file, the HTTP export route's stream, the TUI's file). Called without
one (the JSON tool door, MCP), it answers what the export would hold and the
route that streams it.
"""

from __future__ import annotations

from typing import Any, Literal

from ballast_tui.engine import data, overrides
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.exports import write_output
from ballast_tui.engine.outputs import Output
from ballast_tui.tools.registry import REGISTRY, Args, BoardScope


class ExportArgs(Args):
    dashboard_id: str
    block_id: str
    format: Literal["csv", "parquet", "json"] = "csv"
    filter_overrides: dict[str, Any] | None = None


@REGISTRY.tool(
    "export_block",
    ExportArgs,
    refuses="a `filter_overrides` naming no control of the board, or a value the control does not allow",
    role="viewer",
    writes=False,
    example={"dashboard_id": "dash_k3j9x0a1b2c3", "block_id": "daily", "format": "csv"},
)
def export_block(board: BoardScope, args: ExportArgs) -> dict[str, Any]:
    """A block's whole current output as CSV, Parquet or JSON (with `filter_overrides`, computed for
    this call alone; nothing is stored).

    Over the JSON door and MCP it answers the block, its columns and row count, and `download`: the
    route that streams the file (GET, with your bearer token). The command line and the TUI write it.
    Returns `block`, `format`, `columns`, `row_count` (and `download`).
    """
    block = board.block(args.block_id)
    output = _output(board, block, args.filter_overrides)
    sink = board.ctx.export_sink
    answer: dict[str, Any] = {
        "block": {"id": block["id"], "name": block["name"]},
        "format": args.format,
        "columns": output.columns,
        "row_count": output.row_count,
    }
    if sink is None:
        return {
            **answer,
            "download": f"/api/v1/dashboards/{board.id}/blocks/{block['id']}/data.{args.format}",
        }
    write_output(output, args.format, sink.begin(str(block["name"]), args.format, output.row_count))
    return answer


def _output(board: BoardScope, block: dict[str, Any], filter_overrides: dict[str, Any] | None) -> Output:
    """The block's current output, or with the overrides bound for this call alone."""
    if filter_overrides is not None:
        values = overrides.resolve(board, filter_overrides)
        result = overrides.compute(board, board.graph(), values, [block["id"]])
        if block["id"] in result.outputs:
            return result.outputs[block["id"]]
        if block["id"] in result.failed or block["id"] in result.upstream_error:
            error = result.errors.get(block["id"], "an upstream block failed")
            raise InvalidRequest(f"block {block['name']!r} failed with these filter_overrides: {error}")
        # Not downstream of any overridden control: its current output is the answer.
    _run, output = data.current_output(board.ws, board.id, block)
    if output is None or (output.path is None and output.table is None):
        raise InvalidRequest(f"block {block['name']!r} has no output to export (state: {block['state']})")
    return output
