"""What the tool modules share: loading a board with the caller's role, describing
boards and blocks, recording a change (audit + event), and starting cascades."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from ballast_tui.config import DEFAULT_HOST, DEFAULT_PORT
from ballast_tui.engine import access
from ballast_tui.engine.blocks import CONTROL_TYPES
from ballast_tui.engine.board_graph import BoardGraph, build_graph
from ballast_tui.engine.cascade import Cascade, CascadeResult
from ballast_tui.engine.errors import NotFound
from ballast_tui.engine.sessions import AGENT_CLIENT
from ballast_tui.storage import repos
from ballast_tui.tools.registry import Context

Row = dict[str, Any]


@dataclass
class Board:
    """A board row and the caller's role on it."""

    row: Row
    role: str | None

    @property
    def id(self) -> str:
        return str(self.row["id"])


def load_board(ctx: Context, board_id: str, action: str) -> Board:
    """The board, if it exists (404) and the caller may do `action` on it (403)."""
    row = repos.board(ctx.ws.db, board_id)
    if row is None:
        raise NotFound(f"no dashboard or conversation {board_id!r}")
    role = access.role_of(ctx.ws.db, row, ctx.user.id)
    access.require(role, action)
    return Board(row, role)


def load_block(ctx: Context, board: Board, block_id: str) -> Row:
    """A block of the board, by id (or by name, for people typing at a prompt)."""
    row = repos.block(ctx.ws.db, board.id, block_id)
    if row is not None:
        return row
    blocks = repos.blocks(ctx.ws.db, board.id)
    row = next((b for b in blocks if b["name"] == block_id), None)
    if row is None:
        names = [b["name"] for b in blocks]
        raise NotFound(
            f"no block {block_id!r} in {board.id}; "
            + (f"its blocks (by name): {', '.join(names)}" if names else "it has no blocks yet"),
            accepted=names,
        )
    return row


def board_graph(ctx: Context, board_id: str, blocks: list[Row] | None = None) -> BoardGraph:
    """The checked graph of a board (of `blocks` when given, e.g. a proposed change)."""
    sources = {s["name"]: s for s in repos.sources(ctx.ws.db, board_id)}
    return build_graph(blocks if blocks is not None else repos.blocks(ctx.ws.db, board_id), sources)


def describe_block(row: Row) -> Row:
    """A block as tools answer it."""
    described = {
        "id": row["id"],
        "name": row["name"],
        "type": row["type"],
        "config": row["config"],
        "displayed": row["displayed"],
        "version": row["version"],
        "state": row["state"],
        "error": row["error"],
        "current_run_id": row["current_run_id"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    if row["type"] in CONTROL_TYPES:
        described["value"] = row["value"] if row["value"] is not None else row["config"].get("default")
    return described


def public_url(ctx: Context, slug: str | None) -> str | None:
    """``{public base URL}/public/dashboards/{slug}``, or None for an unpublished board.

    The base is `Settings.public_url`: `--public-url` when given, else the
    address a running server announced (`server.app.announce_address` sets it
    once the server listens), else the default address a server would take.
    """
    if not slug:
        return None
    base = (ctx.ws.settings.public_url or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}").rstrip("/")
    return f"{base}/public/dashboards/{slug}"


def describe_board(ctx: Context, row: Row, role: str | None) -> Row:
    """The summary of a board used by lists: the seed's fields and a few more."""
    return {
        "id": row["id"],
        "title": row["title"],
        "kind": row["kind"],
        "isDashboard": row["kind"] == "dashboard",
        "isPublic": row["visibility"] == "link_view",
        "visibility": row["visibility"],
        "role": role,
        "owner_id": row["owner_id"],
        "slug": row["slug"],
        "publicUrl": public_url(ctx, row["slug"]),
        "passwordProtected": bool(row["password_hash"]),
        "refreshEnabled": bool(row["refresh_enabled"]),
        "refreshInterval": row["refresh_interval"],
        "lastRefreshedAt": row["last_refreshed_at"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }


def record(
    tx: sqlite_utils.Database,
    ctx: Context,
    board_id: str | None,
    action: str,
    target: str | None = None,
    **details: Any,
) -> None:
    """Append the audit event of a change, inside the change's own transaction.

    A change an MCP session made says so (`via: "mcp"`), whoever its user is.
    """
    if ctx.client == AGENT_CLIENT:
        details = {**details, "via": AGENT_CLIENT}
    repos.append_audit(tx, board_id, ctx.user.id, action, target, details)


def publish(ctx: Context, board_id: str, event_type: str, **payload: Any) -> None:
    """Tell every session in the board, after the change committed."""
    ctx.ws.bus.publish(board_id, event_type, actor=ctx.user.id, **payload)


def cascade(
    ctx: Context, board_id: str, roots: Iterable[str], trigger: str, force: Iterable[str] = ()
) -> CascadeResult:
    """Re-run `roots` and everything downstream of them."""
    g = board_graph(ctx, board_id)
    run_set = g.downstream([r for r in roots if r in g.by_id])
    return Cascade(ctx.ws, g, board_id, trigger=trigger, actor=ctx.user.id).run(run_set, force=force)


def mark_pending(tx: sqlite_utils.Database, g: BoardGraph, roots: Iterable[str]) -> None:
    """Mark what a change will re-run as `pending`, in the change's own transaction.

    If the process dies before the cascade finishes, those blocks stay
    `pending` rather than showing outputs of an older config, and
    `resume_pending` re-runs them at the next start.
    """
    ids = sorted(g.downstream([r for r in roots if r in g.by_id]))
    if ids:
        marks = ", ".join("?" for _ in ids)
        tx.execute(f"UPDATE blocks SET state = 'pending' WHERE id IN ({marks})", ids)


def check_unlocked(ctx: Context, board_id: str, block_id: str) -> None:
    """423 when another session holds the block."""
    ctx.ws.sessions.check(board_id, block_id, ctx.session_key)
