"""The dashboard layout rules: rows of 1 to 4 blocks on a 12-column grid.

A layout is JSON: ``{"rows": [{"blocks": [ids], "cols": [ints]?, "height": px?}]}``.
The layout and the board's set of displayed blocks always agree: every displayed
block sits in exactly one row, and nothing else does. Everything here is pure;
callers load and store layouts themselves.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from typing import Any, TypeGuard

from ballast_tui.engine.errors import InvalidRequest

TERMINAL_ROW_PX = 20
MAX_BLOCKS_PER_ROW = 4
GRID_COLUMNS = 12
MAX_HEIGHT_PX = 5000

TALL_BLOCK_PX = 290
SHORT_BLOCK_PX = 80

_DEFAULT_HEIGHTS: dict[str, int] = {
    "chart": TALL_BLOCK_PX,
    "table": TALL_BLOCK_PX,
    # A displayed sql block shows its result as a table.
    "sql": TALL_BLOCK_PX,
    "filter-daterange": SHORT_BLOCK_PX,
    "param-enum": SHORT_BLOCK_PX,
    "markdown": SHORT_BLOCK_PX,
    "metric": SHORT_BLOCK_PX,
}

_LAYOUT_KEYS = ("rows",)
_ROW_KEYS = ("blocks", "cols", "height")
_SET_DISPLAYED_TOOL = "dashboard_set_displayed"

Layout = dict[str, Any]


def empty_layout() -> Layout:
    """A layout with no rows, the layout of a board showing nothing."""
    return {"rows": []}


def default_height(block_type: str) -> int:
    """The height in pixels a block of this type gets when its row sets none.

    Unknown types get the tall default so that whatever they show has room.
    """
    return _DEFAULT_HEIGHTS.get(block_type, TALL_BLOCK_PX)


def text_rows(height_px: int) -> int:
    """How many terminal text rows stand for ``height_px`` pixels (never fewer than one)."""
    return max(1, round(height_px / TERMINAL_ROW_PX))


def row_spans(row: Mapping[str, Any]) -> list[int]:
    """The number of grid columns each block of ``row`` spans, left to right.

    Uses the row's ``cols`` when given, otherwise splits the 12 columns evenly;
    should 12 not divide evenly, the leftmost blocks get the extra columns.
    """
    blocks = list(row.get("blocks") or [])
    cols = row.get("cols")
    if cols is not None:
        return [int(c) for c in cols]
    if not blocks:
        return []
    base, extra = divmod(GRID_COLUMNS, len(blocks))
    return [base + (1 if i < extra else 0) for i in range(len(blocks))]


def row_height(row: Mapping[str, Any], types: Mapping[str, str]) -> int:
    """The row's height in pixels: its ``height`` if set, else the tallest default of its blocks.

    ``types`` maps block ids to block types; a block missing from it counts as unknown.
    """
    height = row.get("height")
    if height is not None:
        return int(height)
    defaults = [default_height(types.get(block_id, "")) for block_id in row.get("blocks") or []]
    return max(defaults, default=SHORT_BLOCK_PX)


def validate_layout(layout: object, displayed: Mapping[str, str], known: Collection[str]) -> Layout:
    """Check a whole new layout against the rules and return it normalized.

    ``layout`` is the raw JSON value (``{"rows": [...]}``), ``displayed`` maps the
    id of each displayed block to its type, and ``known`` holds every block id of
    the board. The answer keeps, per row, ``blocks`` plus ``cols`` and ``height``
    only when given. Raises :class:`InvalidRequest` naming the offending row or block.
    """
    rows = _layout_rows(layout)
    seen: dict[str, int] = {}
    normalized = [
        _validate_row(raw, number, displayed, known, seen) for number, raw in enumerate(rows, start=1)
    ]
    missing = [block_id for block_id in displayed if block_id not in seen]
    if missing:
        names = ", ".join(repr(block_id) for block_id in missing)
        raise InvalidRequest(
            f"the layout leaves out displayed block(s) {names}; every displayed block must be placed "
            f"exactly once. To take a block off the dashboard, hide it with {_SET_DISPLAYED_TOOL} instead."
        )
    return {"rows": normalized}


def with_block_shown(layout: Mapping[str, Any], block_id: str) -> Layout:
    """A copy of ``layout`` with ``block_id`` in a new full-width row at the bottom.

    Unchanged (but still a copy) when the block is already placed.
    """
    shown = copy.deepcopy(dict(layout))
    rows: list[dict[str, Any]] = shown.setdefault("rows", [])
    if not any(block_id in row.get("blocks", []) for row in rows):
        rows.append({"blocks": [block_id]})
    return shown


def with_block_hidden(layout: Mapping[str, Any], block_id: str) -> Layout:
    """A copy of ``layout`` without ``block_id``.

    A row left empty goes; a row that had ``cols`` loses them, so the remaining
    blocks split the width evenly again. Its ``height`` stays.
    """
    hidden = copy.deepcopy(dict(layout))
    kept: list[dict[str, Any]] = []
    for row in hidden.get("rows", []):
        blocks = row.get("blocks", [])
        if block_id in blocks:
            row["blocks"] = [b for b in blocks if b != block_id]
            row.pop("cols", None)
            if not row["blocks"]:
                continue
        kept.append(row)
    hidden["rows"] = kept
    return hidden


def _layout_rows(layout: object) -> list[object]:
    if not isinstance(layout, Mapping):
        raise InvalidRequest('the layout must be an object of the form {"rows": [...]}')
    for key in layout:
        if key not in _LAYOUT_KEYS:
            raise InvalidRequest(f"the layout has an unknown key {key!r}; the only key allowed is 'rows'")
    if "rows" not in layout:
        raise InvalidRequest("the layout is missing 'rows' (a list of rows)")
    rows = layout["rows"]
    if not isinstance(rows, list):
        raise InvalidRequest(f"the layout's 'rows' must be a list of rows, not {_json_type(rows)}")
    return rows


def _validate_row(
    raw: object,
    number: int,
    displayed: Mapping[str, str],
    known: Collection[str],
    seen: dict[str, int],
) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise InvalidRequest(
            f'row {number} must be an object like {{"blocks": [...]}}, not {_json_type(raw)}'
        )
    for key in raw:
        if key not in _ROW_KEYS:
            raise InvalidRequest(
                f"row {number} has an unknown key {key!r}; a row allows only blocks, cols and height"
            )
    blocks = _validate_blocks(raw.get("blocks"), number, displayed, known, seen)
    row: dict[str, Any] = {"blocks": blocks}
    # An explicit null is read as "not given", as JSON callers often send it for optional fields.
    if raw.get("cols") is not None:
        row["cols"] = _validate_cols(raw["cols"], number, len(blocks))
    if raw.get("height") is not None:
        row["height"] = _validate_height(raw["height"], number)
    return row


def _validate_blocks(
    blocks: object,
    number: int,
    displayed: Mapping[str, str],
    known: Collection[str],
    seen: dict[str, int],
) -> list[str]:
    if blocks is None:
        raise InvalidRequest(f"row {number} is missing 'blocks' (the list of block ids it shows)")
    if not isinstance(blocks, list):
        raise InvalidRequest(f"row {number}: 'blocks' must be a list of block ids, not {_json_type(blocks)}")
    if not blocks:
        raise InvalidRequest(f"row {number} is empty; a row holds 1 to {MAX_BLOCKS_PER_ROW} blocks")
    if len(blocks) > MAX_BLOCKS_PER_ROW:
        raise InvalidRequest(
            f"row {number} has {len(blocks)} blocks; a row holds at most {MAX_BLOCKS_PER_ROW}, "
            "so split them over more rows"
        )
    for block_id in blocks:
        _check_block(block_id, number, displayed, known, seen)
        seen[block_id] = number
    return list(blocks)


def _check_block(
    block_id: object,
    number: int,
    displayed: Mapping[str, str],
    known: Collection[str],
    seen: Mapping[str, int],
) -> None:
    if not isinstance(block_id, str):
        raise InvalidRequest(f"row {number}: block ids must be strings, got {_json_value(block_id)}")
    if block_id in seen:
        where = "this row" if seen[block_id] == number else f"row {seen[block_id]}"
        raise InvalidRequest(
            f"row {number}: block {block_id!r} is listed twice (it is already in {where}); "
            "a block appears in the layout exactly once"
        )
    if block_id not in displayed:
        if block_id in known:
            raise InvalidRequest(
                f"row {number}: block {block_id!r} is hidden; show it with {_SET_DISPLAYED_TOOL} first"
            )
        raise InvalidRequest(f"row {number}: there is no block {block_id!r} on this dashboard")


def _validate_cols(cols: object, number: int, block_count: int) -> list[int]:
    if not isinstance(cols, list):
        raise InvalidRequest(
            f"row {number}: 'cols' must be a list of column widths, one per block, not {_json_type(cols)}"
        )
    if len(cols) != block_count:
        raise InvalidRequest(
            f"row {number}: 'cols' must give one width per block; the row has {block_count} "
            f"block(s) but {len(cols)} width(s)"
        )
    for width in cols:
        if not _is_int(width) or width <= 0:
            raise InvalidRequest(
                f"row {number}: 'cols' widths must be positive whole numbers, got {_json_value(width)}"
            )
    total = sum(cols)
    if total != GRID_COLUMNS:
        raise InvalidRequest(
            f"row {number}: 'cols' must add up to {GRID_COLUMNS}, but they add up to {total}"
        )
    return list(cols)


def _validate_height(height: object, number: int) -> int:
    if not _is_int(height) or not 1 <= height <= MAX_HEIGHT_PX:
        raise InvalidRequest(
            f"row {number}: 'height' must be a whole number of pixels from 1 to {MAX_HEIGHT_PX}, "
            f"got {_json_value(height)}"
        )
    return height


def _is_int(value: object) -> TypeGuard[int]:
    # bool is a subclass of int, but `true` is no width or height.
    return isinstance(value, int) and not isinstance(value, bool)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _json_value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)
