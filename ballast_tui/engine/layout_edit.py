"""Layout edits of one block: move it, change its row's height or its width.

`move_to` and `resized` are what the tools `dashboard_move_block` and
`dashboard_resize_block` apply to the layout stored at the time of the call
(so two people moving different blocks at once both land). The `*_target`
functions turn a key press into those tools' arguments (None at an edge).
Each takes a valid layout and gives a valid one.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.layout import (
    GRID_COLUMNS,
    MAX_BLOCKS_PER_ROW,
    MAX_HEIGHT_PX,
    TERMINAL_ROW_PX,
    row_height,
    row_spans,
)

Layout = dict[str, Any]


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


def move_to(
    layout: Mapping[str, Any], block_id: str, row: int, position: int | None = None, new_row: bool = False
) -> Layout:
    """The layout with `block_id` moved (`dashboard_move_block`).

    `row` indexes the rows as they are; `row` equal to the number of rows, or
    `new_row`, puts the block in a new row of its own just before row `row`
    (at the end for the number of rows). Otherwise it joins row `row` at
    `position` (its index there once it is taken out of its own row; the end
    when None). A row it leaves empty goes; rows it leaves or joins split their
    width evenly again, except a move within one row, where it keeps its width.
    400 `invalid_request` for a row or position out of range, or a full row.
    """
    rows = copy.deepcopy(list(layout["rows"]))
    r, i = _find(layout, block_id)
    if not 0 <= row <= len(rows):
        raise InvalidRequest(f"row must be between 0 and {len(rows)} (the number of rows appends a row)")
    if new_row or row == len(rows):
        rows.insert(row, {"blocks": [block_id]})
        if row <= r:
            r += 1
        rows[r] = _plain(rows[r], [b for b in rows[r]["blocks"] if b != block_id])
        return {"rows": [x for x in rows if x["blocks"]]}
    target = rows[row]
    if row == r:
        others = [b for b in target["blocks"] if b != block_id]
        spans = row_spans(target)
        width = spans.pop(i)
        at = len(others) if position is None else position
        if not 0 <= at <= len(others):
            raise InvalidRequest(f"position must be between 0 and {len(others)} in row {row}")
        others.insert(at, block_id)
        target["blocks"] = others
        if "cols" in target:
            spans.insert(at, width)
            target["cols"] = spans
        return {"rows": rows}
    if len(target["blocks"]) >= MAX_BLOCKS_PER_ROW:
        raise InvalidRequest(f"row {row} already holds {MAX_BLOCKS_PER_ROW} blocks")
    at = len(target["blocks"]) if position is None else position
    if not 0 <= at <= len(target["blocks"]):
        raise InvalidRequest(f"position must be between 0 and {len(target['blocks'])} in row {row}")
    rows[row] = _plain(target, [*target["blocks"][:at], block_id, *target["blocks"][at:]])
    rows[r] = _plain(rows[r], [b for b in rows[r]["blocks"] if b != block_id])
    return {"rows": [x for x in rows if x["blocks"]]}


def resized(
    layout: Mapping[str, Any], block_id: str, cols: int | None = None, height: int | None = None
) -> Layout:
    """The layout with `block_id` given `cols` of its row's 12 columns (the others in the row share
    the rest, in proportion to what they had) and/or its row `height` pixels
    (`dashboard_resize_block`). 400 `invalid_request` for a width that leaves another block of the
    row no column, or a height out of range."""
    rows = copy.deepcopy(list(layout["rows"]))
    r, i = _find(layout, block_id)
    row = rows[r]
    if cols is not None:
        others = len(row["blocks"]) - 1
        if not others and cols != GRID_COLUMNS:
            raise InvalidRequest(f"a block alone in its row takes all {GRID_COLUMNS} columns")
        if not 1 <= cols <= GRID_COLUMNS - others:
            raise InvalidRequest(
                f"cols must be between 1 and {GRID_COLUMNS - others} in a row of {others + 1}"
            )
        if others:
            spans = row_spans(row)
            row["cols"] = _share(spans, i, cols)
    if height is not None:
        if not TERMINAL_ROW_PX <= height <= MAX_HEIGHT_PX:
            raise InvalidRequest(f"height must be between {TERMINAL_ROW_PX} and {MAX_HEIGHT_PX} pixels")
        row["height"] = height
    return {"rows": rows}


def _share(spans: list[int], index: int, cols: int) -> list[int]:
    """`spans` with `spans[index]` set to `cols` and the rest of the 12 shared by the others in
    proportion to their spans (largest remainders first), each keeping at least one column."""
    rest = GRID_COLUMNS - cols
    others = [k for k in range(len(spans)) if k != index]
    total = sum(spans[k] for k in others)
    exact = {k: rest * spans[k] / total for k in others}
    shares = {k: max(1, int(exact[k])) for k in others}
    by_remainder = sorted(others, key=lambda k: (exact[k] - int(exact[k]), -k), reverse=True)
    while sum(shares.values()) < rest:
        for k in by_remainder:
            if sum(shares.values()) == rest:
                break
            shares[k] += 1
    while sum(shares.values()) > rest:
        k = max(others, key=lambda o: (shares[o], -o))
        shares[k] -= 1
    result = list(spans)
    result[index] = cols
    for k in others:
        result[k] = shares[k]
    return result


# -- what the TUI's keys ask for ------------------------------------------------------


def move_target(layout: Mapping[str, Any], block_id: str, direction: str) -> dict[str, Any] | None:
    """The `dashboard_move_block` arguments that move a block one step `direction` (left/right within
    its row; up/down out of its row into a row of its own, into the next row when it was alone and
    there is room, past it when not), or None at an edge."""
    rows = list(layout["rows"])
    r, i = _find(layout, block_id)
    count = len(rows[r]["blocks"])
    if direction in ("left", "right"):
        j = i - 1 if direction == "left" else i + 1
        return {"row": r, "position": j} if 0 <= j < count else None
    up = direction == "up"
    if count > 1:
        return {"row": r if up else r + 1, "new_row": True}
    other = r - 1 if up else r + 1
    if not 0 <= other < len(rows):
        return None
    if len(rows[other]["blocks"]) < MAX_BLOCKS_PER_ROW:
        return {"row": other, "position": None if up else 0}
    return {"row": other if up else other + 1, "new_row": True}


def move_block(layout: Mapping[str, Any], block_id: str, direction: str) -> Layout | None:
    """Move a block one step `direction` (see `move_target`); None at an edge."""
    target = move_target(layout, block_id, direction)
    return None if target is None else move_to(layout, block_id, **target)


def height_target(
    layout: Mapping[str, Any], block_id: str, delta_px: int, types: Mapping[str, str]
) -> int | None:
    """The row height a block's row gets `delta_px` taller (at least one text row), or None when
    that changes nothing."""
    r, _ = _find(layout, block_id)
    current = row_height(layout["rows"][r], types)
    height = min(MAX_HEIGHT_PX, max(TERMINAL_ROW_PX, current + delta_px))
    return None if height == current else height


def resize_row(
    layout: Mapping[str, Any], block_id: str, delta_px: int, types: Mapping[str, str]
) -> Layout | None:
    """Make the block's row taller or shorter by `delta_px` (at least one text row)."""
    height = height_target(layout, block_id, delta_px, types)
    return None if height is None else resized(layout, block_id, height=height)


def width_target(layout: Mapping[str, Any], block_id: str, delta_cols: int) -> int | None:
    """The columns a block gets `delta_cols` wider, or None when it cannot (alone in its row, or it
    would leave another block of the row no column)."""
    r, i = _find(layout, block_id)
    row = layout["rows"][r]
    others = len(row["blocks"]) - 1
    if not others:
        return None
    cols = row_spans(row)[i] + delta_cols
    return cols if 1 <= cols <= GRID_COLUMNS - others else None


def resize_width(layout: Mapping[str, Any], block_id: str, delta_cols: int) -> Layout | None:
    """Give the block `delta_cols` more (or fewer) of the row's 12 columns; the others share the rest."""
    cols = width_target(layout, block_id, delta_cols)
    return None if cols is None else resized(layout, block_id, cols=cols)
