"""Which blocks of a cascade run on their board's single-threaded DuckDB instance.

A trivial query over a row or a few (`SELECT 1 + x AS x FROM t0`) costs DuckDB about as much to
hand to its second thread and wait for as to run: on two cores, a block's query took 0.07–0.2 ms
less on an instance with one thread (`Executor.query_to_file` with `single`). The price is that a
query which is in fact heavy gets one core instead of all of them. So a block runs there only
when both hold:

- every input it reads is a table handed on in memory (`handoff`), all of them together under
  `QUICK_INPUT_BYTES` (a block with no input at all counts: its last run decides);
- its last run took under `QUICK_RUN_MS`: a block that is heavy over small inputs (a generator, a
  cross join) ran slowly last time and keeps every thread; one that has just become heavy has
  one core for that one run.

The instance also runs only the optimizer passes a few rows need (`executor.QUICK_PASSES`): the
others took 0.1–0.2 ms of a one-row query, and change the plan, never the answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ballast_tui.engine.outputs import Output
from ballast_tui.storage.db import Database

QUICK_INPUT_BYTES = 256 * 1024
"""The most a quick block's inputs may hold in memory, together."""
QUICK_RUN_MS = 20.0
"""A block whose last run took this long or longer is not quick."""


class QuickBlocks:
    """The quick blocks among a cascade's: their last runs' durations are read once, when first
    asked, in one query."""

    def __init__(self, db: Database, blocks: Iterable[Mapping[str, Any]]) -> None:
        self._db = db
        self._current = {b["id"]: b.get("current_run_id") for b in blocks}
        self._last_ms: dict[str, float] | None = None

    def quick(self, block_id: str, inputs: Mapping[str, Output]) -> bool:
        """Whether the block's query is to run on the single-threaded instance."""
        size = 0
        for output in inputs.values():
            if output.table is None:
                return False
            size += output.table.get_total_buffer_size()
            if size >= QUICK_INPUT_BYTES:
                return False
        last = self._durations().get(block_id)
        return last is not None and last < QUICK_RUN_MS

    def _durations(self) -> dict[str, float]:
        last_ms = self._last_ms
        if last_ms is None:  # blocks run in parallel may both read it: the same answer
            by_run = {run: block for block, run in self._current.items() if run}
            last_ms = {}
            if by_run:
                marks = ", ".join("?" for _ in by_run)
                rows = self._db.rows(f"SELECT id, duration_ms FROM runs WHERE id IN ({marks})", list(by_run))
                last_ms = {
                    by_run[r["id"]]: float(r["duration_ms"]) for r in rows if r["duration_ms"] is not None
                }
            self._last_ms = last_ms
        return last_ms
