"""Making boards: a new empty one, and a copy of one (a clone, or a conversation saved as a
dashboard). Shared by the dashboard and conversation tools."""

from __future__ import annotations

from typing import Any

from ballast_tui.engine.changes import record
from ballast_tui.engine.context import Context
from ballast_tui.engine.copying import copy_contents, remap_layout
from ballast_tui.engine.describe import describe_board
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.scope import BoardScope
from ballast_tui.storage import repos

TITLE_MAX = 200


def clean_title(text: str) -> str:
    """A board's title without surrounding blanks, cut to `TITLE_MAX`; 400 when blank."""
    title = text.strip()[:TITLE_MAX].strip()
    if not title:
        raise InvalidRequest("a title cannot be blank")
    return title


def create_board(ctx: Context, kind: str, title: str) -> dict[str, Any]:
    """A new empty private board of `kind` owned by the caller, described as lists show it."""
    audited = {"kind": kind} if kind == "conversation" else {}
    with ctx.ws.db.write() as tx:
        row = repos.insert_board(tx, kind, clean_title(title), ctx.user.id)
        record(tx, ctx, row["id"], "create", row["id"], title=row["title"], **audited)
    created = repos.board(ctx.ws.db, row["id"])
    assert created is not None
    return describe_board(ctx, created, "owner")


def copy_board(source: BoardScope, kind: str, title: str, action: str) -> dict[str, Any]:
    """A new private board owned by the caller, with a copy of everything `source` holds (its
    blocks, layout, sources and current outputs), described with its `origin`."""
    ctx = source.ctx
    with ctx.ws.board_lock(source.id), ctx.ws.db.write() as tx:
        row = repos.insert_board(tx, kind, clean_title(title), ctx.user.id)
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
    copy = repos.board(ctx.ws.db, row["id"])
    assert copy is not None
    return {**describe_board(ctx, copy, "owner"), "origin": repos.board_origin(ctx.ws.db, row["id"])}
