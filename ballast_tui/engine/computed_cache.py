"""A short-lived, bounded cache of computations under overrides (see `overrides.computed`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from ballast_tui.engine.outputs import Output


@dataclass(frozen=True)
class Computed:
    """What one computation under overrides produced: the outputs of the blocks it ran, and every
    block it touched (ran, failed, or kept from running by an upstream failure), and the failures'
    messages (for signed-in readers; a published page never shows them)."""

    outputs: dict[str, Output]
    touched: frozenset[str]
    errors: dict[str, str] = field(default_factory=dict)


class ComputedCache:
    """Computations under overrides kept a short while, bounded by count and bytes, so the blocks of
    one published page (drawn one request at a time) share one computation. A key names the board's
    state (`board_fingerprint`), so a change is never answered from an older computation."""

    def __init__(self, max_entries: int = 32, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[Computed, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._computing: dict[str, threading.Lock] = {}

    def get(self, key: str, compute: Callable[[], Computed]) -> Computed:
        """The computation of `key`, made by `compute()` once however many callers ask at once."""
        with self._lock:
            found = self._hit(key)
            if found is not None:
                return found
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                found = self._hit(key)
                if found is not None:
                    return found
            computed: Computed = compute()
            size = sum(o.table.nbytes for o in computed.outputs.values() if o.table is not None)
            with self._lock:
                self._computing.pop(key, None)
                if size <= self.max_bytes:
                    self._entries[key] = (computed, size)
                    self._bytes += size
                    while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                        _old, (_computed, old_size) = self._entries.popitem(last=False)
                        self._bytes -= old_size
            return computed

    def clear(self) -> None:
        """Forget every kept computation (computations under way finish and are kept)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _hit(self, key: str) -> Computed | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]
