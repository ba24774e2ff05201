"""Identifiers: a prefix, `_`, and random base-36 characters."""

from __future__ import annotations

import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 16


def random_base36(length: int = ID_LENGTH) -> str:
    """`length` random characters from [0-9a-z], from the OS's CSPRNG."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str) -> str:
    """A new id such as ``dash_k3j9…`` (prefix, underscore, 16 base-36 characters)."""
    return f"{prefix}_{random_base36()}"
