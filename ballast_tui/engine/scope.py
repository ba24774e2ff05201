"""A board scope: one board whose access was checked, and lookups that can find only its things.

The registry opens a `BoardScope` before a board tool runs (`open_board` for a
role on the board, `open_published` for a published link's reader) and hands
it to the handler. Every lookup a handler makes by an id or a name a caller
sent — `block`, `run`, `source`, `runs_of` — goes through the scope and is
bound to the board's id: another board's id answers 404 `not_found`, whatever
the caller's role there. A published link's scope also hides what a link
reader may not see: a hidden block is not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ballast_tui.engine import access
from ballast_tui.engine.errors import NotFound
from ballast_tui.engine.link_access import access_valid, check_password
from ballast_tui.storage import repos

if TYPE_CHECKING:
    from ballast_tui.engine.board_graph import BoardGraph
    from ballast_tui.engine.context import Context
    from ballast_tui.engine.workspace import Workspace

Row = dict[str, Any]


@dataclass
class BoardScope:
    """One board, the caller, and the caller's role on it (None for a published link's reader)."""

    ctx: Context
    row: Row
    role: str | None

    @property
    def id(self) -> str:
        return str(self.row["id"])

    @property
    def ws(self) -> Workspace:
        return self.ctx.ws

    @property
    def public(self) -> bool:
        """Whether the caller reads the board through its published link (displayed blocks only)."""
        return self.role is None

    def reload(self) -> BoardScope:
        """The same scope with the board's row read again (after a change)."""
        row = repos.board(self.ws.db, self.id)
        if row is None:
            raise NotFound(f"no dashboard or conversation {self.id!r}")
        return BoardScope(self.ctx, row, self.role)

    def require(self, required: str) -> None:
        """403 unless the caller's role satisfies `required` (for a call whose need depends on its
        arguments beyond what was declared)."""
        access.require(self.role, required)

    # -- lookups, bound to this board ------------------------------------------

    def blocks(self) -> list[Row]:
        """Every block of the board (hidden ones too: the graph needs them)."""
        return repos.blocks(self.ws.db, self.id)

    def states(self) -> list[Row]:
        """Every block without its config (id, name, type, version, displayed, current run, state,
        value): cheap enough for every published-page request."""
        return repos.block_states(self.ws.db, self.id)

    def find_block(self, ref: str) -> Row | None:
        """A block of this board by id, or by name (people type names at prompts); None if absent."""
        row = repos.block(self.ws.db, self.id, ref) or repos.block_by_name(self.ws.db, self.id, ref)
        if row is None or (self.public and not row["displayed"]):
            return None
        return row

    def block(self, ref: str) -> Row:
        """A block of this board by id or name, or 404 naming the blocks it has."""
        row = self.find_block(ref)
        if row is not None:
            return row
        names = [b["name"] for b in self.blocks() if b["displayed"] or not self.public]
        raise NotFound(
            f"no block {ref!r} in {self.id}; "
            + (f"its blocks (by name): {', '.join(names)}" if names else "it has no blocks yet"),
            accepted=names,
        )

    def run(self, run_id: str) -> Row:
        """A run of this board, or 404."""
        run = repos.run(self.ws.db, self.id, run_id)
        if run is None:
            raise NotFound(f"no run {run_id!r} in {self.id}")
        return run

    def runs_of(self, block_id: str, limit: int) -> list[Row]:
        """A block's runs in this board, newest first (a deleted block's too, by its id)."""
        return repos.block_runs(self.ws.db, self.id, block_id, limit)

    def sources(self) -> list[Row]:
        return repos.sources(self.ws.db, self.id)

    def find_source(self, name: str) -> Row | None:
        return repos.source(self.ws.db, self.id, name)

    def source(self, name: str) -> Row:
        """A source of this board by name, or 404."""
        found = self.find_source(name)
        if found is None:
            raise NotFound(f"no source {name!r} in {self.id}")
        return found

    def graph(self, blocks: list[Row] | None = None) -> BoardGraph:
        """The checked graph of the board (of `blocks` when given, e.g. a proposed change)."""
        from ballast_tui.engine.board_graph import build_graph

        sources = {s["name"]: s for s in self.sources()}
        return build_graph(blocks if blocks is not None else self.blocks(), sources)


def open_board(ctx: Context, board_id: str, required: str) -> BoardScope:
    """The board, if it exists (404) and the caller's role on it satisfies `required` (403)."""
    row = repos.board(ctx.ws.db, board_id)
    if row is None:
        raise NotFound(f"no dashboard or conversation {board_id!r}")
    role = access.role_of(ctx.ws.db, row, ctx.user.id)
    access.require(role, required)
    return BoardScope(ctx, row, role)


def published_row(ctx: Context, slug: str) -> Row:
    """The board published under `slug`, or 404 (unknown slug, or no longer `link_view`)."""
    row = repos.board_by_slug(ctx.ws.db, slug)
    if row is None or row["visibility"] != "link_view":
        raise NotFound(f"no published dashboard {slug!r}")
    return row


def open_published(ctx: Context, slug: str, password: str | None) -> BoardScope:
    """A published board for its link's reader: 404 unless `link_view`; for a protected board,
    403 `password_required` unless `password` is right or the caller's access cookie is valid
    (`WrongPassword` when a wrong one was given)."""
    row = published_row(ctx, slug)
    if row["password_hash"] and not ctx.system:
        if not password and access_valid(ctx.link_access, ctx.ws.secret, row):
            return BoardScope(ctx, row, None)
        check_password(row, password)
    return BoardScope(ctx, row, None)
