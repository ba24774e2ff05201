"""The drawing tool: a board, or one of its blocks, drawn as text as the terminal draws it.

`ballast show` prints its answer; an agent over MCP reads it to look at a chart it just made.
The drawing is made by a process beside this one (`engine.text_drawing`), with the published
page's own drawing code, as the caller.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ballast_tui.engine.text_drawing import draw_board_text
from ballast_tui.tools.registry import REGISTRY, Args, BoardScope

DEFAULT_WIDTH = 120
MIN_WIDTH, MAX_WIDTH = 20, 400
MIN_HEIGHT, MAX_HEIGHT = 3, 600


class RenderArgs(Args):
    dashboard_id: str
    block_id: str | None = Field(default=None, description="a block of the board (id or name): it alone")
    width: int = Field(default=DEFAULT_WIDTH, ge=MIN_WIDTH, le=MAX_WIDTH, description="columns")
    height: int | None = Field(
        default=None, ge=MIN_HEIGHT, le=MAX_HEIGHT, description="text rows (default: as tall as it is)"
    )
    ansi: bool = Field(default=False, description="ANSI colour sequences in the text (default plain)")


@REGISTRY.tool(
    "dashboard_render",
    RenderArgs,
    role="viewer",
    writes=False,
    idempotent=True,
    example={"dashboard_id": "dash_k3j9x0a1b2c3", "block_id": "revenue_chart", "width": 100},
)
def dashboard_render(board: BoardScope, args: RenderArgs) -> dict[str, Any]:
    """The board's displayed blocks, or one block, drawn as text as the terminal draws them.

    Look at what a board shows: charts drawn with their axes, tables, metrics and controls in their
    layout, `width` columns wide (20-400, default 120) and as tall as the board (or `height` rows,
    3-600). With `block_id` (a name or id, displayed or not) that block alone; with `height` its
    chart redraws to fill those rows. Use it after building or changing a chart to check it looks
    right. Plain text unless `ansi`.
    Returns `text`, `title`, `block` (when one was drawn), `width`, `height`.
    """
    block = board.block(args.block_id) if args.block_id is not None else None
    text = draw_board_text(
        board.ws,
        board.ctx.user.id,
        board.id,
        block_id=block["id"] if block else None,
        width=args.width,
        height=args.height,
        ansi=args.ansi,
    )
    answer: dict[str, Any] = {
        "title": board.row["title"],
        "text": text,
        "width": args.width,
        "height": args.height or text.count("\n"),
    }
    if block is not None:
        answer["block"] = {"id": block["id"], "name": block["name"], "type": block["type"]}
    return answer
