"""Conversation tools: a draft board with its message log, saved as a dashboard."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.ids import new_id
from ballast_tui.storage import repos
from ballast_tui.storage.db import utcnow
from ballast_tui.tools.common import describe_board, load_board, publish, record
from ballast_tui.tools.dashboards import TITLE_MAX, copy_board
from ballast_tui.tools.registry import REGISTRY, Args, Context


class CreateArgs(Args):
    title: str | None = Field(default=None, max_length=TITLE_MAX)


class MessageArgs(Args):
    conversation_id: str
    role: Literal["user", "assistant", "system", "tool"]
    content: str = Field(max_length=1_000_000)


class SaveArgs(Args):
    conversation_id: str
    title: str = Field(min_length=1, max_length=TITLE_MAX)


@REGISTRY.tool("conversation_create", CreateArgs)
def conversation_create(ctx: Context, args: CreateArgs) -> dict[str, Any]:
    """Start a conversation: a draft board that a chat builds up."""
    title = (args.title or "").strip() or "Untitled conversation"
    with ctx.ws.db.write() as tx:
        row = repos.insert_board(tx, "conversation", title, ctx.user.id)
        record(tx, ctx, row["id"], "create", row["id"], title=title, kind="conversation")
    board = load_board(ctx, row["id"], "view")
    return {"conversation": {**describe_board(ctx, board.row, board.role), "messages": []}}


@REGISTRY.tool("conversation_add_message", MessageArgs)
def conversation_add_message(ctx: Context, args: MessageArgs) -> dict[str, Any]:
    """Append a message to a conversation's log."""
    board = load_board(ctx, args.conversation_id, "edit")
    if board.row["kind"] != "conversation":
        raise InvalidRequest(f"{board.id} is a dashboard, not a conversation")
    message = {
        "id": new_id("msg"),
        "board_id": board.id,
        "role": args.role,
        "content": args.content,
        "author": ctx.user.id,
        "created_at": utcnow(),
    }
    with ctx.ws.db.write() as tx:
        tx.table("messages").insert(message)
        record(tx, ctx, board.id, "message", message["id"], role=args.role)
        repos.touch_board(tx, board.id)
    publish(ctx, board.id, "message_added", message=message)
    return {"message": message}


@REGISTRY.tool("dashboard_save_conversation", SaveArgs)
def dashboard_save_conversation(ctx: Context, args: SaveArgs) -> dict[str, Any]:
    """Save a conversation as a new dashboard with its blocks, layout, sources and outputs."""
    board = load_board(ctx, args.conversation_id, "view")
    if board.row["kind"] != "conversation":
        raise InvalidRequest(f"{board.id} is already a dashboard")
    return copy_board(ctx, board.id, "dashboard", args.title, "save")
