"""Layout tools: show or hide a block, set the whole layout."""

from __future__ import annotations

from typing import Any

from ballast_tui.engine.layout import validate_layout, with_block_hidden, with_block_shown
from ballast_tui.storage import repos
from ballast_tui.tools.common import check_unlocked, load_block, load_board, publish, record
from ballast_tui.tools.registry import REGISTRY, Args, Context


class SetDisplayedArgs(Args):
    dashboard_id: str
    block_id: str
    displayed: bool


class SetLayoutArgs(Args):
    dashboard_id: str
    rows: Any


@REGISTRY.tool("dashboard_set_displayed", SetDisplayedArgs)
def set_displayed(ctx: Context, args: SetDisplayedArgs) -> dict[str, Any]:
    """Show a block (a full-width row at the bottom) or hide it (out of its row; an emptied row goes)."""
    board = load_board(ctx, args.dashboard_id, "edit")
    block = load_block(ctx, board, args.block_id)
    check_unlocked(ctx, board.id, block["id"])
    change = with_block_shown if args.displayed else with_block_hidden
    layout = change(board.row["layout"], block["id"])
    if block["displayed"] == args.displayed and layout == board.row["layout"]:
        return {"layout": layout}
    with ctx.ws.db.write() as tx:
        repos.update_block(tx, block["id"], displayed=args.displayed)
        repos.update_board(tx, board.id, layout=layout)
        record(tx, ctx, board.id, "block_displayed", block["id"], displayed=args.displayed)
    publish(
        ctx, board.id, "block_changed", block_id=block["id"], change="displayed", displayed=args.displayed
    )
    publish(ctx, board.id, "layout_changed", layout=layout)
    return {"layout": layout}


@REGISTRY.tool("dashboard_set_layout", SetLayoutArgs)
def set_layout(ctx: Context, args: SetLayoutArgs) -> dict[str, Any]:
    """Replace the whole layout: rows of 1 to 4 displayed blocks, optional `cols` (summing to 12)
    and `height` (pixels). Idempotent; a refused layout changes nothing."""
    board = load_board(ctx, args.dashboard_id, "edit")
    blocks = repos.blocks(ctx.ws.db, board.id)
    displayed = {b["id"]: b["type"] for b in blocks if b["displayed"]}
    layout = validate_layout({"rows": args.rows}, displayed, {b["id"] for b in blocks})
    if layout == board.row["layout"]:
        return {"layout": layout}
    with ctx.ws.db.write() as tx:
        repos.update_board(tx, board.id, layout=layout)
        record(tx, ctx, board.id, "layout_set", board.id, layout=layout)
    publish(ctx, board.id, "layout_changed", layout=layout)
    return {"layout": layout}
