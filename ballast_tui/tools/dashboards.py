"""Dashboard tools: list, create, get, delete, clone, refresh and its settings, audit."""

from __future__ import annotations

import shutil
from typing import Any, Literal

from pydantic import Field

from ballast_tui.engine.boards import TITLE_MAX, copy_board, create_board
from ballast_tui.engine.cascade import Cascade
from ballast_tui.engine.changes import publish, record
from ballast_tui.engine.describe import describe_block, describe_board
from ballast_tui.engine.events import BoardChanged, BoardDeleted
from ballast_tui.engine.explain import explain
from ballast_tui.engine.sessions import SCHEDULER_CLIENT
from ballast_tui.storage import repos
from ballast_tui.storage.db import utcnow
from ballast_tui.tools.registry import REGISTRY, Args, BoardScope, Context


class ListArgs(Args):
    include_conversations: bool = False


class CreateArgs(Args):
    title: str = Field(min_length=1, max_length=TITLE_MAX)


class BoardArgs(Args):
    dashboard_id: str


class RefreshSettingsArgs(Args):
    dashboard_id: str
    refreshEnabled: bool | None = None
    refreshInterval: Literal[300, 900, 3600, 86400] | None = None


class AuditArgs(Args):
    dashboard_id: str
    limit: int = Field(default=100, ge=1, le=10_000)


@REGISTRY.tool(
    "dashboard_list",
    ListArgs,
    role="user",
    writes=False,
    example={"include_conversations": True},
)
def dashboard_list(ctx: Context, args: ListArgs) -> dict[str, Any]:
    """The dashboards the caller may see (conversations too with `include_conversations`).

    List the dashboards you may see, with id, title, your role, visibility and refresh settings. Use it
    to find an existing dashboard before building a new one. Conversations are left out unless
    `include_conversations` is true.
    Returns `dashboards` (a list).
    """
    rows = repos.visible_boards(ctx.ws.db, ctx.user.id, args.include_conversations)
    return {"dashboards": [describe_board(ctx, row, row["role"]) for row in rows]}


@REGISTRY.tool(
    "dashboard_create",
    CreateArgs,
    role="user",
    writes=True,
    example={"title": "Sales overview"},
)
def dashboard_create(ctx: Context, args: CreateArgs) -> dict[str, Any]:
    """Create an empty private dashboard owned by the caller.

    Create an empty private dashboard that you own, and make it this session's working board. Prefer
    building in a conversation and saving it (dashboard_save_conversation); create a dashboard directly
    when the user asks for one by name.
    Returns `dashboard` (id, title, ...).
    """
    return {"dashboard": create_board(ctx, "dashboard", args.title)}


@REGISTRY.tool(
    "dashboard_get",
    BoardArgs,
    role="viewer",
    writes=False,
    example={"dashboard_id": "dash_k3j9x0a1b2c3"},
)
def dashboard_get(board: BoardScope, args: BoardArgs) -> dict[str, Any]:
    """A dashboard (or conversation) with its blocks, layout, visibility and the caller's role.

    Also `origin` (the conversation it was saved from, or the board it was cloned from) and
    `explain`: which displayed block depends on what, and what a change to each block or source
    would reach, so a change can be weighed before it is made.

    Read a whole board: its blocks (id, name, type, config, displayed, version, state, error, and
    upstream/downstream ids; controls carry their `value`), `layout`, your `role`, visibility, `locks`
    (who holds which block), a conversation's `messages`, the board's `origin`, and `explain`: for each
    displayed block what it depends on, and under `affects`, for every block and source, which displayed
    blocks a change to it would re-run. Use it first, and before any edit to weigh its effects.
    Returns `dashboard`.
    """
    ctx = board.ctx
    blocks = board.blocks()
    g = board.graph(blocks)
    described = []
    for block in blocks:
        item = describe_block(block)
        item["upstream"] = g.upstream_ids.get(block["id"], []) + g.sources_of(block["id"])
        item["downstream"] = g.downstream_of(block["id"])
        described.append(item)
    dashboard = {
        **describe_board(ctx, board.row, board.role),
        "blocks": described,
        "layout": board.row["layout"],
        "locks": ctx.ws.sessions.locks(board.id),
        "grants": repos.grants(ctx.ws.db, board.id),
        "owner": ctx.ws.users.get(board.row["owner_id"]).describe(),
        "origin": repos.board_origin(ctx.ws.db, board.id),
        "explain": explain(g),
    }
    if board.row["kind"] == "conversation":
        dashboard["messages"] = repos.messages(ctx.ws.db, board.id)
        dashboard["saved_as"] = board.row["saved_as"]
    return {"dashboard": dashboard}


@REGISTRY.tool(
    "dashboard_delete",
    BoardArgs,
    role="owner",
    writes=True,
    destructive=True,
    explicit_board=True,
    example={"dashboard_id": "conv_k3j9x0a1b2c3"},
)
def dashboard_delete(board: BoardScope, args: BoardArgs) -> dict[str, Any]:
    """Delete a board: its blocks, runs, sources and data files. The audit keeps the fact.

    Delete a board for good: its blocks, runs, sources and files (the audit keeps the fact). Owner
    only. The board id is always required here. Use it only when the user asks.
    Returns `deleted` (the id).
    """
    ctx = board.ctx
    ctx.ws.executor.close_board(board.id)
    ctx.ws.connections.cancel(board.id)
    with ctx.ws.board_lock(board.id), ctx.ws.db.write() as tx:
        tx.execute("DELETE FROM boards WHERE id = ?", [board.id])
        record(tx, ctx, board.id, "delete", board.id, title=board.row["title"], kind=board.row["kind"])
    shutil.rmtree(ctx.ws.board_dir(board.id), ignore_errors=True)
    publish(ctx, BoardDeleted(dashboard_id=board.id))
    return {"deleted": board.id}


