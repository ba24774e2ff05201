"""Conversation tools: a draft board with its message log, saved as a dashboard."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ballast_tui.engine.boards import TITLE_MAX, copy_board, create_board
from ballast_tui.engine.changes import publish, record
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.events import MessageAdded
from ballast_tui.engine.ids import new_id
from ballast_tui.storage import repos
from ballast_tui.storage.db import utcnow
from ballast_tui.tools.registry import REGISTRY, Args, BoardScope, Context


class CreateArgs(Args):
    title: str | None = Field(default=None, max_length=TITLE_MAX)


class MessageArgs(Args):
    conversation_id: str
    role: Literal["user", "assistant", "system", "tool"]
    content: str = Field(max_length=1_000_000)


class SaveArgs(Args):
    conversation_id: str
    title: str = Field(min_length=1, max_length=TITLE_MAX)


@REGISTRY.tool(
    "conversation_create",
    CreateArgs,
    role="user",
    writes=True,
    example={"title": "Q3 revenue by region"},
)
def conversation_create(ctx: Context, args: CreateArgs) -> dict[str, Any]:
    """Start a conversation: a draft board that a chat builds up.

    Start a new conversation: a draft board (conv_...) that you build with blocks while you chat, and
    that becomes a dashboard when saved. Use it to start a fresh piece of work; it becomes this
    session's conversation and working board. You rarely need it: a conversation is created for you on
    the first call that needs a board.
    Returns `conversation` (id, title, kind "conversation", messages []).
    """
    title = (args.title or "").strip() or "Untitled conversation"
    return {"conversation": {**create_board(ctx, "conversation", title), "messages": []}}


@REGISTRY.tool(
    "conversation_add_message",
    MessageArgs,
    role="editor",
    writes=True,
    example={"role": "assistant", "content": "Added a daily revenue chart with a region filter."},
)
def conversation_add_message(board: BoardScope, args: MessageArgs) -> dict[str, Any]:
    """Append a message to a conversation's log.

    Record one message of the chat in a conversation's log (who said what), so the people who open the
    conversation or the dashboard saved from it can follow how it was built. Use it for the user's
    request and your answer, not for tool calls.
    Returns `message` (id, role, content, author, created_at).
    """
    ctx = board.ctx
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
    publish(ctx, MessageAdded(dashboard_id=board.id, message=message))
    return {"message": message}


@REGISTRY.tool(
    "dashboard_save_conversation",
    SaveArgs,
    role="viewer",
    writes=True,
    example={"title": "Q3 revenue dashboard"},
)
def dashboard_save_conversation(board: BoardScope, args: SaveArgs) -> dict[str, Any]:
    """Save a conversation as a new dashboard with its blocks, layout, sources and outputs.

    Save a conversation as a new dashboard: its blocks, layout, sources and current outputs are copied;
    the conversation stays, with `saved_as` pointing to the dashboard, and the dashboard's `origin`
    names the conversation. Use it when the user is happy with what you built.
    Returns `dashboard` (id, title, origin).
    """
    if board.row["kind"] != "conversation":
        raise InvalidRequest(f"{board.id} is already a dashboard")
    return {"dashboard": copy_board(board, "dashboard", args.title, "save")}
