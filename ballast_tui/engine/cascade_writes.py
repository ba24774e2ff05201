"""The runs of a cascade whose files are still being written, and how they are settled.

A result handed on in memory is written on the workspace's writer thread
(`output_writer`) while the cascade goes on. Until the file is written, the run
is pending: its output (with its table) is already in the cascade's result, so
the blocks below it may run on the table, but its content hash, which their
fingerprints need, is not known yet. A pending run is settled, that is its run
recorded (`RunRecorder.record`, into the group commit) as soon as its file is
written, on the writer's thread; a block that needs the hash waits for that.
A file that cannot be written as Parquet (e.g. an INTERVAL column) settles as
an error run, exactly as when the file is written in line; any other failure
(a full disk) is raised by `settle` to the cascade, as before.

A block running early on its upstream's table is announced (`run_started`)
only once its upstreams are settled (`when_settled`), so it is never announced
before them; if it is still running then, it is announced at that moment, so a
slow block shows as running while it runs.

A block that ran early and whose upstreams are still unsettled when it ends is
deferred (`defer`): its output is in the result (the blocks below it may run
early on it in turn), but whether its run is kept is decided only once its
upstreams are settled (`cascade`). Until then it counts as unsettled too, for
`writing` and `when_settled`, so nothing below it is announced before it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ballast_tui.engine.executor import cannot_store
from ballast_tui.engine.outputs import Output
from ballast_tui.engine.run_records import RunRecorder
from ballast_tui.lazy import lazy_module

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

if TYPE_CHECKING:
    from ballast_tui.engine.cascade import CascadeResult


@dataclass
class Executed:
    """One execution of a block: what it produced (or its error), when, how long, and where to."""

    produced: pa.Table | Output | None
    error: str | None
    started_at: str
    duration_ms: float
    into: Path | None
    trace: list[dict[str, Any]] | None = None

    @property
    def writing(self) -> bool:
        """Whether its file is still being written."""
        return isinstance(self.produced, Output) and self.produced.writing is not None


@dataclass
class _Pending:
    block: Mapping[str, Any]
    fingerprint: str
    inputs: Mapping[str, Output]
    bound: Mapping[str, Any]
    run: Executed

    @property
    def output(self) -> Output:
        assert isinstance(self.run.produced, Output)
        return self.run.produced


class PendingWrites:
    """The pending runs of one cascade; thread-safe (the writer's threads settle them)."""

    def __init__(
        self, records: RunRecorder, result: CascadeResult, settled: Callable[[str, bool], None]
    ) -> None:
        """`settled(block_id, ok)` is called once a run is recorded (`ok`: with its file)."""
        self.records = records
        self.result = result
        self._settled = settled
        self._pending: dict[str, _Pending] = {}
        self._deferred: set[str] = set()
        self._waiting: list[tuple[frozenset[str], Callable[[], None]]] = []
        self._lock = threading.Lock()

    def add(
        self,
        block: Mapping[str, Any],
        fingerprint: str,
        inputs: Mapping[str, Output],
        bound: Mapping[str, Any],
        run: Executed,
    ) -> None:
        """Put the block's output in the result now and record its run once its file is written."""
        pending = _Pending(block, fingerprint, inputs, bound, run)
        block_id = block["id"]
        with self._lock:
            self.result.outputs[block_id] = pending.output
            self._pending[block_id] = pending
        writing = pending.output.writing
        assert writing is not None
        writing.content_hash.add_done_callback(lambda _: self._settle_written(block_id))

    def writing(self, block_ids: Iterable[str]) -> bool:
        """Whether any of these blocks' runs is pending (or deferred)."""
        with self._lock:
            return any(b in self._pending or b in self._deferred for b in block_ids)

    def when_settled(self, block_ids: Iterable[str], then: Callable[[], None]) -> None:
        """Call `then` once none of these blocks' runs is pending or deferred any more (now, if
        none is)."""
        waited = frozenset(block_ids)
        with self._lock:
            if not waited & self._unsettled():
                waited = frozenset()
            else:
                self._waiting.append((waited, then))
        if not waited:
            then()

    def defer(self, block_id: str) -> None:
        """The block ran early and its run is yet to be decided: it counts as unsettled."""
        with self._lock:
            self._deferred.add(block_id)

    def undefer(self, block_id: str) -> None:
        """The block's run is decided (recorded, pending its file, reused or dropped)."""
        with self._lock:
            self._deferred.discard(block_id)
            ready = self._ready()
        for then in ready:
            then()

    def _unsettled(self) -> set[str]:
        return self._pending.keys() | self._deferred

    def _ready(self) -> list[Callable[[], None]]:
        """Take the waiters none of whose blocks is unsettled any more (under the lock)."""
        unsettled = self._unsettled()
        ready = [then for waited, then in self._waiting if not waited & unsettled]
        self._waiting = [(w, then) for w, then in self._waiting if w & unsettled]
        return ready

    def settle(self, block_ids: Iterable[str]) -> None:
        """Wait until these blocks' runs are recorded (raising a failure to write their files)."""
        for block_id in block_ids:
            with self._lock:
                pending = self._pending.get(block_id)
            if pending is None:
                continue
            writing = pending.output.writing
            if writing is not None:
                with contextlib.suppress(pa.ArrowException):
                    writing.content_hash.result()  # raises what the writer could not do but a type
            ready: list[Callable[[], None]] = []
            try:
                with self._lock:
                    pending = self._pending.pop(block_id, None)
                    if pending is not None:  # else the writer's thread recorded it meanwhile
                        self._record(pending, ready)
            finally:
                for then in ready:
                    then()

    def settle_all(self) -> None:
        """`settle` every pending run (at the end of the cascade, before its group commits)."""
        with self._lock:
            block_ids = list(self._pending)
        self.settle(block_ids)

    def _settle_written(self, block_id: str) -> None:
        """The writer's thread: record the run whose file is written, unless the write failed in a
        way `settle` must raise."""
        ready: list[Callable[[], None]] = []
        try:
            with self._lock:
                pending = self._pending.get(block_id)
                if pending is None:
                    return
                writing = pending.output.writing
                assert writing is not None
                failure = writing.content_hash.exception()
                if failure is not None and not isinstance(failure, pa.ArrowException):
                    return  # left for `settle`, which raises it on the cascade's thread
                del self._pending[block_id]
                self._record(pending, ready)
        finally:
            for then in ready:
                then()

    def _record(self, pending: _Pending, ready: list[Callable[[], None]]) -> None:
        """Record a pending run whose write is done (under the lock); what waited for it goes to
        `ready`, to be called once the lock is let go (it may take the lock again)."""
        try:
            self._record_run(pending)
        finally:
            ready.extend(self._ready())

    def _record_run(self, pending: _Pending) -> None:
        output, run, block_id = pending.output, pending.run, pending.block["id"]
        writing = output.writing
        assert writing is not None
        output.writing = None
        failure = writing.content_hash.exception()
        if failure is not None:
            if not isinstance(failure, pa.ArrowException):
                raise failure
            del self.result.outputs[block_id]
            self.records.record(
                pending.block,
                pending.fingerprint,
                pending.inputs,
                pending.bound,
                None,
                cannot_store(failure),
                run.started_at,
                run.duration_ms,
                run.trace,
            )
            self._settled(block_id, False)
            return
        output.content_hash = writing.content_hash.result()
        self.records.record(
            pending.block,
            pending.fingerprint,
            pending.inputs,
            pending.bound,
            output,
            None,
            run.started_at,
            run.duration_ms,
            run.trace,
            run.into,
            durable=writing.durable,
        )
        self._settled(block_id, True)
