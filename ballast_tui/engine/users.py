"""Users and their API tokens.

A token is ``blt_<token id>_<secret>``; only a scrypt hash of the secret is
stored. Verified tokens are remembered in memory by their SHA-256, so the slow
hash runs once per token per process, not once per request.
"""

from __future__ import annotations

import getpass
import hashlib
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from ballast_tui.engine.blocks import NAME_PATTERN
from ballast_tui.engine.errors import Conflict, InvalidRequest, NotFound, Unauthorized
from ballast_tui.engine.hashing import hash_secret, verify_secret
from ballast_tui.engine.ids import new_id, random_base36
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


def _user(row: dict[str, Any]) -> User:
    return User(row["id"], row["name"], row["kind"], bool(row["is_admin"]))


class Users:
    """Accounts and token checks for one workspace."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._verified: dict[bytes, str] = {}
        self._lock = threading.Lock()

    def count(self) -> int:
        row = self.db.row("SELECT count(*) AS n FROM users")
        return int(row["n"]) if row else 0

    def get(self, user_id: str) -> User:
        row = self.db.row("SELECT * FROM users WHERE id = ?", [user_id])
        if row is None:
            raise NotFound(f"no user {user_id!r}")
        return _user(row)

    def find(self, ref: str) -> User:
        """A user by id or by name."""
        row = self.db.row("SELECT * FROM users WHERE id = ? OR name = ?", [ref, ref])
        if row is None:
            raise NotFound(f"no user named {ref!r}")
        return _user(row)

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
            token = self._new_token(db, user.id)
        return user, token

    def add_token(self, user_id: str) -> str:
        with self.db.write() as db:
            return self._new_token(db, user_id)

    def revoke(self, token: str) -> None:
        """Forget a token (e.g. the one a `ballast` minted to join a running server, on exit)."""
        parts = token.split("_", 2)
        if len(parts) == 3:
            with self.db.write() as db:
                db.execute("DELETE FROM tokens WHERE id = ?", [parts[1]])
        with self._lock:
            self._verified.pop(hashlib.sha256(token.encode()).digest(), None)

    def _new_token(self, db: Any, user_id: str) -> str:
        token_id = random_base36(12)
        secret = secrets.token_urlsafe(24)
        db.table("tokens").insert(
            {"id": token_id, "user_id": user_id, "hash": hash_secret(secret), "created_at": utcnow()}
        )
        return f"blt_{token_id}_{secret}"

    def authenticate(self, token: str | None) -> User:
        """The user a bearer token belongs to, or 401."""
        if not token:
            raise Unauthorized("a bearer token is required")
        fingerprint = hashlib.sha256(token.encode()).digest()
        with self._lock:
            cached = self._verified.get(fingerprint)
        if cached is not None:
            return self.get(cached)
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "blt":
            raise Unauthorized("the token is not valid")
        row = self.db.row("SELECT user_id, hash FROM tokens WHERE id = ?", [parts[1]])
        # Hash anyway when the id is unknown, so timing does not tell ids apart.
        stored = row["hash"] if row else hash_secret("x")
        if not verify_secret(parts[2], stored) or row is None:
            raise Unauthorized("the token is not valid")
        with self._lock:
            self._verified[fingerprint] = row["user_id"]
        return self.get(row["user_id"])

    def local(self) -> User:
        """The account of the OS user running this process, created on first use.

        The OS user who first opens a workspace becomes its first user (an administrator).
        """
        name = _os_user_name()
        row = self.db.row("SELECT * FROM users WHERE name = ?", [name])
        if row is not None:
            return _user(row)
        try:
            return self.create(name, "human")[0]
        except Conflict:
            return self.find(name)


def _os_user_name() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "local"
    return name or "local"