@REGISTRY.tool(
    "dashboard_clone",
    BoardArgs,
    role="viewer",
    writes=True,
    example={"dashboard_id": "dash_k3j9x0a1b2c3"},
)
def dashboard_clone(source: BoardScope, args: BoardArgs) -> dict[str, Any]:
    """Copy a dashboard (blocks, layout, sources, current outputs) as a private one the caller owns.

    Copy a board (blocks, layout, sources, outputs) into a new private one that you own. Use it to
    experiment on someone's dashboard without touching theirs.
    Returns `dashboard` (the copy: id, title "... (Copy)", origin).
    """
    return {"dashboard": copy_board(source, source.row["kind"], f"{source.row['title']} (Copy)", "clone")}


def _refresh_settings(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "refreshEnabled": bool(row["refresh_enabled"]),
        "refreshInterval": row["refresh_interval"],
        "lastRefreshedAt": row["last_refreshed_at"],
    }


@REGISTRY.tool(
    "dashboard_get_refresh",
    BoardArgs,
    role="viewer",
    writes=False,
    example={"dashboard_id": "dash_k3j9x0a1b2c3"},
)
def dashboard_get_refresh(board: BoardScope, args: BoardArgs) -> dict[str, Any]:
    """The auto-refresh settings.

    Read a board's auto-refresh settings. Use it before changing them.
    Returns `refreshEnabled`, `refreshInterval` (seconds) and `lastRefreshedAt`.
    """
    return _refresh_settings(board.row)


@REGISTRY.tool(
    "dashboard_set_refresh",
    RefreshSettingsArgs,
    role="editor",
    writes=True,
    idempotent=True,
    example={"refreshEnabled": True, "refreshInterval": 3600},
)
def dashboard_set_refresh(board: BoardScope, args: RefreshSettingsArgs) -> dict[str, Any]:
    """Turn auto-refresh on or off and set its interval (300, 900, 3600 or 86400 seconds).

    Turn auto-refresh on or off, and set its interval: 300, 900, 3600 or 86400 seconds only. A refresh
    re-reads sources and re-runs what the displayed blocks depend on.
    Returns the settings: `refreshEnabled`, `refreshInterval`, `lastRefreshedAt`.
    """
    ctx = board.ctx
    changes: dict[str, Any] = {}
    if args.refreshEnabled is not None:
        changes["refresh_enabled"] = int(args.refreshEnabled)
    if args.refreshInterval is not None:
        changes["refresh_interval"] = args.refreshInterval
    if changes:
        with ctx.ws.db.write() as tx:
            repos.update_board(tx, board.id, **changes)
            record(tx, ctx, board.id, "refresh_settings", board.id, **changes)
        publish(ctx, BoardChanged(dashboard_id=board.id, change="refresh_settings"))
    return _refresh_settings(board.reload().row)


@REGISTRY.tool(
    "dashboard_refresh",
    BoardArgs,
    role="editor",
    writes=True,
    example={},
)
def dashboard_refresh(board: BoardScope, args: BoardArgs) -> dict[str, Any]:
    """Refresh now: every displayed block and what it depends on runs again.

    Refresh now: every displayed block and everything it depends on runs again, reading sources anew.
    Use it after the data behind a connected source changed.
    Returns `cascade` ({ran, reused, failed, upstream_error}: block ids) and `lastRefreshedAt`.
    """
    trigger = "schedule" if board.ctx.client == SCHEDULER_CLIENT else "refresh"
    # A new refresh epoch first: connected data read before it is not reused after it.
    ctx = board.ctx
    g = board.graph()
    displayed = [b["id"] for b in g.blocks if b["displayed"]]
    run_set = g.upstream(displayed)
    with ctx.ws.db.write() as tx:
        tx.execute("UPDATE boards SET remote_epoch = remote_epoch + 1 WHERE id = ?", [board.id])
    result = Cascade(ctx.ws, g, board.id, trigger=trigger, actor=ctx.user.id).run(run_set, force=run_set)
    with ctx.ws.db.write() as tx:
        tx.execute("UPDATE boards SET last_refreshed_at = ? WHERE id = ?", [utcnow(), board.id])
        record(
            tx,
            ctx,
            board.id,
            "refresh",
            board.id,
            trigger=trigger,
            ran=len(result.ran),
            failed=len(result.failed),
        )
    return {
        "cascade": result.describe(),
        "lastRefreshedAt": board.reload().row["last_refreshed_at"],
    }


@REGISTRY.tool(
    "dashboard_audit",
    AuditArgs,
    role="viewer",
    writes=False,
    example={"limit": 20},
)
def dashboard_audit(board: BoardScope, args: AuditArgs) -> dict[str, Any]:
    """The board's audit events, newest first.

    Read a board's audit trail, newest first: who (people and agents; an agent's entry also names the
    person who created it) did what, to which target, when.
    Returns `events` (a few by default; more with `limit`).
    """
    ctx = board.ctx
    return {"events": repos.audit(ctx.ws.db, board.id, args.limit)}
