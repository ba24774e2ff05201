"""What anyone with a published link may see: the displayed blocks of a `link_view` board.

Not a registered tool: its caller has no account, so there is no `Context` and
no role. `public_dashboard(ws, slug, request)` answers the board's title,
layout and displayed blocks, each with just what it takes to draw it: no SQL,
no internal (hidden) blocks, no catalog, no block config beyond a chart's
kind/x/y/title, a metric's column/format and a markdown block's text.

`filter_overrides` (keyed by a displayed control's name or id, with values the
control allows) bind for this call alone: the displayed blocks that depend on
them are computed with a `Cascade(persist=False)` and nothing is stored.

The same override machinery (`resolve_overrides`, `compute_with_overrides`)
serves authenticated exports with `filter_overrides`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ballast_tui.engine import data
from ballast_tui.engine.blocks import (
    CONTROL_TYPES,
    DATERANGE,
    ENUM,
    describe_validation_error,
    validate_control_value,
)
from ballast_tui.engine.board_graph import BoardGraph, build_graph
from ballast_tui.engine.cascade import Cascade, CascadeResult
from ballast_tui.engine.errors import InvalidRequest, NotFound, PasswordRequired
from ballast_tui.engine.executor import QueryError
from ballast_tui.engine.hashing import verify_secret
from ballast_tui.engine.outputs import Output
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage import repos

Row = dict[str, Any]

MAX_ROWS = 1000
"""Rows of each displayed block in the answer (`row_count` tells the whole)."""

DATE_PRESETS = ("7d", "30d", "90d", "today")
"""The choices a date-range control offers a public viewer (any value it allows is accepted)."""

PASSWORD_MAX = 1024


class PublicRequest(BaseModel):
    """The body of ``POST /api/v1/public/dashboards/{slug}``; unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True)

    password: str | None = Field(default=None, max_length=PASSWORD_MAX)
    filter_overrides: dict[str, Any] | None = None

    @property
    def carries_password(self) -> bool:
        """Whether this is a password attempt (an empty password is no attempt)."""
        return bool(self.password)


class WrongPassword(PasswordRequired):
    """A password was given and it is not the board's: what a rate limit counts."""


def parse_request(body: Mapping[str, Any]) -> PublicRequest:
    """The public request, or 400 `invalid_request` naming what is wrong."""
    try:
        return PublicRequest.model_validate(dict(body))
    except ValidationError as error:
        raise InvalidRequest(describe_validation_error(error, "public dashboard request")) from None


def published_board(ws: Workspace, slug: str) -> Row:
    """The board published under `slug`, or 404 (unknown slug, or no longer `link_view`)."""
    row = repos.board_by_slug(ws.db, slug)
    if row is None or row["visibility"] != "link_view":
        raise NotFound(f"no published dashboard {slug!r}")
    return row


def check_password(row: Row, password: str | None) -> None:
    """403 `password_required` unless the board is open or `password` is its password.

    The comparison is `verify_secret`'s: a slow salted hash, compared in constant time.
    """
    stored = row["password_hash"]
    if not stored:
        return
    if not password:
        raise PasswordRequired("this dashboard is protected: send its password")
    if not verify_secret(password, stored):
        raise WrongPassword("wrong password for this dashboard")


# -- overrides ----------------------------------------------------------------


def resolve_overrides(
    blocks: Sequence[Row], overrides: Mapping[str, Any], *, displayed_only: bool = False
) -> dict[str, Any]:
    """Override values keyed by control block id (names accepted), each one the control allows.

    With `displayed_only`, a hidden block counts as unknown: a public viewer
    neither sees nor sets internal blocks.
    """
    by_id = {b["id"]: b for b in blocks}
    by_name = {b["name"]: b for b in blocks}
    resolved: dict[str, Any] = {}
    for key, value in overrides.items():
        control = by_id.get(key) or by_name.get(key)
        if control is None or (displayed_only and not control["displayed"]):
            raise InvalidRequest(f"filter_overrides: no control {key!r} on this dashboard")
        if control["type"] not in CONTROL_TYPES:
            raise InvalidRequest(f"filter_overrides: {control['name']!r} is not a control")
        try:
            resolved[control["id"]] = validate_control_value(control["type"], control["config"], value)
        except InvalidRequest as error:
            raise InvalidRequest(f"filter_overrides: {control['name']!r}: {error.message}") from None
    return resolved


