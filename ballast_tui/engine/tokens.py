"""API tokens: made, checked, listed and revoked.

A token is ``blt_<token id>_<secret>``: the id names its row, the secret is 32
random bytes (URL-safe base64). Only a keyed hash of the secret is stored:
HMAC-SHA-256 under a key derived from the workspace's `secret.key`. A token
is a long random secret, so a fast keyed hash is enough (a slow one would only
let bad tokens slow the server down), and every check costs the same: one
HMAC, compared in constant time, whether the id exists or not. Tokens made
before this scheme (stored as scrypt hashes) are checked the slow way once and
re-hashed on that first use.

Checked tokens are remembered in memory (`cached`: a dictionary lookup, safe on
an event loop). The memory holds only while the workspace's `access` counter
stays where it was: every revocation moves it (in the same transaction), and
`watch` (which a server calls at least every second) forgets everything when
another process moved it. When a token was last used is written at most once
a minute per token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ballast_tui.engine.errors import NotFound, Unauthorized
from ballast_tui.engine.hashing import verify_secret
from ballast_tui.engine.ids import random_base36
from ballast_tui.storage.db import Database, utcnow

PREFIX = "blt"
ID_LENGTH = 12
TOKEN_NAME_MAX = 64
USE_WRITE_EVERY_S = 60.0
_DUMMY = "0" * 64


@dataclass(frozen=True)
class Checked:
    """A token that checked out: whose it is, and which row."""

    user_id: str
    token_id: str


def _parts(token: str) -> tuple[str, str] | None:
    prefix, _, rest = token.partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != PREFIX or len(token_id) != ID_LENGTH or not token_id.isalnum() or not secret:
        return None
    return token_id, secret


def token_id_of(token: str) -> str | None:
    """The id part of a token (None for something that is no token)."""
    parts = _parts(token)
    return parts[0] if parts else None


class Tokens:
    """The tokens of one workspace."""

    def __init__(self, db: Database, key: Callable[[], bytes]) -> None:
        self.db = db
        self._key_source = key
        self._key: bytes | None = None
        self._lock = threading.Lock()
        self._cached: dict[bytes, Checked] = {}
        self._epoch: int | None = None
        self._used: dict[str, float] = {}
        self._written: dict[str, float] = {}

    # -- the key and the hash -------------------------------------------------------------

    def _hmac(self, secret: str) -> str:
        if self._key is None:
            self._key = hmac.new(self._key_source(), b"ballast api tokens", hashlib.sha256).digest()
        return hmac.new(self._key, secret.encode(), hashlib.sha256).hexdigest()

    # -- making and revoking --------------------------------------------------------------

    def create(self, tx: Any, user_id: str, name: str | None = None) -> tuple[str, str]:
        """A new token for `user_id` inside the caller's write transaction: (token id, the token)."""
        token_id = random_base36(ID_LENGTH)
        secret = secrets.token_urlsafe(32)
        tx.table("tokens").insert(
            {
                "id": token_id,
                "user_id": user_id,
                "hash": self._hmac(secret),
                "scheme": "hmac",
                "name": name,
                "created_at": utcnow(),
            }
        )
        return token_id, f"{PREFIX}_{token_id}_{secret}"

    def revoke(self, tx: Any, user_id: str, token_id: str | None = None) -> list[str]:
        """Revoke one of the user's live tokens (404 for none such), or all of them; the ids revoked.

        Moves the workspace's `access` counter in the same transaction, so every process forgets
        what it remembered of them."""
        if token_id is None:
            rows = tx.execute(
                "SELECT id FROM tokens WHERE user_id = ? AND revoked_at IS NULL", [user_id]
            ).fetchall()
        else:
            rows = tx.execute(
                "SELECT id FROM tokens WHERE user_id = ? AND id = ? AND revoked_at IS NULL",
                [user_id, token_id],
            ).fetchall()
            if not rows:
                raise NotFound(f"no live token {token_id!r} of this user")
        ids = [row[0] for row in rows]
        for revoked in ids:
            tx.execute("UPDATE tokens SET revoked_at = ? WHERE id = ?", [utcnow(), revoked])
        if ids:
            bump_access(tx)
        return ids

    def of_user(self, user_id: str) -> list[dict[str, Any]]:
        """A user's tokens, newest first: id, name, created, last used, revoked (never a secret)."""
        rows = self.db.rows(
            "SELECT id, name, created_at, last_used_at, revoked_at FROM tokens WHERE user_id = ? "
            "ORDER BY created_at DESC, id",
            [user_id],
        )
        for row in rows:
            used = self._used.get(row["id"])
            if used is not None:
                row["last_used_at"] = _iso(used)
        return rows

    # -- checking -------------------------------------------------------------------------

    def cached(self, token: str) -> Checked | None:
        """The token, if it checked out before and nothing was revoked since (no I/O: safe on a loop)."""
        found = self._cached.get(hashlib.sha256(token.encode()).digest())
        if found is not None:
            self._used[found.token_id] = time.time()
        return found

    def check(self, token: str | None) -> Checked:
        """The token's owner and row, or 401 `unauthorized` (unknown, malformed or revoked)."""
        if not token:
            raise Unauthorized("a bearer token is required")
        found = self.cached(token)
        if found is not None:
            return found
        parts = _parts(token)
        token_id, secret = parts if parts else ("", token)
        row = (
            self.db.row("SELECT user_id, hash, scheme, revoked_at FROM tokens WHERE id = ?", [token_id])
            if parts
            else None
        )
        if row is not None and row["scheme"] == "scrypt":
            good = verify_secret(secret, row["hash"])
            if good:
                self._rehash(token_id, secret)
        else:
            # One HMAC and one comparison whatever the id: an unknown id costs what a known one does.
            good = hmac.compare_digest(self._hmac(secret), row["hash"] if row else _DUMMY) and row is not None
        if not good or row is None or row["revoked_at"] is not None:
            raise Unauthorized("the token is not valid (unknown, malformed or revoked)")
        checked = Checked(row["user_id"], token_id)
        with self._lock:
            self._cached[hashlib.sha256(token.encode()).digest()] = checked
        self._used[token_id] = time.time()
        return checked

    def live(self, token_id: str) -> bool:
        """Whether a token is still live (not revoked, not deleted)."""
        return self.db.row("SELECT 1 FROM tokens WHERE id = ? AND revoked_at IS NULL", [token_id]) is not None

    def _rehash(self, token_id: str, secret: str) -> None:
        with self.db.write() as tx:
            tx.execute(
                "UPDATE tokens SET hash = ?, scheme = 'hmac' WHERE id = ?", [self._hmac(secret), token_id]
            )

    # -- keeping up with revocations --------------------------------------------------------

    def watch(self) -> bool:
        """Read the workspace's `access` counter; when it moved (a revocation here or in another
        process), forget every remembered token and answer True. Also write when tokens were last
        used (at most once a minute each)."""
        row = self.db.row("SELECT value FROM counters WHERE name = 'access'")
        epoch = int(row["value"]) if row else 0
        moved = self._epoch is not None and epoch != self._epoch
        if moved or self._epoch is None:
            with self._lock:
                self._cached.clear()
        self._epoch = epoch
        self._write_use()
        return moved

    def forget(self) -> None:
        """Forget every remembered token (after a change made in this process)."""
        with self._lock:
            self._cached.clear()

    def _write_use(self) -> None:
        now = time.time()
        due = {
            token_id: at
            for token_id, at in list(self._used.items())
            if now - self._written.get(token_id, 0.0) >= USE_WRITE_EVERY_S
        }
        if not due:
            return
        with self.db.write() as tx:
            for token_id, at in due.items():
                tx.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", [_iso(at), token_id])
        for token_id in due:
            self._written[token_id] = now


def bump_access(tx: Any) -> None:
    """Move the workspace's `access` counter (inside the change's transaction)."""
    tx.execute("UPDATE counters SET value = value + 1 WHERE name = 'access'")


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}Z"
