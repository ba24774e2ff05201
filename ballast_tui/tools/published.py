"""What a published page shows: a board's displayed blocks with their outputs, and the page's key.

Not a tool (a public viewer has no account). The server's public page and the
page renderer both build on it:

- `page_state(ws, slug, query)` is the cheap part, run on every request: the
  board behind the slug, the viewer's control choices (`overrides_from_query`)
  and `key`, a hash of everything the drawn page depends on (the blocks, their
  current runs, the layout, the title, the choices). Equal keys draw equal
  pages, so the key is the page's ETag and the name of its cached drawing.
- `load_published(ws, board_id, overrides)` is the expensive part, run only
  when a drawing for the key is missing: the displayed blocks in layout order,
  each with the output it shows, computed with a `Cascade(persist=False)` for
  the overridden controls (nothing stored).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ballast_tui.engine import data
from ballast_tui.engine.blocks import CONTROL_TYPES, DATERANGE, ENUM, resolve_daterange
from ballast_tui.engine.board_graph import build_graph
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.outputs import Output
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage import repos
from ballast_tui.tools import public as public_access
from ballast_tui.tools.public import DATE_PRESETS, layout_order

Row = dict[str, Any]

RENDER_VERSION = 1
"""Bumped when the drawing changes for the same data, so cached drawings are not reused."""

CUSTOM = "custom"
"""The date-range choice that takes its two dates from `<name>.start` and `<name>.end`."""


@dataclass(frozen=True)
class PageState:
    """One request's view of a published board: enough to answer 304, a cached page, or draw it.

    `states` are the blocks without their configs (`repos.block_states`): all
    the key needs. The form's controls need the configs: `controls(blocks)`.
    """

    board: Row
    states: list[Row]
    overrides: dict[str, Any]
    key: str

    @property
    def board_id(self) -> str:
        return str(self.board["id"])

    @property
    def protected(self) -> bool:
        return bool(self.board["password_hash"])

    @property
    def empty(self) -> bool:
        """Whether the board shows no block at all."""
        return not any(state["displayed"] for state in self.states)

    def controls(self, blocks: list[Row]) -> list[Row]:
        """The displayed controls as the page's form offers them, in layout order (`blocks` with
        their configs)."""
        order = _displayed_order(self.board, blocks)
        return [_control_choice(b, self.overrides) for b in order if b["type"] in CONTROL_TYPES]


@dataclass
class PublishedBlock:
    """A displayed block as drawn: its row (a control's `value` is the viewer's), output and status."""

    block: Row
    output: Output | None
    status: str


@dataclass
class PublishedBoard:
    """What the renderer draws."""

    board_id: str
    title: str
    layout: Row
    blocks: list[PublishedBlock] = field(default_factory=list)
    last_refreshed_at: str | None = None


def stored_value(block: Row) -> Any:
    """A control's stored value, else its default."""
    return block["value"] if block["value"] is not None else block["config"].get("default")


def _displayed_order(board: Row, blocks: list[Row]) -> list[Row]:
    displayed = {b["id"]: b for b in blocks if b["displayed"]}
    _layout, order = layout_order(board["layout"], displayed)
    return [displayed[block_id] for block_id in order]


def _control_choice(block: Row, overrides: Mapping[str, Any]) -> Row:
    value = overrides.get(block["id"], stored_value(block))
    choice: Row = {"name": block["name"], "type": block["type"], "value": value}
    if block["type"] == ENUM:
        choice["options"] = [str(option) for option in block["config"]["options"]]
        choice["selected"] = str(value)
    else:
        choice["options"] = list(DATE_PRESETS)
        custom = isinstance(value, dict)
        choice["selected"] = CUSTOM if custom else str(value)
        choice["start"] = value.get("start", "") if custom else ""
        choice["end"] = value.get("end", "") if custom else ""
    return choice


# -- the viewer's choices -----------------------------------------------------


