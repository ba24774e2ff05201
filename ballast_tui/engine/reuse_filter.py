"""Which blocks may have a successful run with a given input fingerprint, answered in memory.

A cascade asks, for every block, whether an earlier successful run had the same
input fingerprint (`repos.reusable_run`). Mostly none had: an edit gives the
blocks below it new inputs. Each of those lookups is a SQLite query, made right
after a DuckDB query has left the CPU's caches cold, so it costs tens of
microseconds a block. This filter answers "certainly not" without SQLite, and
sends the rest (the reuses, and a few false alarms) to the lookup as before.

It is a Bloom filter over (block id, fingerprint) pairs, of a fixed size, kept
in step with the runs table:

- a block's pairs are read from the index the first time the block is asked
  about in this process (`runs_by_fingerprint` covers the query);
- runs recorded since (by this process or another) are read by rowid, once a
  cascade (`sync`): runs are never updated, and only a board's deletion
  deletes them;
- when the runs' highest rowid went down (a deleted board's runs were the
  newest), SQLite may give a new run a rowid already passed, so the filter
  starts again; and it starts again when it holds so many pairs that its false
  alarms would grow (`CAPACITY`).

A false "certainly not" would only make a block run again instead of reusing
a run (the same answer, later); the rules above keep it from happening.
"""

from __future__ import annotations

import threading

from ballast_tui.storage.db import Database

BITS = 1 << 23
"""The filter's size in bits (1 MiB), fixed whatever the workspace holds."""
CAPACITY = 400_000
"""Pairs held before the filter starts again (about 1% false alarms by then)."""
MAX_BLOCKS = 100_000
"""Blocks read before the filter starts again (most have few runs, or none)."""
_MASK = BITS - 1


class ReuseFilter:
    """A Bloom filter of the workspace's successful runs by (block id, fingerprint)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._bits = bytearray(BITS // 8)
        self._loaded: set[str] = set()
        self._unfiltered: set[str] = set()
        self._count = 0
        self._upto: int | None = None  # the highest rowid read; None: not started

    def sync(self) -> None:
        """Take in the runs recorded since the last call (call once a cascade, before asking)."""
        with self._lock:
            if self._upto is None:
                self._start()
                return
            rows = self._db.rows(
                "SELECT rowid, block_id, fingerprint FROM runs WHERE rowid > ? AND status = 'success' "
                "UNION ALL SELECT coalesce(max(rowid), 0), NULL, NULL FROM runs",
                [self._upto],
            )
            top = max(row["rowid"] for row in rows if row["block_id"] is None)
            new = [row for row in rows if row["block_id"] is not None]
            if top < self._upto or self._count + len(new) > CAPACITY:
                self._start()
                return
            for row in new:
                self._add(row["block_id"], row["fingerprint"])
            self._upto = max([top, *(row["rowid"] for row in new)])

    def may_have(self, block_id: str, fingerprint: str) -> bool:
        """False when the block certainly has no successful run with this fingerprint."""
        low, high = _positions(block_id, fingerprint)
        with self._lock:  # a `_start` on another cascade's thread swaps the bits
            if self._upto is None:
                self._start()
            if block_id not in self._loaded:
                self._load(block_id)
            if block_id in self._unfiltered:
                return True
            bits = self._bits
            return bool(bits[low >> 3] & (1 << (low & 7))) and bool(bits[high >> 3] & (1 << (high & 7)))

    def _start(self) -> None:
        """Forget every pair; blocks are read again as they are asked about (under `_lock`)."""
        top = self._db.first("SELECT coalesce(max(rowid), 0) FROM runs")
        self._bits = bytearray(BITS // 8)
        self._loaded = set()
        self._unfiltered = set()
        self._count = 0
        self._upto = top[0] if top else 0

    def _load(self, block_id: str) -> None:
        """Take in the block's pairs (under `_lock`, so that no `_start` falls between this read
        and the block counted as read: the runs recorded meanwhile would be forgotten)."""
        if len(self._loaded) >= MAX_BLOCKS:
            self._start()
        rows = self._fingerprints(block_id)
        if len(rows) > CAPACITY // 4:
            self._unfiltered.add(block_id)  # a block with that many runs is looked up each time
        else:
            if self._count + len(rows) > CAPACITY:
                self._start()
                rows = self._fingerprints(block_id)  # read after the start: none recorded between
            for row in rows:
                self._add(block_id, row["fingerprint"])
        self._loaded.add(block_id)

    def _fingerprints(self, block_id: str) -> list[dict[str, str]]:
        return self._db.rows(
            "SELECT fingerprint FROM runs WHERE block_id = ? AND status = 'success'", [block_id]
        )

    def _add(self, block_id: str, fingerprint: str) -> None:
        for bit in _positions(block_id, fingerprint):
            self._bits[bit >> 3] |= 1 << (bit & 7)
        self._count += 1


def _positions(block_id: str, fingerprint: str) -> tuple[int, int]:
    """The pair's two bits in the filter."""
    key = hash((block_id, fingerprint))
    return key & _MASK, (key >> 32) & _MASK
