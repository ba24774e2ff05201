"""What a published link shows: a `link_view` board's displayed blocks, in layout order, with the
outputs they show under a viewer's choices.

Pure data, no drawing (the server's tools use it; the drawing process draws it):

- `drawing_config` is the part of a block's config a viewer needs to draw it:
  never SQL, sources or inputs.
- `load` computes, storing nothing, the displayed blocks that depend on the
  viewer's overridden controls (`overrides.computed`, shared by every block of
  one page), and takes the others' current outputs.
- `public_answer` is the contract's JSON answer for
  ``POST /api/v1/public/dashboards/{slug}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ballast_tui.engine import data, overrides
from ballast_tui.engine.blocks import CONTROL_TYPES, DATERANGE, ENUM
from ballast_tui.engine.computed_cache import Computed
from ballast_tui.engine.executor import QueryError
from ballast_tui.engine.outputs import Output
from ballast_tui.engine.scope import BoardScope

Row = dict[str, Any]

MAX_ROWS = 1000
"""Rows of each displayed block in the JSON answer (`row_count` tells the whole)."""

DATE_PRESETS = ("7d", "30d", "90d", "today")
"""The choices a date-range control offers a public viewer (any value it allows is accepted)."""

_DRAWN_KEYS = ("kind", "x", "y", "series", "stacked", "title", "columns", "column", "format", "text")


@dataclass
class PublishedBlock:
    """A displayed block as drawn: its row (a control's `value` is the viewer's), output and status."""

    block: Row
    output: Output | None
    status: str


@dataclass
class PublishedBoard:
    """What a published page draws."""

    board_id: str
    title: str
    layout: Row
    blocks: list[PublishedBlock] = field(default_factory=list)
    last_refreshed_at: str | None = None


def layout_order(layout: Row, displayed: Mapping[str, Row]) -> tuple[Row, list[str]]:
    """The layout restricted to displayed blocks, and those blocks in reading order."""
    rows: list[Row] = []
    order: list[str] = []
    for row in layout.get("rows", []):
        ids = [b for b in row.get("blocks", []) if b in displayed and b not in order]
        if not ids:
            continue
        kept: Row = {"blocks": ids}
        if row.get("cols") is not None and len(row["cols"]) == len(ids):
            kept["cols"] = row["cols"]
        if row.get("height") is not None:
            kept["height"] = row["height"]
        rows.append(kept)
        order.extend(ids)
    order.extend(b for b in displayed if b not in order)
    return {"rows": rows}, order


def one_per_row(layout: Row) -> Row:
    """The layout for a narrow screen: every block on a row of its own, in reading order (a row's
    set height kept for each of its blocks)."""
    rows: list[Row] = []
    for row in layout.get("rows", []):
        for block_id in row.get("blocks", []):
            single: Row = {"blocks": [block_id]}
            if row.get("height") is not None:
                single["height"] = row["height"]
            rows.append(single)
    return {"rows": rows}


def displayed_in_order(board_row: Row, blocks: list[Row]) -> tuple[Row, list[Row]]:
    """The board's layout over its displayed blocks, and those blocks in reading order."""
    displayed = {b["id"]: b for b in blocks if b["displayed"]}
    layout, order = layout_order(board_row["layout"], displayed)
    return layout, [displayed[block_id] for block_id in order]


def drawing_config(block: Row) -> Row:
    """The part of a block's config a viewer needs to draw it (no SQL, no source, no inputs)."""
    config = block["config"]
    drawn = {key: config[key] for key in _DRAWN_KEYS if config.get(key) is not None}
    if block["type"] == ENUM:
        drawn["options"] = list(config["options"])
    if block["type"] in CONTROL_TYPES and "default" in config:
        drawn["default"] = config["default"]
    if block["type"] != "table":
        drawn.pop("columns", None)
    return drawn


def shown_block(block: Row, values: Mapping[str, Any]) -> Row:
    """A displayed block as a viewer gets it: id, name, type, its drawing config, and a control's
    value (the viewer's choice, else the stored one)."""
    shown: Row = {
        "id": block["id"],
        "name": block["name"],
        "type": block["type"],
        "config": drawing_config(block),
        "displayed": True,
        "state": block["state"],
    }
    if block["type"] in CONTROL_TYPES:
        shown["value"] = values.get(block["id"], overrides.stored_value(block))
    return shown


