"""Who calls, from where, on which workspace: the `Context` every tool runs in.

A signed-in caller is a `User`. A reader of a published link has no account:
`Context.anonymous` gives such a caller the `ANONYMOUS` user, who may call the
tools that declare the `link` role and nothing else. `link_access` carries the
access cookie a protected board's password form set (checked, with the
workspace's key, when a `link` tool loads the board); `system` marks the
server's own callers (the page warmer, the drawing process) that draw a
published board on behalf of a request whose access was already checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ballast_tui.engine.users import User

if TYPE_CHECKING:
    from ballast_tui.engine.exports import ExportSink
    from ballast_tui.engine.workspace import Workspace

ANONYMOUS = User(id="anonymous", name="anonymous", kind="anonymous", is_admin=False)
"""The caller without an account: a reader of a published link."""


@dataclass
class Context:
    """Who calls, from where, on which workspace."""

    ws: Workspace
    user: User
    session_id: str | None = None
    client: str = "api"
    link_access: str | None = None
    """A published board's access cookie, when the caller brought one."""
    system: bool = False
    """The server itself, drawing a published board for a request it already let in."""
    export_sink: ExportSink | None = None
    """Where `export_block` writes the output's bytes (the CLI's file, an HTTP stream)."""

    @classmethod
    def anonymous(cls, ws: Workspace, *, link_access: str | None = None, client: str = "public") -> Context:
        """A caller without an account (a published link's reader)."""
        return cls(ws, ANONYMOUS, client=client, link_access=link_access)

    @property
    def is_anonymous(self) -> bool:
        return self.user.id == ANONYMOUS.id

    @property
    def session_key(self) -> str:
        """The identity that holds locks: the user's session, else the user.

        Prefixed with the user id, so a session id someone else learned (presence
        lists them) never lets another user act as that session's holder.
        """
        return f"{self.user.id}/{self.session_id}" if self.session_id else f"user:{self.user.id}"
