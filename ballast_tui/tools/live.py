"""Live tools: presence, and opening / closing a block (its edit lock)."""

from __future__ import annotations

from typing import Any

from ballast_tui.engine.changes import publish
from ballast_tui.engine.events import LockChanged, Presence
from ballast_tui.tools.registry import REGISTRY, Args, BoardScope, Context


class BoardArgs(Args):
    dashboard_id: str


class BlockArgs(Args):
    dashboard_id: str
    block_id: str


def _session(ctx: Context, board_id: str) -> Any:
    session = ctx.ws.sessions.ensure(ctx.session_key, ctx.user.id, ctx.user.name, ctx.user.kind, ctx.client)
    ctx.ws.sessions.join(session.id, board_id)
    return session


@REGISTRY.tool(
    "dashboard_presence",
    BoardArgs,
    role="viewer",
    writes=False,
    example={},
)
def dashboard_presence(board: BoardScope, args: BoardArgs) -> dict[str, Any]:
    """Who is in the board: user, kind, session, the block they have open, since when.

    Who is in a board now: each session's user, kind (human or agent), the block it has open, since
    when; and the current `locks`. Use it before editing to avoid blocks others are working on.
    Returns `sessions` and `locks`.
    """
    ctx = board.ctx
    for lock in ctx.ws.sessions.expire():
        publish(
            ctx,
            LockChanged(
                dashboard_id=lock.dashboard_id, block_id=lock.block_id, lock=None, released=lock.describe()
            ),
        )
    return {"sessions": ctx.ws.sessions.presence(board.id), "locks": ctx.ws.sessions.locks(board.id)}


@REGISTRY.tool(
    "block_open",
    BlockArgs,
    role="editor",
    writes=True,
    idempotent=True,
    example={"block_id": "daily"},
)
def block_open(board: BoardScope, args: BlockArgs) -> dict[str, Any]:
    """Open a block for editing: take its lock (423 if someone else holds it).

    Open a block for editing: take its lock, so no one else can change it until you close it (or your
    session goes quiet for 30 s). Refused with `locked`, naming the holder, when someone else has it.
    Returns `lock` (block_id, holder, since).
    """
    ctx = board.ctx
    block = board.block(args.block_id)
    lock = ctx.ws.sessions.open(board.id, block["id"], _session(ctx, board.id))
    publish(ctx, LockChanged(dashboard_id=board.id, block_id=block["id"], lock=lock.describe()))
    publish(ctx, Presence(dashboard_id=board.id, sessions=ctx.ws.sessions.presence(board.id)))
    return {"lock": lock.describe()}


@REGISTRY.tool(
    "block_close",
    BlockArgs,
    role="viewer",
    writes=True,
    idempotent=True,
    example={"block_id": "daily"},
)
def block_close(board: BoardScope, args: BlockArgs) -> dict[str, Any]:
    """Close a block: release its lock if this session holds it.

    Close a block you opened: release its lock so people can edit it again. Do this when done editing.
    Returns `lock` null and `released` (whether you held it).
    """
    ctx = board.ctx
    block = board.block(args.block_id)
    released = ctx.ws.sessions.close(board.id, block["id"], ctx.session_key)
    if released is not None:
        publish(
            ctx,
            LockChanged(dashboard_id=board.id, block_id=block["id"], lock=None, released=released.describe()),
        )
        publish(ctx, Presence(dashboard_id=board.id, sessions=ctx.ws.sessions.presence(board.id)))
    return {"lock": None, "released": released is not None}
