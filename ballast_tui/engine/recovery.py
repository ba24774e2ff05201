"""Resuming what a stopped process left half-done: blocks still `pending`.

A change marks what it will re-run as `pending` in its own transaction, so
after a crash mid-cascade those blocks are known, and nothing shows an output
computed from an older config as if it were current.
"""

from __future__ import annotations

import logging

from ballast_tui.engine.board_graph import build_graph
from ballast_tui.engine.cascade import Cascade, CascadeResult
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage import repos

log = logging.getLogger(__name__)


def resume_pending(ws: Workspace) -> dict[str, CascadeResult]:
    """Run every `pending` block and what depends on it, board by board; return each board's cascade."""
    results: dict[str, CascadeResult] = {}
    for row in ws.db.rows("SELECT DISTINCT board_id FROM blocks WHERE state = 'pending' ORDER BY board_id"):
        board_id = row["board_id"]
        blocks = repos.blocks(ws.db, board_id)
        try:
            g = build_graph(blocks, {s["name"]: s for s in repos.sources(ws.db, board_id)})
        except InvalidRequest as error:
            log.warning("board %s has pending blocks but an invalid graph: %s", board_id, error.message)
            continue
        pending = [b["id"] for b in blocks if b["state"] == "pending"]
        results[board_id] = Cascade(ws, g, board_id, trigger="edit", actor=None).run(g.downstream(pending))
    return results
