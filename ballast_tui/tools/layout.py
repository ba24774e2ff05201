"""Layout tools: show or hide a block, set the whole layout, move or resize one block."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from ballast_tui.engine.changes import check_unlocked, publish, record
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.events import BlockChanged, LayoutChanged
from ballast_tui.engine.layout import (
    GRID_COLUMNS,
    MAX_HEIGHT_PX,
    validate_layout,
    with_block_hidden,
    with_block_shown,
)
from ballast_tui.engine.layout_edit import move_to, resized
from ballast_tui.storage import repos
from ballast_tui.tools.registry import MAX_INT, REGISTRY, Args, BoardScope


class SetDisplayedArgs(Args):
    dashboard_id: str
    block_id: str
    displayed: bool


class SetLayoutArgs(Args):
    dashboard_id: str
    rows: Any = Field(json_schema_extra={"type": "array", "items": {"type": "object"}})


@REGISTRY.tool(
    "dashboard_set_displayed",
    SetDisplayedArgs,
    role="editor",
    writes=True,
    idempotent=True,
    example={"block_id": "revenue_chart", "displayed": True},
)
def set_displayed(board: BoardScope, args: SetDisplayedArgs) -> dict[str, Any]:
    """Show a block (a full-width row at the bottom) or hide it (out of its row; an emptied row goes).

    Show a block on the grid (a new full-width row at the bottom) or hide it (out of its row). Use it
    for every block people should see; helper sql blocks usually stay hidden.
    Returns `layout`.
    """
    ctx = board.ctx
    block = board.block(args.block_id)
    check_unlocked(board, block["id"])
    change = with_block_shown if args.displayed else with_block_hidden
    layout = change(board.row["layout"], block["id"])
    if block["displayed"] == args.displayed and layout == board.row["layout"]:
        return {"layout": layout}
    with ctx.ws.db.write() as tx:
        repos.update_block(tx, block["id"], displayed=args.displayed)
        repos.update_board(tx, board.id, layout=layout)
        record(tx, ctx, board.id, "block_displayed", block["id"], displayed=args.displayed)
    publish(
        ctx,
        BlockChanged(
            dashboard_id=board.id, block_id=block["id"], change="displayed", displayed=args.displayed
        ),
    )
    publish(ctx, LayoutChanged(dashboard_id=board.id, layout=layout))
    return {"layout": layout}


@REGISTRY.tool(
    "dashboard_set_layout",
    SetLayoutArgs,
    refuses=(
        "a layout naming a hidden or unknown block, or one block twice; a row of 0 or "
        "more than 4 blocks; `cols` that do not sum to 12"
    ),
    role="editor",
    writes=True,
    destructive=True,
    idempotent=True,
    example={
        "rows": [
            {"blocks": ["blk_region0000001", "blk_period0000001"], "cols": [6, 6]},
            {"blocks": ["blk_chart00000001"], "height": 300},
        ]
    },
)
def set_layout(board: BoardScope, args: SetLayoutArgs) -> dict[str, Any]:
    """Replace the whole layout: rows of 1 to 4 displayed blocks, optional `cols` (summing to 12)
    and `height` (pixels). Idempotent; a refused layout changes nothing.

    Replace the whole layout: `rows` is a list of rows, each {"blocks": [1 to 4 displayed block ids],
    "cols": [widths summing to 12]?, "height": pixels?}. Every displayed block must appear exactly once;
    hidden or unknown blocks are refused. Idempotent.
    Returns `layout`.
    """
    ctx = board.ctx
    blocks = board.blocks()
    displayed = {b["id"]: b["type"] for b in blocks if b["displayed"]}
    layout = validate_layout({"rows": args.rows}, displayed, {b["id"] for b in blocks})
    if layout == board.row["layout"]:
        return {"layout": layout}
    with ctx.ws.db.write() as tx:
        repos.update_board(tx, board.id, layout=layout)
        record(tx, ctx, board.id, "layout_set", board.id, layout=layout)
    publish(ctx, LayoutChanged(dashboard_id=board.id, layout=layout))
    return {"layout": layout}


class MoveArgs(Args):
    dashboard_id: str
    block_id: str
    row: int = Field(ge=0, le=MAX_INT)
    position: int | None = Field(default=None, ge=0, le=MAX_INT)
    new_row: bool = False


class ResizeArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["cols"], "properties": {"cols": {"type": "integer"}}},
                {"required": ["height"], "properties": {"height": {"type": "integer"}}},
            ]
        }
    )

    dashboard_id: str
    block_id: str
    cols: int | None = Field(default=None, ge=1, le=GRID_COLUMNS)
    height: int | None = Field(default=None, ge=1, le=MAX_HEIGHT_PX)


def _store_layout(
    board: BoardScope, layout: dict[str, Any], action: str, block_id: str, **details: Any
) -> None:
    ctx = board.ctx
    with ctx.ws.db.write() as tx:
        repos.update_board(tx, board.id, layout=layout)
        record(tx, ctx, board.id, action, block_id, **details)
    publish(ctx, LayoutChanged(dashboard_id=board.id, layout=layout))


def _displayed_block(board: BoardScope, ref: str) -> dict[str, Any]:
    block = board.block(ref)
    if not block["displayed"]:
        raise InvalidRequest(f"block {block['name']!r} is hidden: show it first (dashboard_set_displayed)")
    return block


@REGISTRY.tool(
    "dashboard_move_block",
    MoveArgs,
    refuses="a row or position past the end of the layout, a hidden block",
    role="editor",
    writes=True,
    example={"block_id": "revenue_chart", "row": 0, "position": 1},
)
def move_block(board: BoardScope, args: MoveArgs) -> dict[str, Any]:
    """Move a displayed block to another row, or to another place in its row, on the layout as it is
    now (two people moving different blocks both land).

    Move one displayed block: `row` is 0-based and counts the rows as they are; `row` equal to the
    number of rows (or `new_row` true) puts the block in a new row of its own there. Otherwise it
    joins that row at `position` (its index once taken out of its own row; the end when left out).
    A row it leaves empty goes. Refused when the target row already holds 4 blocks.
    Returns `layout`.
    """
    block = _displayed_block(board, args.block_id)
    layout = move_to(board.row["layout"], block["id"], args.row, args.position, args.new_row)
    if layout != board.row["layout"]:
        _store_layout(board, layout, "layout_move", block["id"], row=args.row, position=args.position)
    return {"layout": layout}


@REGISTRY.tool(
    "dashboard_resize_block",
    ResizeArgs,
    role="editor",
    writes=True,
    idempotent=True,
    example={"block_id": "revenue_chart", "cols": 8, "height": 320},
)
def resize_block(board: BoardScope, args: ResizeArgs) -> dict[str, Any]:
    """Give a displayed block `cols` of its row's 12 columns (the others in the row share the rest)
    and/or set its row's `height` in pixels.

    Resize one displayed block: `cols` is its share of the row's 12 columns (the other blocks of the
    row share what is left, in proportion); `height` sets its row's height in pixels (20 px is one
    text row in the terminal). A block alone in its row always takes all 12 columns.
    Returns `layout`.
    """
    if args.cols is None and args.height is None:
        raise InvalidRequest("nothing to change: give `cols`, `height` or both")
    block = _displayed_block(board, args.block_id)
    layout = resized(board.row["layout"], block["id"], args.cols, args.height)
    if layout != board.row["layout"]:
        _store_layout(board, layout, "layout_resize", block["id"], cols=args.cols, height=args.height)
    return {"layout": layout}
