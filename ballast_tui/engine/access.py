"""Roles per board, and what each may do (the contract's access table).

A tool declares the role it needs; the registry asks here, once, before the
tool runs. No transport and no handler checks roles on its own.

Declared roles, from the least to the most:

- ``link``: anyone with a published board's URL (no account; the board must be
  `link_view`, and its password given or its access cookie valid);
- ``user``: any signed-in account, for tools that take no board (list, create);
- ``viewer``, ``editor``, ``owner``: that role (or a higher one) on the board;
- ``admin``: a workspace administrator, for users and connections (no board:
  being an administrator gives no role on anyone's board).
"""

from __future__ import annotations

from typing import Any, Literal

from ballast_tui.engine.errors import Forbidden
from ballast_tui.storage import repos
from ballast_tui.storage.db import Database

Role = Literal["owner", "editor", "viewer"]
Required = Literal["link", "user", "viewer", "editor", "owner", "admin"]

REQUIRED_ROLES: tuple[str, ...] = ("link", "user", "viewer", "editor", "owner", "admin")
BOARD_ROLES: tuple[str, ...] = ("viewer", "editor", "owner")
"""Declared roles that are roles on a board: the registry loads the board and checks them."""

_RANK = {"viewer": 1, "editor": 2, "owner": 3}
# The words screens use for what they are about to do, as the role each needs.
_ACTIONS = {"view": "viewer", "edit": "editor", "manage": "owner"}
_WHAT = {"viewer": "see this board", "editor": "change this board", "owner": "manage this board"}


def role_of(db: Database, board: dict[str, Any], user_id: str) -> str | None:
    """The user's role on a board, or None."""
    if board["owner_id"] == user_id:
        return "owner"
    return repos.grant_role(db, board["id"], user_id)


def _needed(required: str) -> str:
    needed = _ACTIONS.get(required, required)
    if needed not in _RANK:
        raise ValueError(f"{required!r} is not a role on a board")
    return needed


def allows(role: str | None, required: str) -> bool:
    """Whether a board `role` (None: no role) satisfies the `required` board role (or action word)."""
    return role is not None and _RANK.get(role, 0) >= _RANK[_needed(required)]


def require(role: str | None, required: str) -> None:
    """Refuse with 403 `forbidden` when `role` does not satisfy `required`."""
    if not allows(role, required):
        who = f"a {role}" if role else "someone without a role on it"
        raise Forbidden(f"{who} may not {_WHAT[_needed(required)]}")
