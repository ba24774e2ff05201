"""Block tools that store a control's value, run a block and read its output."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ballast_tui.engine import data, overrides, own_view
from ballast_tui.engine.blocks import CONTROL_TYPES, validate_config, validate_control_value
from ballast_tui.engine.changes import cascade, check_unlocked, mark_pending, publish, record
from ballast_tui.engine.connected import check_connected_reads
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.events import ControlChanged
from ballast_tui.engine.source_columns import check_chart_columns
from ballast_tui.storage import repos
from ballast_tui.tools.registry import MAX_INT, REGISTRY, Args, BoardScope, role_by

MAX_RUN_ROWS = 1000


class SetControlArgs(Args):
    dashboard_id: str
    block_id: str
    value: Any


class RunBlockArgs(Args):
    dashboard_id: str
    block_id: str
    filter_overrides: dict[str, Any] | None = None
    config: dict[str, Any] | None = None


class BlockDataArgs(Args):
    dashboard_id: str
    block_id: str
    run_id: str | None = None
    limit: int = Field(default=100, ge=0, le=100_000)
    offset: int = Field(default=0, ge=0, le=MAX_INT)
    max_points: int | None = Field(default=None, ge=2, le=100_000)
    filter_overrides: dict[str, Any] | None = None


@REGISTRY.tool(
    "dashboard_set_control",
    SetControlArgs,
    refuses="a value the control does not allow",
    role="editor",
    writes=True,
    idempotent=True,
    example={"block_id": "region", "value": "North"},
)
def set_control(board: BoardScope, args: SetControlArgs) -> dict[str, Any]:
    """Store a control's value; everything downstream of it re-runs.

    Store a control's value for everyone (a param-enum option, or a date range "Nd" | "today" |
    {start, end}); everything downstream re-runs. To try a value without storing it, use
    dashboard_run_block with filter_overrides instead.
    Returns `value` and `cascade`.
    """
    ctx = board.ctx
    block = board.block(args.block_id)
    if block["type"] not in CONTROL_TYPES:
        raise InvalidRequest(f"block {block['name']!r} is a {block['type']} block, not a control")
    check_unlocked(board, block["id"])
    value = validate_control_value(block["type"], block["config"], args.value)
    g = board.graph()
    with ctx.ws.db.write() as tx:
        repos.update_block(tx, block["id"], value=value)
        mark_pending(tx, g, [block["id"]])
        record(
            tx,
            ctx,
            board.id,
            "control_set",
            block["id"],
            name=block["name"],
            value=value,
            previous=block["value"],
        )
        repos.touch_board(tx, board.id)
    publish(
        ctx,
        ControlChanged(dashboard_id=board.id, block_id=block["id"], block_name=block["name"], value=value),
    )
    result = cascade(board, [block["id"]], "control")
    return {"value": value, "cascade": result.describe()}


def _run_role(args: RunBlockArgs) -> str:
    """Trying values (`filter_overrides` alone) is a viewer's; recording a run or a draft config is an
    editor's."""
    return "viewer" if args.filter_overrides is not None and args.config is None else "editor"


@REGISTRY.tool(
    "dashboard_run_block",
    RunBlockArgs,
    refuses="a `filter_overrides` naming no control of the board, or a value the control does not allow",
    role=role_by(_run_role, "viewer", "editor"),
    writes=True,
    example={"block_id": "daily", "filter_overrides": {"region": "South"}},
)
def run_block(board: BoardScope, args: RunBlockArgs) -> dict[str, Any]:
    """Run one block now. With `filter_overrides` ({control id: value}) the values are bound for
    this call alone, and with `config` a draft config runs instead of the saved one (an editor's
    preview); either way nothing is stored. Without them, a `manual` run is recorded.

    Run one block now and read its output. With `filter_overrides` ({control name or id: value}) the
    values are bound for this call alone and nothing is stored: use it to check how a control drives a
    block before changing anything. With `config`, a draft config runs instead of the saved one (also
    stored nowhere). Without either, a `manual` run is recorded.
    Returns `run` (status, error, columns, rows cut to a few, row_count; id null when not persisted).
    """
    ctx = board.ctx
    block = board.block(args.block_id)
    if args.filter_overrides is not None or args.config is not None:
        values = overrides.resolve(board, args.filter_overrides or {})
        blocks = board.blocks()
        if args.config is not None:
            draft = validate_config(block["type"], args.config)
            blocks = [{**b, "config": draft} if b["id"] == block["id"] else b for b in blocks]
        g = board.graph(blocks)
        if args.config is not None:
            check_connected_reads(board, g, [block["id"]])
            if block["type"] == "chart":
                check_chart_columns(board, g.by_id[block["id"]]["config"])
        result = overrides.compute(board, g, values, [block["id"]], include_targets=True)
        return {"run": data.unpersisted_run(ctx.ws, board.id, g.by_id[block["id"]], result, MAX_RUN_ROWS)}
    result = cascade(board, [block["id"]], "manual", force=[block["id"]])
    return {
        "run": data.persisted_run(ctx.ws, board.id, block, result, MAX_RUN_ROWS),
        "cascade": result.describe(),
    }


@REGISTRY.tool(
    "dashboard_block_data",
    BlockDataArgs,
    refuses="a `filter_overrides` naming no control of the board, or a value the control does not allow",
    role="viewer",
    writes=False,
    example={"block_id": "daily", "limit": 10, "offset": 0},
)
def block_data(board: BoardScope, args: BlockDataArgs) -> dict[str, Any]:
    """A block's current output (or, with `run_id`, that earlier run's): rows by `limit`/`offset`;
    for a chart, its series reduced in the database to at most `max_points` points that keep the shape.

    Read a block's current output (or, with `run_id`, an earlier run's): `columns`, `row_count`, and a
    page of `rows` by `limit`/`offset` (few rows by default); a chart also answers its x/y `series`
    reduced to at most `max_points` points that keep the shape.
    With `filter_overrides` ({control name or id: value}) the block is shown as those values make
    it, for this call alone (your own view: nothing is stored, no one else sees it; `overridden`
    says whether the values reach the block).
    Returns `run_id`, `status`, `error`, `columns`, `rows`, `row_count` (and `series`).
    """
    ctx = board.ctx
    block = board.block(args.block_id)
    if args.filter_overrides is not None:
        if args.run_id is not None:
            raise InvalidRequest("filter_overrides and run_id cannot be combined: a run is what it was")
        values = overrides.resolve(board, args.filter_overrides)
        return own_view.block_data(board, block, values, args.limit, args.offset, args.max_points)
    return data.block_data(ctx.ws, board.id, block, args.limit, args.offset, args.max_points, args.run_id)