def load(board: BoardScope, values: Mapping[str, Any]) -> PublishedBoard:
    """The displayed blocks of a published board with the outputs they show under `values` (control
    id -> value, already resolved). A block that fails shows as `error`, never with its message (it
    may quote SQL or name hidden blocks)."""
    layout, order = displayed_in_order(board.row, board.blocks())
    computed = overrides.computed(board, values, [b["id"] for b in order]) if values else None
    published = PublishedBoard(board.id, str(board.row["title"]), layout, [], board.row["last_refreshed_at"])
    published.blocks = [_shown(board, block, values, computed) for block in order]
    return published


def load_block(board: BoardScope, values: Mapping[str, Any], block: Row) -> PublishedBlock:
    """One displayed block of a published board as `load` shows it (sharing its computation)."""
    _layout, order = displayed_in_order(board.row, board.blocks())
    computed = overrides.computed(board, values, [b["id"] for b in order]) if values else None
    return _shown(board, block, values, computed)


def _shown(
    board: BoardScope, block: Row, values: Mapping[str, Any], computed: Computed | None
) -> PublishedBlock:
    if computed is not None and block["id"] in computed.touched:
        output = computed.outputs.get(block["id"])
        status = "success" if output is not None else "error"
    else:
        _run, output = data.current_output(board.ws, board.id, block)
        status = str(block["state"])
        if status == "success" and output is None:
            status = "error"
    return PublishedBlock(shown_block(block, values), output, status)


def block_data(
    board: BoardScope, shown: PublishedBlock, limit: int, offset: int, max_points: int | None
) -> Row:
    """One displayed block's data as a view draws it (`dashboard_block_data`'s shape, no run)."""
    failed = shown.status in ("error", "upstream_error")
    answer: Row = {
        "block_id": shown.block["id"],
        "run_id": None,
        "finished_at": None,
        "status": shown.status,
        "error": "this block could not be computed" if failed else None,
        "columns": shown.output.columns if shown.output else [],
        "row_count": shown.output.row_count if shown.output else 0,
        "rows": [],
    }
    try:
        answer.update(
            data.output_data(board.ws, board.id, shown.block, shown.output, limit, offset, max_points)
        )
    except QueryError:
        answer.update(status="error", error="this block could not be computed", rows=[])
    return answer


def _answer_drawing(block: Row) -> Row:
    """What the JSON answer carries of a block's drawing: a chart's kind/x/y/title, a metric's
    column/format, a markdown text, a control's choices and value."""
    config = block["config"]
    kind = block["type"]
    if kind == "chart":
        drawn = {"kind": config["kind"], "x": config["x"], "y": config["y"]}
        for key in ("series", "stacked", "title"):
            if config.get(key):
                drawn[key] = config[key]
        return drawn
    if kind == "metric":
        return {"column": config["column"], **({"format": config["format"]} if config.get("format") else {})}
    if kind == "markdown":
        return {"text": config["text"]}
    if kind == ENUM:
        return {"options": list(config["options"]), "value": block["value"]}
    if kind == DATERANGE:
        return {"options": list(DATE_PRESETS), "value": block["value"]}
    return {}


def public_answer(board: BoardScope, values: Mapping[str, Any]) -> Row:
    """The contract's public answer: ``{"dashboard": {title, slug, layout, blocks, lastRefreshedAt}}``."""
    published = load(board, values)
    described = []
    for shown in published.blocks:
        item: Row = {
            "id": shown.block["id"],
            "name": shown.block["name"],
            "type": shown.block["type"],
            "status": shown.status,
            **_answer_drawing(shown.block),
            "columns": shown.output.columns if shown.output else [],
            "row_count": shown.output.row_count if shown.output else 0,
            "rows": [],
        }
        if shown.output is not None:
            try:
                item["rows"] = data.first_rows(board.ws, board.id, shown.output, MAX_ROWS)
                if shown.block["type"] == "chart":
                    item["series"] = data.chart_series(
                        board.ws, board.id, shown.block["config"], shown.output, data.DEFAULT_MAX_POINTS
                    )
            except QueryError:
                # Never the message: it may name internal blocks or quote SQL.
                item.update(status="error", rows=[], series=None)
        described.append(item)
    return {
        "dashboard": {
            "title": published.title,
            "slug": board.row["slug"],
            "layout": published.layout,
            "blocks": described,
            "lastRefreshedAt": published.last_refreshed_at,
        }
    }
