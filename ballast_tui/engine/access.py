"""Roles per board, and what each may do (the contract's access table).

Every tool asks here; no transport checks roles on its own.
"""

from __future__ import annotations

from typing import Any, Literal

from ballast_tui.engine.errors import Forbidden
from ballast_tui.storage import repos
from ballast_tui.storage.db import Database

Role = Literal["owner", "editor", "viewer"]
Action = Literal["view", "edit", "manage"]

ALLOWED: dict[str, frozenset[str]] = {
    "view": frozenset({"owner", "editor", "viewer"}),  # see, runs, catalog, audit, overrides, clone
    "edit": frozenset({"owner", "editor"}),  # blocks, layout, controls, sources, run, refresh
    "manage": frozenset({"owner"}),  # visibility, publish, grants, transfer, delete
}
_WHAT = {"view": "see this board", "edit": "change this board", "manage": "manage this board"}


def role_of(db: Database, board: dict[str, Any], user_id: str) -> str | None:
    """The user's role on a board, or None."""
    if board["owner_id"] == user_id:
        return "owner"
    return repos.grant_role(db, board["id"], user_id)


def allows(role: str | None, action: str) -> bool:
    return role is not None and role in ALLOWED[action]


def require(role: str | None, action: str) -> None:
    """Refuse with 403 `forbidden` when `role` may not do `action`."""
    if not allows(role, action):
        who = f"a {role}" if role else "someone without a role on it"
        raise Forbidden(f"{who} may not {_WHAT[action]}")
