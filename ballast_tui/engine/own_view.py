"""A signed-in reader's own view: a block's data under `filter_overrides`, for that call alone.

The TUI draws a viewer's (or an editor's chosen) control values this way:
nothing is stored and no one else sees it. Every displayed block of the board
is computed in one go under the values (`overrides.computed`, shared through
the workspace's bounded cache), so the cells of one screen, each asking for its
own data, cost one computation. A block the values do not reach answers its
stored output, marked `overridden: false`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ballast_tui.engine import data, overrides
from ballast_tui.engine.scope import BoardScope

Row = dict[str, Any]


def block_data(
    board: BoardScope,
    block: Row,
    values: Mapping[str, Any],
    limit: int,
    offset: int,
    max_points: int | None,
) -> Row:
    """`dashboard_block_data`'s answer for `block` under `values` (control id -> value, resolved),
    with `overridden` saying whether the values changed what it shows."""
    targets = {b["id"] for b in board.blocks() if b["displayed"]} | {block["id"]}
    computed = overrides.computed(board, values, targets) if values else None
    if computed is None or block["id"] not in computed.touched:
        stored = data.block_data(board.ws, board.id, block, limit, offset, max_points)
        return {**stored, "overridden": False}
    output = computed.outputs.get(block["id"])
    failed = output is None
    return {
        "block_id": block["id"],
        "run_id": None,
        "finished_at": None,
        "status": "error" if failed else "success",
        "error": computed.errors.get(block["id"], "an upstream block failed") if failed else None,
        "overridden": True,
        **data.output_data(board.ws, board.id, block, output, limit, offset, max_points),
    }