def overrides_from_query(blocks: list[Row], query: Mapping[str, str]) -> dict[str, Any]:
    """The viewer's control choices from the page's query string, keyed by control block id.

    `?region=EU` picks an option of the displayed control `region`; a date range
    takes a preset (`?period=30d`) or `?period=custom&period.start=…&period.end=…`.
    Parameters that name no displayed control are ignored (links pick up
    tracking parameters); a choice equal to the stored value is no override.
    400 `invalid_request` for a value the control does not allow.
    """
    raw: dict[str, Any] = {}
    for block in blocks:
        name = block["name"]
        if not block["displayed"] or block["type"] not in CONTROL_TYPES or name not in query:
            continue
        text = query[name]
        if block["type"] == ENUM:
            options = {str(option): option for option in block["config"]["options"]}
            if text not in options:
                raise InvalidRequest(f"{name}: {text!r} is not one of {list(options)}")
            value: Any = options[text]
        elif text == CUSTOM:
            start, end = query.get(f"{name}.start", ""), query.get(f"{name}.end", "")
            if not start or not end:
                raise InvalidRequest(f"{name}: a custom range needs both a start and an end date")
            value = {"start": start, "end": end}
        else:
            value = text
        if value != stored_value(block):
            raw[block["id"]] = value
    return public_access.resolve_overrides(blocks, raw, displayed_only=True)


# -- the key ------------------------------------------------------------------


def page_key(board: Row, states: list[Row], overrides: Mapping[str, Any], today: date) -> str:
    """A hash of everything the drawn page depends on (`states` as `repos.block_states` gives them).

    Every block counts, hidden ones too: an overridden control recomputes
    through them. Relative date ranges move with the day, so the day counts
    too whenever the board has a date range.
    """
    material = {
        "v": RENDER_VERSION,
        "board": [board["id"], board["title"], board["layout"], board["last_refreshed_at"]],
        "blocks": [
            [b["id"], b["name"], b["version"], b["displayed"], b["current_run_id"], b["state"], b["value"]]
            for b in states
        ],
        "overrides": overrides,
        "today": today.isoformat() if any(b["type"] == DATERANGE for b in states) else None,
    }
    encoded = json.dumps(material, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:32]


def state_of(ws: Workspace, board: Row, query: Mapping[str, str] | None = None) -> PageState:
    """A published board's page state for the viewer's `query` (its configs are read only when the
    query has parameters to check)."""
    board_id = str(board["id"])
    states = repos.block_states(ws.db, board_id)
    overrides = overrides_from_query(repos.blocks(ws.db, board_id), query) if query else {}
    return PageState(board, states, overrides, page_key(board, states, overrides, ws.today()))


def page_state(ws: Workspace, slug: str, query: Mapping[str, str] | None = None) -> PageState:
    """The published board behind `slug` (404 otherwise), the viewer's choices and the page's key."""
    return state_of(ws, public_access.published_board(ws, slug), query)


# -- what is drawn ------------------------------------------------------------


def load_published(ws: Workspace, board_id: str, overrides: Mapping[str, Any]) -> PublishedBoard:
    """The displayed blocks of a board with the outputs they show under `overrides`.

    Overrides (by control id) are computed without storing anything; a block
    that fails shows as `error`, without its message (it may quote SQL or
    name internal blocks).
    """
    board = repos.board(ws.db, board_id)
    if board is None:
        raise InvalidRequest(f"no board {board_id!r}")
    blocks = repos.blocks(ws.db, board_id)
    order = _displayed_order(board, blocks)
    layout, _ = layout_order(board["layout"], {b["id"]: b for b in order})
    computed: dict[str, Output | None] = {}
    if overrides:
        sources = {s["name"]: s for s in repos.sources(ws.db, board_id)}
        graph = build_graph(blocks, sources)
        result = public_access.compute_with_overrides(
            ws, board_id, graph, overrides, [b["id"] for b in order]
        )
        for block_id in {*result.ran, *result.failed, *result.upstream_error}:
            computed[block_id] = result.outputs.get(block_id)
    published = PublishedBoard(board_id, str(board["title"]), layout, [], board["last_refreshed_at"])
    for block in order:
        shown = dict(block)
        if block["type"] in CONTROL_TYPES:
            shown["value"] = overrides.get(block["id"], stored_value(block))
        if block["id"] in computed:
            output = computed[block["id"]]
            status = "success" if output is not None else "error"
        else:
            _run, output = data.current_output(ws, board_id, block)
            status = str(block["state"])
            if status == "success" and output is None:
                status = "error"
        published.blocks.append(PublishedBlock(shown, output, status))
    return published


def describe_range(value: Any, today: date) -> str:
    """A date-range value as the dates it covers, for a page's text."""
    try:
        start, end = resolve_daterange(value, today)
    except (InvalidRequest, ValueError, KeyError, TypeError):
        return str(value)
    return f"{start.isoformat()} – {end.isoformat()}"
