"""Identifiers: a prefix, `_`, and random base-36 characters."""

from __future__ import annotations

import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 16


def random_base36(length: int = ID_LENGTH) -> str:
    """`length` random characters from [0-9a-z], from the OS's CSPRNG.

    One uniform draw below 36**length, written in base 36 (one read of the CSPRNG, not one a
    character: a cascade makes two ids a block).
    """
    number = secrets.randbelow(36**length)
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 36)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def new_id(prefix: str) -> str:
    """A new id such as ``dash_k3j9…`` (prefix, underscore, 16 base-36 characters)."""
    return f"{prefix}_{random_base36()}"
