"""The workspace's signing key and HMAC signatures made with it.

The key is 32 random bytes in `secret.key` (mode 0600), made the first time it
is needed; two processes racing to make it agree on the first one written.
Signatures are HMAC-SHA256 over the parts joined by a separator no part may
contain, URL-safe base64 without padding, checked in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from ballast_tui.storage.private import open_private

KEY_BYTES = 32
SEPARATOR = "\x1f"


def workspace_secret(path: Path) -> bytes:
    """The key stored at `path`, made (atomically, owner-only) when missing."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    with open_private(temporary) as file:
        file.write(secrets.token_bytes(KEY_BYTES))
        file.flush()
        os.fsync(file.fileno())
    try:
        os.link(temporary, path)  # fails if another process made it first: theirs wins
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) < KEY_BYTES:
        raise ValueError(f"{path} is not a signing key (too short)")
    return key


def sign(key: bytes, *parts: str) -> str:
    """The signature of `parts` under `key`."""
    if any(SEPARATOR in part for part in parts):
        raise ValueError("a signed part contains the separator")
    digest = hmac.new(key, SEPARATOR.join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify(key: bytes, signature: str, *parts: str) -> bool:
    """Whether `signature` is the signature of `parts` under `key`."""
    try:
        expected = sign(key, *parts)
    except ValueError:
        return False
    return hmac.compare_digest(expected.encode(), signature.encode())
