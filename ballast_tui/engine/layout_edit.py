"""Keyboard layout editing: move a block, change a row's height or a block's width.

Each function takes a valid layout and returns a new valid one, or None when
the move is not possible (already at the edge, no room, no narrower width).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ballast_tui.engine.layout import MAX_BLOCKS_PER_ROW, TERMINAL_ROW_PX, row_height, row_spans

Layout = dict[str, Any]
MAX_ROW_PX = 5000


def _find(layout: Mapping[str, Any], block_id: str) -> tuple[int, int]:
    for r, row in enumerate(layout["rows"]):
        if block_id in row["blocks"]:
            return r, row["blocks"].index(block_id)
    raise KeyError(block_id)


def _plain(row: Mapping[str, Any], blocks: list[str]) -> dict[str, Any]:
    """A row holding `blocks`, its height kept, its widths even again."""
    new: dict[str, Any] = {"blocks": blocks}
    if "height" in row:
        new["height"] = row["height"]
    return new


def move_block(layout: Mapping[str, Any], block_id: str, direction: str) -> Layout | None:
    """Move a block left/right within its row, or up/down across rows."""
    rows = copy.deepcopy(list(layout["rows"]))
    r, i = _find(layout, block_id)
    row = rows[r]
    if direction in ("left", "right"):
        j = i - 1 if direction == "left" else i + 1
        if not 0 <= j < len(row["blocks"]):
            return None
        row["blocks"][i], row["blocks"][j] = row["blocks"][j], row["blocks"][i]
        if "cols" in row:
            row["cols"][i], row["cols"][j] = row["cols"][j], row["cols"][i]
        return {"rows": rows}
    step = -1 if direction == "up" else 1
    if len(row["blocks"]) > 1:
        # Leave the row into a row of its own, just above or below it.
        rows[r] = _plain(row, [b for b in row["blocks"] if b != block_id])
        rows.insert(r if step < 0 else r + 1, {"blocks": [block_id]})
        return {"rows": rows}
    other = r + step
    if not 0 <= other < len(rows):
        return None
    if len(rows[other]["blocks"]) < MAX_BLOCKS_PER_ROW:
        joined = rows[other]["blocks"] + [block_id] if step < 0 else [block_id, *rows[other]["blocks"]]
        rows[other] = _plain(rows[other], joined)
        del rows[r]
    else:
        rows[r], rows[other] = rows[other], rows[r]
    return {"rows": rows}


def resize_row(
    layout: Mapping[str, Any], block_id: str, delta_px: int, types: Mapping[str, str]
) -> Layout | None:
    """Make the block's row taller or shorter by `delta_px` (at least one text row)."""
    rows = copy.deepcopy(list(layout["rows"]))
    r, _ = _find(layout, block_id)
    current = row_height(rows[r], types)
    height = min(MAX_ROW_PX, max(TERMINAL_ROW_PX, current + delta_px))
    if height == current:
        return None
    rows[r]["height"] = height
    return {"rows": rows}


def resize_width(layout: Mapping[str, Any], block_id: str, delta_cols: int) -> Layout | None:
    """Give the block `delta_cols` more (or fewer) of the row's 12 columns, from its neighbour."""
    rows = copy.deepcopy(list(layout["rows"]))
    r, i = _find(layout, block_id)
    row = rows[r]
    if len(row["blocks"]) < 2:
        return None
    spans = row_spans(row)
    neighbour = i + 1 if i + 1 < len(spans) else i - 1
    spans[i] += delta_cols
    spans[neighbour] -= delta_cols
    if min(spans[i], spans[neighbour]) < 1:
        return None
    row["cols"] = spans
    return {"rows": rows}
