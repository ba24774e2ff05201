"""Dashboard tools: list, create, get, delete, clone, refresh and its settings, audit."""

from __future__ import annotations

import shutil
from typing import Any, Literal

from pydantic import Field

from ballast_tui.engine.cascade import Cascade
from ballast_tui.engine.copying import copy_contents, remap_layout
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.explain import explain
from ballast_tui.storage import repos
from ballast_tui.storage.db import utcnow
from ballast_tui.tools.common import (
    board_graph,
    describe_block,
    describe_board,
    load_board,
    publish,
    record,
)
from ballast_tui.tools.registry import REGISTRY, Args, Context

REFRESH_INTERVALS = (300, 900, 3600, 86400)
TITLE_MAX = 200


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


def _title(text: str) -> str:
    title = text.strip()
    if not title:
        raise InvalidRequest("a title cannot be blank")
    return title


@REGISTRY.tool("dashboard_list", ListArgs)
def dashboard_list(ctx: Context, args: ListArgs) -> dict[str, Any]:
    """The dashboards the caller may see (conversations too with `include_conversations`)."""
    rows = repos.visible_boards(ctx.ws.db, ctx.user.id, args.include_conversations)
    return {"dashboards": [describe_board(ctx, row, row["role"]) for row in rows]}


@REGISTRY.tool("dashboard_create", CreateArgs)
def dashboard_create(ctx: Context, args: CreateArgs) -> dict[str, Any]:
    """Create an empty private dashboard owned by the caller."""
    with ctx.ws.db.write() as tx:
        row = repos.insert_board(tx, "dashboard", _title(args.title), ctx.user.id)
        record(tx, ctx, row["id"], "create", row["id"], title=row["title"])
    board = load_board(ctx, row["id"], "view")
    return {"dashboard": describe_board(ctx, board.row, board.role)}


@REGISTRY.tool("dashboard_get", BoardArgs)
def dashboard_get(ctx: Context, args: BoardArgs) -> dict[str, Any]:
    """A dashboard (or conversation) with its blocks, layout, visibility and the caller's role.

    Also `origin` (the conversation it was saved from, or the board it was cloned from) and
    `explain`: which displayed block depends on what, and what a change to each block or source
    would reach, so a change can be weighed before it is made.
    """
    board = load_board(ctx, args.dashboard_id, "view")
    blocks = repos.blocks(ctx.ws.db, board.id)
    g = board_graph(ctx, board.id, blocks)
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


@REGISTRY.tool("dashboard_delete", BoardArgs)
def dashboard_delete(ctx: Context, args: BoardArgs) -> dict[str, Any]:
    """Delete a board: its blocks, runs, sources and data files. The audit keeps the fact."""
    board = load_board(ctx, args.dashboard_id, "manage")
    ctx.ws.executor.close_board(board.id)
    ctx.ws.connections.cancel(board.id)
    with ctx.ws.board_lock(board.id), ctx.ws.db.write() as tx:
        tx.execute("DELETE FROM boards WHERE id = ?", [board.id])
        record(tx, ctx, board.id, "delete", board.id, title=board.row["title"], kind=board.row["kind"])
    shutil.rmtree(ctx.ws.board_dir(board.id), ignore_errors=True)
    publish(ctx, board.id, "board_deleted")
    return {"deleted": board.id}


def copy_board(ctx: Context, source_id: str, kind: str, title: str, action: str) -> dict[str, Any]:
    """A new private board owned by the caller, with a copy of everything `source_id` holds."""
    source = load_board(ctx, source_id, "view")
    with ctx.ws.board_lock(source.id), ctx.ws.db.write() as tx:
        row = repos.insert_board(tx, kind, _title(title), ctx.user.id)
        mapping = copy_contents(ctx.ws, tx, source.id, row["id"], ctx.user.id)
        repos.update_board(tx, row["id"], layout=remap_layout(source.row["layout"], mapping))
        record(
            tx,
            ctx,
            row["id"],
            action,
            row["id"],
            source=source.id,
            source_kind=source.row["kind"],
            source_title=source.row["title"],
            title=row["title"],
        )
        record(tx, ctx, source.id, f"{action}d_to" if action == "save" else "cloned_to", row["id"])
        if action == "save":
            repos.update_board(tx, source.id, saved_as=row["id"])
    board = load_board(ctx, row["id"], "view")
    return {
        "dashboard": {
            **describe_board(ctx, board.row, board.role),
            "origin": repos.board_origin(ctx.ws.db, board.id),
        }
    }


@REGISTRY.tool("dashboard_clone", BoardArgs)
def dashboard_clone(ctx: Context, args: BoardArgs) -> dict[str, Any]:
    """Copy a dashboard (blocks, layout, sources, current outputs) as a private one the caller owns."""
    source = load_board(ctx, args.dashboard_id, "view")
    return copy_board(
        ctx, source.id, source.row["kind"], f"{source.row['title']} (Copy)"[:TITLE_MAX], "clone"
    )


def _refresh_settings(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "refreshEnabled": bool(row["refresh_enabled"]),
        "refreshInterval": row["refresh_interval"],
        "lastRefreshedAt": row["last_refreshed_at"],
    }


@REGISTRY.tool("dashboard_get_refresh", RefreshSettingsArgs)
def dashboard_get_refresh(ctx: Context, args: RefreshSettingsArgs) -> dict[str, Any]:
    """The auto-refresh settings."""
    if args.refreshEnabled is not None or args.refreshInterval is not None:
        raise InvalidRequest("dashboard_get_refresh takes only dashboard_id; use dashboard_set_refresh")
    return _refresh_settings(load_board(ctx, args.dashboard_id, "view").row)


@REGISTRY.tool("dashboard_set_refresh", RefreshSettingsArgs)
def dashboard_set_refresh(ctx: Context, args: RefreshSettingsArgs) -> dict[str, Any]:
    """Turn auto-refresh on or off and set its interval (300, 900, 3600 or 86400 seconds)."""
    board = load_board(ctx, args.dashboard_id, "edit")
    changes: dict[str, Any] = {}
    if args.refreshEnabled is not None:
        changes["refresh_enabled"] = int(args.refreshEnabled)
    if args.refreshInterval is not None:
        changes["refresh_interval"] = args.refreshInterval
    if changes:
        with ctx.ws.db.write() as tx:
            repos.update_board(tx, board.id, **changes)
            record(tx, ctx, board.id, "refresh_settings", board.id, **changes)
        publish(ctx, board.id, "board_changed", change="refresh_settings")
    return _refresh_settings(load_board(ctx, board.id, "view").row)


def refresh_board(ctx: Context, board_id: str, trigger: str) -> dict[str, Any]:
    """Re-run every block a displayed block depends on, and the displayed ones, reading sources anew.

    A new refresh epoch starts first: connected data read before it is not reused after it.
    """
    board = load_board(ctx, board_id, "edit")
    g = board_graph(ctx, board.id)
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
        "lastRefreshedAt": load_board(ctx, board.id, "view").row["last_refreshed_at"],
    }


@REGISTRY.tool("dashboard_refresh", BoardArgs)
def dashboard_refresh(ctx: Context, args: BoardArgs) -> dict[str, Any]:
    """Refresh now: every displayed block and what it depends on runs again."""
    return refresh_board(ctx, args.dashboard_id, "refresh")


@REGISTRY.tool("dashboard_audit", AuditArgs)
def dashboard_audit(ctx: Context, args: AuditArgs) -> dict[str, Any]:
    """The board's audit events, newest first."""
    board = load_board(ctx, args.dashboard_id, "view")
    return {"events": repos.audit(ctx.ws.db, board.id, args.limit)}
