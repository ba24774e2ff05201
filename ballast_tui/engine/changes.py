"""Recording a change: its audit event (inside the change's transaction), its event on the bus
(after the commit), the blocks it leaves pending, and the cascade that re-runs them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from ballast_tui.engine import versions
from ballast_tui.engine.board_graph import BoardGraph
from ballast_tui.engine.cascade import Cascade, CascadeResult
from ballast_tui.engine.context import Context
from ballast_tui.engine.events import Event
from ballast_tui.engine.scope import BoardScope
from ballast_tui.engine.sessions import AGENT_CLIENT
from ballast_tui.storage import repos
from ballast_tui.storage.connection import Connection


def record(
    tx: Connection,
    ctx: Context,
    board_id: str | None,
    action: str,
    target: str | None = None,
    **details: Any,
) -> None:
    """Append the audit event of a change, inside the change's own transaction; a change to the
    board's definition also stores the board's next version (`engine.versions`).

    A change an MCP session made says so (`via: "mcp"`), whoever its user is.
    """
    if ctx.client == AGENT_CLIENT:
        details = {**details, "via": AGENT_CLIENT}
    repos.append_audit(tx, board_id, ctx.user.id, action, target, details)
    if board_id is not None and action in versions.VERSIONED_ACTIONS:
        summary = versions.summary_of(ctx.user.name, action, target, details)
        versions.snapshot(tx, board_id, ctx.user.id, summary)


def publish(ctx: Context, event: Event) -> None:
    """Tell every session in the board, after the change committed (the caller is its actor)."""
    ctx.ws.bus.publish(dataclasses.replace(event, actor=ctx.user.id))


def cascade(
    board: BoardScope, roots: Iterable[str], trigger: str, force: Iterable[str] = ()
) -> CascadeResult:
    """Re-run `roots` and everything downstream of them."""
    g = board.graph()
    run_set = g.downstream([r for r in roots if r in g.by_id])
    return Cascade(board.ws, g, board.id, trigger=trigger, actor=board.ctx.user.id).run(run_set, force=force)


def mark_pending(tx: Connection, g: BoardGraph, roots: Iterable[str]) -> None:
    """Mark what a change will re-run as `pending`, in the change's own transaction.

    If the process dies before the cascade finishes, those blocks stay
    `pending` rather than showing outputs of an older config, and
    `resume_pending` re-runs them at the next start.
    """
    ids = sorted(g.downstream([r for r in roots if r in g.by_id]))
    if ids:
        marks = ", ".join("?" for _ in ids)
        tx.execute(f"UPDATE blocks SET state = 'pending' WHERE id IN ({marks})", ids)


def check_unlocked(board: BoardScope, block_id: str) -> None:
    """423 when another session holds the block."""
    board.ws.sessions.check(board.id, block_id, board.ctx.session_key)
