"""Users: accounts with a name, a kind (`human` or `agent`) and API tokens (`ballast_tui.engine.tokens`).

The local account is the OS user running this process, by its real uid's
passwd name: environment variables (`USER`, `LOGNAME`) never choose who one is.
The OS user who first opens a workspace becomes its first user, an
administrator. Administrators manage users and connections; they get no role on
anyone's board by being administrators. A removed user keeps its row (runs and
the audit still name it) but none of its tokens work, and it cannot be found.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ballast_tui.engine.blocks import NAME_PATTERN
from ballast_tui.engine.errors import Conflict, InvalidRequest, NotFound, Unauthorized
from ballast_tui.engine.ids import new_id
from ballast_tui.engine.tokens import Tokens, bump_access
from ballast_tui.storage.db import Database, utcnow

USER_NAME_MAX = 64


@dataclass(frozen=True)
class User:
    id: str
    name: str
    kind: str
    is_admin: bool

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind}


@dataclass(frozen=True)
class Identity:
    """Who a bearer token says the caller is, and which token it was."""

    user: User
    token_id: str


def _user(row: dict[str, Any]) -> User:
    return User(row["id"], row["name"], row["kind"], bool(row["is_admin"]))


def os_user_name() -> str:
    """The passwd name of this process's real uid (`uid<n>` when it has none)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name or f"uid{os.getuid()}"
    except KeyError:
        return f"uid{os.getuid()}"


class Users:
    """Accounts and token checks for one workspace."""

    def __init__(self, db: Database, key: Callable[[], bytes]) -> None:
        """`key` gives the workspace's signing key (tokens are hashed under a key derived from it)."""
        self.db = db
        self.tokens = Tokens(db, key)
        self._known: dict[str, User] = {}

    def count(self) -> int:
        row = self.db.row("SELECT count(*) AS n FROM users WHERE removed_at IS NULL")
        return int(row["n"]) if row else 0

    def get(self, user_id: str) -> User:
        """A user by id, removed ones too (runs and the audit name them)."""
        row = self.db.row("SELECT * FROM users WHERE id = ?", [user_id])
        if row is None:
            raise NotFound(f"no user {user_id!r}")
        return _user(row)

    def find(self, ref: str) -> User:
        """A user (not removed) by id or by name."""
        row = self.db.row("SELECT * FROM users WHERE (id = ? OR name = ?) AND removed_at IS NULL", [ref, ref])
        if row is None:
            raise NotFound(f"no user named {ref!r}")
        return _user(row)

    def all(self) -> list[dict[str, Any]]:
        """Every user not removed, with how many live tokens each has (never a secret)."""
        return self.db.rows(
            "SELECT u.id, u.name, u.kind, u.is_admin, u.created_at, u.created_by, "
            "(SELECT count(*) FROM tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL) AS live_tokens "
            "FROM users u WHERE u.removed_at IS NULL ORDER BY u.created_at, u.name"
        )

    def create(
        self, name: str, kind: str = "human", admin: bool = False, created_by: str | None = None
    ) -> tuple[User, str]:
        """A new user and its first API token (the only time the token is seen)."""
        name = name.strip()
        if (
            not name
            or len(name) > USER_NAME_MAX
            or not NAME_PATTERN.match(name.lower().replace("-", "_").replace(".", "_"))
        ):
            raise InvalidRequest(f"invalid user name {name!r}: letters, digits, '-', '.' and '_'")
        if kind not in ("human", "agent"):
            raise InvalidRequest("a user's kind is 'human' or 'agent'")
        with self.db.write() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
                raise Conflict(f"a user named {name!r} already exists")
            first = not db.execute("SELECT 1 FROM users LIMIT 1").fetchone()
            user = User(new_id("usr"), name, kind, admin or first)
            db.table("users").insert(
                {
                    "id": user.id,
                    "name": name,
                    "kind": kind,
                    "is_admin": int(user.is_admin),
                    "created_by": created_by,
                    "created_at": utcnow(),
                }
            )
            _token_id, token = self.tokens.create(db, user.id)
        return user, token

    def add_token(self, user_id: str, name: str | None = None) -> str:
        """A new token for a user (not removed)."""
        with self.db.write() as db:
            if not db.execute(
                "SELECT 1 FROM users WHERE id = ? AND removed_at IS NULL", [user_id]
            ).fetchone():
                raise NotFound(f"no user {user_id!r}")
            return self.tokens.create(db, user_id, name)[1]

    def revoke(self, token: str) -> None:
        """Revoke a token given whole (e.g. the one a `ballast` minted to join a running server, on exit)."""
        try:
            checked = self.tokens.check(token)
        except Unauthorized:
            return
        with self.db.write() as db:
            self.tokens.revoke(db, checked.user_id, checked.token_id)
        self.forget()

    def remove(self, user: User) -> None:
        """Remove a user: its tokens stop working; its grants go. Refused while it owns boards (transfer
        them first), and for the last administrator."""
        with self.db.write() as db:
            owned = db.execute("SELECT count(*) FROM boards WHERE owner_id = ?", [user.id]).fetchone()[0]
            if owned:
                raise Conflict(f"{user.name} owns {owned} board(s): transfer them first")
            if user.is_admin:
                admins = db.execute(
                    "SELECT count(*) FROM users WHERE is_admin = 1 AND removed_at IS NULL"
                ).fetchone()[0]
                if admins <= 1:
                    raise Conflict(f"{user.name} is the last administrator: make another one first")
            db.execute("UPDATE users SET removed_at = ? WHERE id = ?", [utcnow(), user.id])
            db.execute("DELETE FROM grants WHERE user_id = ?", [user.id])
            db.execute("DELETE FROM connection_grants WHERE grantee = ?", [user.id])
            self.tokens.revoke(db, user.id)
            bump_access(db)
        self.forget()

    def authenticate(self, token: str | None) -> User:
        """The user a bearer token belongs to, or 401 (unknown, revoked, or its user removed)."""
        return self.identify(token).user

    def identify(self, token: str | None) -> Identity:
        """The user and token id of a bearer token, or 401 (unknown, revoked, or its user removed)."""
        checked = self.tokens.check(token)
        row = self.db.row("SELECT * FROM users WHERE id = ? AND removed_at IS NULL", [checked.user_id])
        if row is None:
            raise Unauthorized("the token is not valid (its user was removed)")
        user = _user(row)
        self._known[user.id] = user
        return Identity(user, checked.token_id)

    def identify_cached(self, token: str) -> Identity | None:
        """`identify` from memory alone (no I/O: safe on an event loop), or None when it must be read."""
        checked = self.tokens.cached(token)
        if checked is None:
            return None
        user = self._known.get(checked.user_id)
        return Identity(user, checked.token_id) if user is not None else None

    def watch(self) -> bool:
        """`Tokens.watch`, forgetting remembered users too when access changed; whether it did."""
        moved = self.tokens.watch()
        if moved:
            self._known.clear()
        return moved

    def forget(self) -> None:
        """Forget every remembered token and user (after a change to access made in this process)."""
        self.tokens.forget()
        self._known.clear()

    def local(self) -> User:
        """The account of the OS user running this process (its real uid), created on first use.

        The OS user who first opens a workspace becomes its first user (an administrator).
        """
        name = os_user_name()
        row = self.db.row("SELECT * FROM users WHERE name = ?", [name])
        if row is not None:
            if row["removed_at"] is not None:
                raise Unauthorized(f"the account {name!r} was removed from this workspace")
            return _user(row)
        try:
            return self.create(name, "human")[0]
        except Conflict:
            return self.find(name)
