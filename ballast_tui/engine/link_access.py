"""Access to a protected published board: its password, and the cookie the right password earns.

The cookie's value is an expiry and a signature, under the workspace's key, of
the board, its slug, its `password_version` and that expiry: a new password or
an unpublish (which clears the slug and bumps the version) makes every cookie
given before it worthless, at once. Setting it on a response is the server's
business; making and checking its value is here, so the registry checks a
`link` tool's access the same way whatever door the call came through.
"""

from __future__ import annotations

import time
from typing import Any

from ballast_tui.engine.errors import PasswordRequired
from ballast_tui.engine.hashing import verify_secret
from ballast_tui.engine.signing import sign, verify

ACCESS_DAYS = 7
ACCESS_MAX_AGE_S = ACCESS_DAYS * 86400


class WrongPassword(PasswordRequired):
    """A password was given and it is not the board's: what a rate limit counts."""


def check_password(board: dict[str, Any], password: str | None) -> None:
    """403 `password_required` unless the board is open or `password` is its password.

    The comparison is `verify_secret`'s: a slow salted hash, compared in constant time.
    """
    stored = board["password_hash"]
    if not stored:
        return
    if not password:
        raise PasswordRequired("this dashboard is protected: send its password")
    if not verify_secret(password, stored):
        raise WrongPassword("wrong password for this dashboard")


def _parts(board: dict[str, Any], expires: int) -> tuple[str, ...]:
    return ("access", str(board["id"]), str(board["slug"]), str(board["password_version"]), str(expires))


def access_value(key: bytes, board: dict[str, Any], now: float | None = None) -> str:
    """A new access cookie value for `board`, valid for `ACCESS_DAYS`."""
    expires = int(now if now is not None else time.time()) + ACCESS_MAX_AGE_S
    return f"{expires}.{sign(key, *_parts(board, expires))}"


def access_valid(value: str | None, key: bytes, board: dict[str, Any]) -> bool:
    """Whether an access cookie's `value` is valid and unexpired for `board` as it is now."""
    if not value:
        return False
    expires_text, _, signature = value.partition(".")
    if not expires_text.isdigit() or not signature:
        return False
    expires = int(expires_text)
    if expires < time.time():
        return False
    return verify(key, signature, *_parts(board, expires))
