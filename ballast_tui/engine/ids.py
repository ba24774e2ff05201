"""Identifiers: a prefix, `_`, and random base-36 characters.

The random bytes come from the OS's CSPRNG (`os.urandom`), read 4 KB at a time rather than once an
id: each read is a system call that lets go of the GIL, and in a cascade (two ids a block) another
thread (the output writer) takes it then and the cascade waits for it to come back. What is left
of a read is dropped in a forked child, so parent and child never hand out the same bytes.
"""

from __future__ import annotations

import os
import threading

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 16
_READ_BYTES = 4096

_IDS_AHEAD = 64
_pool = bytearray()
_ids: list[str] = []
"""Random parts of ids made ahead, `_IDS_AHEAD` at a time, each handed out once: a cascade asks
for two a block, right after a query that left the processor's caches cold, where making one took
several times what it takes in a loop."""
_pool_lock = threading.Lock()


def _forget_pool() -> None:
    global _pool_lock
    _pool.clear()
    _ids.clear()
    _pool_lock = threading.Lock()  # a lock held by another thread at the fork stays held in the child


os.register_at_fork(after_in_child=_forget_pool)


def _random_bytes(size: int) -> bytes:
    """`size` bytes from the OS's CSPRNG, each handed out once."""
    with _pool_lock:
        if len(_pool) < size:
            _pool.extend(os.urandom(max(_READ_BYTES, size)))
        taken = bytes(_pool[:size])
        del _pool[:size]
    return taken


def _randbelow(limit: int) -> int:
    """A uniform integer in [0, limit) (`secrets.randbelow`, drawing on `_random_bytes`)."""
    bits = (limit - 1).bit_length()
    size = (bits + 7) // 8
    mask = (1 << bits) - 1
    while True:
        number = int.from_bytes(_random_bytes(size), "big") & mask
        if number < limit:
            return number


def random_base36(length: int = ID_LENGTH) -> str:
    """`length` random characters from [0-9a-z], from the OS's CSPRNG.

    One uniform draw below 36**length, written in base 36 (not one draw a character).
    """
    if length != ID_LENGTH:
        return _draw(length)
    with _pool_lock:
        if _ids:
            return _ids.pop()
    made = [_draw(length) for _ in range(_IDS_AHEAD)]
    with _pool_lock:
        _ids.extend(made[1:])
    return made[0]


def _draw(length: int) -> str:
    number = _randbelow(36**length)
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 36)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def new_id(prefix: str) -> str:
    """A new id such as ``dash_k3j9…`` (prefix, underscore, 16 base-36 characters)."""
    return f"{prefix}_{random_base36()}"
