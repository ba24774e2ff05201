"""Live tools: presence, and opening / closing a block (its edit lock)."""

from __future__ import annotations

from typing import Any

from ballast_tui.tools.common import load_block, load_board, publish
from ballast_tui.tools.registry import REGISTRY, Args, Context


class BoardArgs(Args):
    dashboard_id: str


class BlockArgs(Args):
    dashboard_id: str
    block_id: str


def _session(ctx: Context, board_id: str) -> Any:
    session = ctx.ws.sessions.ensure(ctx.session_key, ctx.user.id, ctx.user.name, ctx.user.kind, ctx.client)
    ctx.ws.sessions.join(session.id, board_id)
    return session


@REGISTRY.tool("dashboard_presence", BoardArgs)
def dashboard_presence(ctx: Context, args: BoardArgs) -> dict[str, Any]:
    """Who is in the board: user, kind, session, the block they have open, since when."""
    board = load_board(ctx, args.dashboard_id, "view")
    for lock in ctx.ws.sessions.expire():
        publish(ctx, lock.dashboard_id, "lock", block_id=lock.block_id, lock=None, released=lock.describe())
    return {"sessions": ctx.ws.sessions.presence(board.id), "locks": ctx.ws.sessions.locks(board.id)}


@REGISTRY.tool("block_open", BlockArgs)
def block_open(ctx: Context, args: BlockArgs) -> dict[str, Any]:
    """Open a block for editing: take its lock (423 if someone else holds it)."""
    board = load_board(ctx, args.dashboard_id, "edit")
    block = load_block(ctx, board, args.block_id)
    lock = ctx.ws.sessions.open(board.id, block["id"], _session(ctx, board.id))
    publish(ctx, board.id, "lock", block_id=block["id"], lock=lock.describe())
    publish(ctx, board.id, "presence", sessions=ctx.ws.sessions.presence(board.id))
    return {"lock": lock.describe()}


@REGISTRY.tool("block_close", BlockArgs)
def block_close(ctx: Context, args: BlockArgs) -> dict[str, Any]:
    """Close a block: release its lock if this session holds it."""
    board = load_board(ctx, args.dashboard_id, "view")
    block = load_block(ctx, board, args.block_id)
    released = ctx.ws.sessions.close(board.id, block["id"], ctx.session_key)
    if released is not None:
        publish(ctx, board.id, "lock", block_id=block["id"], lock=None, released=released.describe())
        publish(ctx, board.id, "presence", sessions=ctx.ws.sessions.presence(board.id))
    return {"lock": None, "released": released is not None}