def compute_with_overrides(
    ws: Workspace,
    board_id: str,
    g: BoardGraph,
    overrides: Mapping[str, Any],
    targets: Iterable[str],
    actor: str | None = None,
) -> CascadeResult:
    """Compute, without storing anything, every block of `targets` (and what they need in
    between) that depends on an overridden control; the rest keep their current outputs."""
    targets = list(targets)
    needed = g.downstream(overrides) & g.upstream(targets)
    cascade = Cascade(ws, g, board_id, trigger="manual", actor=actor, persist=False, overrides=overrides)
    return cascade.run(needed, force=needed)


# -- the answer ---------------------------------------------------------------


def _first_rows(ws: Workspace, board_id: str, output: Output, limit: int) -> list[Row]:
    if output.table is not None:
        return data.table_rows(output.table.slice(0, limit))
    table = ws.executor.query(
        board_id, "SELECT * FROM __out LIMIT $limit", {"__out": output.relation}, {"limit": limit}
    )
    return data.table_rows(table)


def _drawing(block: Row, value: Any) -> Row:
    """The part of a block's config a viewer needs to draw it, and a control's choices."""
    config = block["config"]
    kind = block["type"]
    if kind == "chart":
        drawn = {"kind": config["kind"], "x": config["x"], "y": config["y"]}
        if config.get("title"):
            drawn["title"] = config["title"]
        return drawn
    if kind == "metric":
        return {"column": config["column"], **({"format": config["format"]} if config.get("format") else {})}
    if kind == "markdown":
        return {"text": config["text"]}
    if kind == ENUM:
        return {"options": list(config["options"]), "value": value}
    if kind == DATERANGE:
        return {"options": list(DATE_PRESETS), "value": value}
    return {}


def _describe(
    ws: Workspace, board_id: str, block: Row, output: Output | None, status: str, value: Any
) -> Row:
    """One displayed block as a public viewer gets it."""
    described: Row = {
        "id": block["id"],
        "name": block["name"],
        "type": block["type"],
        "status": status if output is not None else ("error" if status == "success" else status),
        **_drawing(block, value),
        "columns": output.columns if output else [],
        "row_count": output.row_count if output else 0,
        "rows": [],
    }
    if output is None:
        return described
    try:
        described["rows"] = _first_rows(ws, board_id, output, MAX_ROWS)
        if block["type"] == "chart":
            described["series"] = data.chart_series(
                ws, board_id, block["config"], output, data.DEFAULT_MAX_POINTS
            )
    except QueryError:
        # Never the message: it may name internal blocks or quote SQL.
        described.update(status="error", rows=[], series=None)
    return described


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


def public_dashboard(ws: Workspace, slug: str, request: PublicRequest) -> Row:
    """The contract's public answer: ``{"dashboard": {title, layout, blocks}}``.

    404 `not_found` for an unknown or unpublished slug; 403 `password_required`
    for a protected board without its password (`WrongPassword` when one was
    given); 400 `invalid_request` for an override the board's displayed
    controls do not allow.
    """
    board = published_board(ws, slug)
    check_password(board, request.password)
    board_id = str(board["id"])
    blocks = repos.blocks(ws.db, board_id)
    overrides = resolve_overrides(blocks, request.filter_overrides or {}, displayed_only=True)
    displayed = {b["id"]: b for b in blocks if b["displayed"]}
    layout, order = layout_order(board["layout"], displayed)
    result = CascadeResult()
    if overrides:
        sources = {s["name"]: s for s in repos.sources(ws.db, board_id)}
        g = build_graph(blocks, sources)
        result = compute_with_overrides(ws, board_id, g, overrides, order)
    computed = set(result.ran) | set(result.failed) | set(result.upstream_error)
    described = []
    for block_id in order:
        block = displayed[block_id]
        value = None
        if block["type"] in CONTROL_TYPES:
            stored = block["value"] if block["value"] is not None else block["config"].get("default")
            value = overrides.get(block_id, stored)
        if block_id in computed:
            output = result.outputs.get(block_id)
            status = "success" if output is not None else "error"
        else:
            _run, output = data.current_output(ws, board_id, block)
            status = str(block["state"])
        described.append(_describe(ws, board_id, block, output, status, value))
    return {
        "dashboard": {
            "title": board["title"],
            "slug": board["slug"],
            "layout": layout,
            "blocks": described,
            "lastRefreshedAt": board["last_refreshed_at"],
        }
    }
