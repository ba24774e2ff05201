"""A published page's state: the viewer's choices from the query string, the form's controls, its
CSV links, and its keys.

The drawing key is a hash of everything the drawings depend on (the blocks,
their current runs, the layout, the title, the choices, the day when a date
range is shown): equal keys draw equal boards, so it names the cached
drawings (the wide one and the narrow one, drawn together). The page key adds
the link's options (its CSV links, who may frame it): it is the page's ETag
and the name of the built page in the server's cache. The answer key adds the
slug and the password's version to the drawing key: it names the encoded JSON
answer (``POST /api/v1/public/dashboards/{slug}``) in the server's cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from ballast_tui.engine import overrides
from ballast_tui.engine.blocks import CONTROL_TYPES, DATERANGE, ENUM
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.public_options import PublicOptions
from ballast_tui.engine.scope import BoardScope
from ballast_tui.published.board import DATE_PRESETS, displayed_in_order
from ballast_tui.published.downloads import download_links

Row = dict[str, Any]

RENDER_VERSION = 2
"""Bumped when the drawing changes for the same data, so cached drawings are not reused (2: a narrow
drawing beside the wide one)."""

CUSTOM = "custom"
"""The date-range choice that takes its two dates from `<name>.start` and `<name>.end`."""


def choices_from_query(board: BoardScope, query: Mapping[str, str]) -> dict[str, Any]:
    """The viewer's control choices from the page's query string, keyed by control block id.

    `?region=EU` picks an option of the displayed control `region`; a date range
    takes a preset (`?period=30d`) or `?period=custom&period.start=…&period.end=…`.
    Parameters that name no displayed control are ignored (links pick up
    tracking parameters); a choice equal to the stored value is no override.
    400 `invalid_request` for a value the control does not allow.
    """
    raw: dict[str, Any] = {}
    for block in board.blocks():
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
        if value != overrides.stored_value(block):
            raw[block["id"]] = value
    return overrides.resolve(board, raw)


def choices_query(board: BoardScope, values: Mapping[str, Any]) -> dict[str, str]:
    """The query string that picks `values` (control id -> value) on the page: `choices_from_query`
    read backwards."""
    query: dict[str, str] = {}
    for block in board.blocks():
        if block["id"] not in values or block["type"] not in CONTROL_TYPES:
            continue
        name, value = block["name"], values[block["id"]]
        if block["type"] != ENUM and isinstance(value, dict):
            query.update({name: CUSTOM, f"{name}.start": value["start"], f"{name}.end": value["end"]})
        else:
            query[name] = str(value)
    return query


def control_choices(board: BoardScope, values: Mapping[str, Any]) -> list[Row]:
    """The displayed controls as the page's form offers them, in layout order."""
    _layout, order = displayed_in_order(board.row, board.blocks())
    return [_choice(b, values) for b in order if b["type"] in CONTROL_TYPES]


def _choice(block: Row, values: Mapping[str, Any]) -> Row:
    value = values.get(block["id"], overrides.stored_value(block))
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


def page_key(board: Row, states: list[Row], values: Mapping[str, Any], today: date) -> str:
    """The drawing key: a hash of everything the drawn board depends on (`states` as
    `repos.block_states` gives them).

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
        "overrides": values,
        "today": today.isoformat() if any(b["type"] == DATERANGE for b in states) else None,
    }
    return _hash(material)


def options_key(drawing_key: str, options: PublicOptions) -> str:
    """The page key: the drawing key with the link's options (CSV links, framing origins)."""
    return _hash({"drawing": drawing_key, "options": options.describe()})


def answer_key(board: BoardScope, values: Mapping[str, Any]) -> str:
    """The key of the board's JSON answer for `values` (control id -> value, resolved): the drawing
    key's material (the blocks, their current runs, the layout, the title, the last refresh, the
    choices, the day when a date range is shown), the slug and the password's version."""
    drawing = page_key(board.row, board.states(), values, board.ws.today())
    return _hash({"answer": drawing, "slug": board.row["slug"], "password": board.row["password_version"]})


def _hash(material: Any) -> str:
    encoded = json.dumps(material, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:32]


def page_state(board: BoardScope, query: Mapping[str, str]) -> Row:
    """What the server needs to answer a page request: the board's public fields, the viewer's
    resolved choices, the page's key, the drawing key and the drawing key of the page without
    choices (the preview's), the form's controls, the CSV links, the framing origins, and whether
    the board shows nothing."""
    states = board.states()
    values = choices_from_query(board, query) if query else {}
    today = board.ws.today()
    drawing = page_key(board.row, states, values, today)
    options = PublicOptions.of(board.row)
    return {
        "board": {
            "id": board.id,
            "title": board.row["title"],
            "slug": board.row["slug"],
            "protected": bool(board.row["password_hash"]),
            "lastRefreshedAt": board.row["last_refreshed_at"],
        },
        "overrides": values,
        "key": options_key(drawing, options),
        "drawing_key": drawing,
        "default_key": page_key(board.row, states, {}, today) if values else drawing,
        "controls": control_choices(board, values),
        "downloads": download_links(board, choices_query(board, values)),
        "embed_origins": list(options.embed_origins),
        "empty": not any(state["displayed"] for state in states),
    }
