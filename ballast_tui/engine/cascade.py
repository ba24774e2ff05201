"""Running a set of blocks in topological order, in parallel where independent.

A block runs once all of its upstreams in the set are done. Before executing,
its input fingerprint (type, config, the content hashes of what it reads, and
its bound values) is compared with its earlier successful runs: a match reuses
that run's output. An error records an error run, and everything downstream
of it is marked `upstream_error` without running. With `persist=False` (a
`filter_overrides` call) nothing is written: no run, no file, no state.

A block that reads connected tables runs through `remote.runner`; its
fingerprint includes the board's refresh epoch (what it read is reused until
the next refresh, never after), and its run records what was sent (`remote`).

What a persisted cascade leaves behind is committed in groups
(`group_commit`): its blocks' files fsynced together and their rows written in
one transaction, before the cascade answers. A block's result is handed to the
blocks downstream of it in the same cascade in memory, without reading its
file back, where its types are proven to read the same (`handoff`).

A result handed on in memory is written on the writer's thread
(`output_writer`) while the cascade goes on (`cascade_writes`). A SQL block below it runs at once
on the handed-on table; whether that run is kept is decided, as always, by its
fingerprint, once the upstream's file and content hash are there: a run that
proves reusable, or whose upstream could not be stored, is dropped unrecorded.
If the upstream's hash is still to come when such an early run ends, the block is
deferred (`_Deferred`): its own result is handed on at once, so the blocks below
it run early too, all the way down a chain, while the files above are written.
Each deferred block is decided in turn once its upstreams are settled, on the
block pool as soon as they are (so it shows as finished, and a block below it
still running as started), else by the cascade when it needs it or at its end.
A block below one that proved reusable, or that read a result since dropped,
loses its early run and runs again on what its upstreams finally hold.

This module schedules and executes; what a block reads and its fingerprint
are in `cascade_inputs`, what is recorded for it in `run_records`.
"""

from __future__ import annotations

import contextlib
import heapq
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ballast_tui.engine.blocks import CONTROL_TYPES
from ballast_tui.engine.board_graph import BoardGraph
from ballast_tui.engine.cascade_inputs import BlockInputs
from ballast_tui.engine.cascade_writes import Executed, PendingWrites
from ballast_tui.engine.events import RunStarted
from ballast_tui.engine.executor import QueryError
from ballast_tui.engine.group_commit import GroupCommit
from ballast_tui.engine.ids import new_id
from ballast_tui.engine.output_writer import ENCODE_HERE_BYTES
from ballast_tui.engine.outputs import Output, compute, source_query
from ballast_tui.engine.quick_blocks import QuickBlocks
from ballast_tui.engine.run_records import RunRecorder
from ballast_tui.engine.workspace import Workspace
from ballast_tui.lazy import lazy_module
from ballast_tui.storage.db import utcnow

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

if TYPE_CHECKING:
    from ballast_tui.engine.remote.runner import RemoteRun


@dataclass
class CascadeResult:
    """What happened to each block of a cascade, and the outputs it produced."""

    ran: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    upstream_error: list[str] = field(default_factory=list)
    outputs: dict[str, Output] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    remote: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def describe(self) -> dict[str, list[str]]:
        """The contract's `cascade`: ``{"ran", "reused", "failed"}`` (plus the blocks not run)."""
        return {
            "ran": self.ran,
            "reused": self.reused,
            "failed": self.failed,
            "upstream_error": self.upstream_error,
        }


class _Start:
    """Whether a block running early was announced as started while it still ran."""

    def __init__(self, announce: Callable[[], None]) -> None:
        self._announce = announce
        self._lock = threading.Lock()
        self._running = True
        self.announced = False

    def while_running(self) -> None:
        """Its upstreams are settled: announce it if it still runs."""
        with self._lock:
            if self._running and not self.announced:
                self.announced = True
                self._announce()

    def ran(self) -> None:
        """Its early run is over: from now on it is announced (or not) by the cascade."""
        with self._lock:
            self._running = False


@dataclass
class _Deferred:
    """A block that ran early, its run not decided yet: what it read, and what it made."""

    block_id: str
    forced: bool
    early: Executed
    inputs: dict[str, Output]
    start: _Start
    lock: threading.Lock = field(default_factory=threading.Lock)
    decided: bool = False
    failure: BaseException | None = None
    """What deciding it raised off the cascade's thread, raised again on it (`Cascade._resolve`)."""


def _same_inputs(now: Mapping[str, Output], then: Mapping[str, Output]) -> bool:
    """Whether a block's inputs are still those an early run read: the same outputs, or outputs of
    the same content."""
    return now.keys() == then.keys() and all(
        now[name] is then[name]
        or (bool(now[name].content_hash) and now[name].content_hash == then[name].content_hash)
        for name in now
    )


class Cascade:
    """One cascade over one board."""

    def __init__(
        self,
        ws: Workspace,
        graph: BoardGraph,
        board_id: str,
        *,
        trigger: str,
        actor: str | None,
        persist: bool = True,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.ws = ws
        self.g = graph
        self.board_id = board_id
        self.trigger = trigger
        self.actor = actor
        self.persist = persist
        self.overrides = dict(overrides or {})
        self.result = CascadeResult()
        self.reads = BlockInputs(
            ws, graph, board_id, trigger=trigger, persist=persist, overrides=self.overrides
        )
        self.group = GroupCommit(ws)
        self.records = RunRecorder(
            ws, board_id, self.result, trigger=trigger, actor=actor, persist=persist, group=self.group
        )
        self.pending = PendingWrites(self.records, self.result, self._written)
        self._read_later: set[str] = set()
        self._in_set: set[str] = set()
        self._held: dict[str, int] = {}
        self._held_lock = threading.Lock()
        self._deferred: dict[str, _Deferred] = {}
        self.quick = QuickBlocks(ws.db, graph.by_id.values())

    def run(self, block_ids: Iterable[str], force: Iterable[str] = ()) -> CascadeResult:
        """Run `block_ids` (the caller chose the set), forcing execution of `force`."""
        order = self.g.ordered(block_ids)
        forced = set(force)
        in_set = self._in_set = set(order)
        self._read_later = {up for b in order for up in self.g.upstream_ids[b] if up in in_set}
        lock = self.ws.board_lock(self.board_id) if self.persist else nullcontext()
        with lock:
            try:
                self._run_ordered(order, forced)
                for block_id in order:
                    self._resolve(block_id)
            finally:
                try:
                    self._drop_deferred()
                    self.pending.settle_all()
                finally:
                    try:
                        self.group.commit()
                    finally:
                        self._release_handed_on()
        return self.result

    def _release_handed_on(self) -> None:
        """Drop the tables handed on in memory (their files hold the same), giving their bytes back."""
        self._deferred.clear()  # every one decided or dropped by now: their tables go too
        with self._held_lock:
            held, self._held = self._held, {}
        for output in self.result.outputs.values():
            if output.path is not None:
                output.table = None
        self.ws.handoff.give(sum(held.values()))

    def _keep_bytes(self, block_id: str) -> int:
        """How large a result of this block may be to be held in memory: to be handed on, or, when
        no block of this cascade reads it, only while its file is written (a small one)."""
        if not self.persist:
            return 0
        if block_id not in self._read_later:
            return min(ENCODE_HERE_BYTES, self.ws.handoff.available())
        return self.ws.handoff.available()

    def _give_back(self, block_id: str) -> None:
        """Give back the bytes held for this block's result."""
        with self._held_lock:
            size = self._held.pop(block_id, 0)
        self.ws.handoff.give(size)

    def _written(self, block_id: str, ok: bool) -> None:
        """A result's file is written (`ok`) or not: no block of this cascade reading it (or none
        able to), its table goes."""
        if ok and block_id in self._read_later:
            return
        output = self.result.outputs.get(block_id)
        if output is not None and output.path is not None:
            output.table = None
        self._give_back(block_id)

    def _hold(self, block_id: str, produced: pa.Table | Output | None) -> None:
        """Count a result handed on in memory against the workspace's budget, or drop it to its file
        (read back instead)."""
        if not isinstance(produced, Output) or produced.table is None or produced.path is None:
            return
        if produced.run_id is not None:
            return  # an upstream's output passed on as it is: counted for the upstream
        size = produced.table.get_total_buffer_size()
        if self.ws.handoff.take(size):
            with self._held_lock:
                self._held[block_id] = size
            return
        produced.table = None
        if produced.writing is not None:
            # The blocks below read its file: wait until it is there (a failure is the settle's).
            with contextlib.suppress(Exception):
                produced.writing.durable.result()

    def _run_ordered(self, order: list[str], forced: set[str]) -> None:
        """Run `order` (topologically sorted), each block once its upstreams in the set are done:
        alone on this thread when nothing could run beside it, else on the block pool."""
        in_set = set(order)
        position = {block_id: i for i, block_id in enumerate(order)}
        left: dict[str, int] = {}
        below: dict[str, list[str]] = {block_id: [] for block_id in order}
        for block_id in order:
            ups = [u for u in self.g.upstream_ids[block_id] if u in in_set]
            left[block_id] = len(ups)
            for up in ups:
                below[up].append(block_id)
        ready = [(position[b], b) for b in order if not left[b]]  # sorted, so a heap already

        def finish(block_id: str) -> None:
            for down in below[block_id]:
                left[down] -= 1
                if not left[down]:
                    heapq.heappush(ready, (position[down], down))

        running: dict[Future[None], str] = {}
        while ready or running:
            startable: list[str] = []
            while ready:
                block_id = heapq.heappop(ready)[1]
                if self.reads.blocked_by_upstream(block_id, in_set, self.result.outputs):
                    self.records.mark_upstream_error(self.g.by_id[block_id])
                    finish(block_id)
                    continue
                startable.append(block_id)
            if len(startable) == 1 and not running:
                # Nothing could run beside it: run it on this thread rather than hand it
                # to a worker and wait (two thread switches per block of a chain).
                self._run_block(startable[0], startable[0] in forced)
                finish(startable[0])
                continue
            for block_id in startable:
                future = self.ws.block_pool.submit(self._run_block, block_id, block_id in forced)
                running[future] = block_id
            if not running:
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                finish(running.pop(future))
                future.result()

    def _run_block(self, block_id: str, forced: bool) -> None:
        """Run one block whose upstreams are done: reuse an earlier run, or execute and record it
        (or, run early, defer that decision)."""
        block = self.g.by_id[block_id]
        early: Executed | None = None
        early_inputs: dict[str, Output] = {}
        start = _Start(lambda: self._announce(block))
        upstream = self.g.upstream_ids[block_id]
        if self.pending.writing(upstream):
            if self._may_run_early(block_id):
                # Run on the upstream's table while its file is written; kept only if the
                # fingerprint, known once the file is, says this block is to run. Announced as
                # started when its upstreams are settled, if it still runs then.
                self.pending.when_settled(upstream, start.while_running)
                early_inputs = self.reads.inputs(block_id, self.result.outputs)
                early = self._execute(block, early_inputs, None)
            start.ran()
            if early is not None and self._may_defer(early) and self.pending.writing(upstream):
                self._defer(_Deferred(block_id, forced, early, early_inputs, start))
                return
            self._settle_upstream(upstream)
            if self.reads.blocked_by_upstream(block_id, self._in_set, self.result.outputs):
                self._discard(block_id, early)
                self.records.mark_upstream_error(block)
                return
        self._decide(block, forced, early, early_inputs, start)

    def _decide(
        self,
        block: Mapping[str, Any],
        forced: bool,
        early: Executed | None,
        early_inputs: Mapping[str, Output],
        start: _Start,
    ) -> None:
        """Reuse an earlier run, or keep the early run, or execute: then record it. Its upstreams
        are settled."""
        block_id = block["id"]
        inputs = self.reads.inputs(block_id, self.result.outputs)
        if early is not None and not _same_inputs(inputs, early_inputs):
            self._discard(block_id, early)  # it read a result since dropped: run again
            early = None
        bound = self.reads.bound(block)
        value = self.reads.control_value(block) if block["type"] in CONTROL_TYPES else None
        remote = self.reads.remote_run(block_id)
        fingerprint = self.reads.fingerprint(block, inputs, bound, value, remote)
        if self.persist and not forced and self.records.reuse(block, fingerprint):
            self._discard(block_id, early)
            if self.group.due(0):
                self.group.commit()
            return
        if not start.announced:
            self._announce(block)
        run = early or self._execute(block, inputs, remote, value)
        if run.trace is not None:
            self.result.remote[block_id] = run.trace
        if not self.persist:
            self.records.keep_unpersisted(block_id, run.produced, run.error)
            return
        if run.writing:
            self.pending.add(block, fingerprint, inputs, bound, run)
            return
        self.records.record(
            block,
            fingerprint,
            inputs,
            bound,
            run.produced,
            run.error,
            run.started_at,
            run.duration_ms,
            run.trace,
            run.into,
        )
        if self.group.due(run.duration_ms / 1000):
            self.group.commit()

    # -- deferred early runs -------------------------------------------------

    @staticmethod
    def _may_defer(early: Executed) -> bool:
        """Whether an early run may be handed on before it is decided: a result in its own file."""
        produced = early.produced
        return (
            early.error is None
            and isinstance(produced, Output)
            and produced.path is not None
            and produced.run_id is None
        )

    def _defer(self, deferred: _Deferred) -> None:
        """Hand the early run's result on now; decide it once its upstreams are settled."""
        block_id = deferred.block_id
        assert isinstance(deferred.early.produced, Output)
        self._deferred[block_id] = deferred
        self.pending.defer(block_id)
        self.result.outputs[block_id] = deferred.early.produced
        upstream = self.g.upstream_ids[block_id]
        self.pending.when_settled(upstream, lambda: self._decide_soon(block_id))

    def _decide_soon(self, block_id: str) -> None:
        """Its upstreams are settled (on whichever thread settled the last): decide it on the block
        pool, unless the cascade gets there first."""
        with contextlib.suppress(RuntimeError):  # the pool is shut down: the cascade decides it
            self.ws.block_pool.submit(self._try_decide, block_id)

    def _try_decide(self, block_id: str) -> None:
        """Decide a deferred block, if nobody else is deciding it and nothing is left that only the
        cascade's own thread does (an upstream that failed, an early run to run again)."""
        deferred = self._deferred.get(block_id)
        if deferred is None or not deferred.lock.acquire(blocking=False):
            return
        try:
            upstream = self.g.upstream_ids[block_id]
            if deferred.decided or self.pending.writing(upstream):
                return
            if self.reads.blocked_by_upstream(block_id, self._in_set, self.result.outputs):
                return
            if not _same_inputs(self.reads.inputs(block_id, self.result.outputs), deferred.inputs):
                return
            self._finish_deferred(deferred)
        except Exception as failure:
            deferred.failure = failure  # raised by the cascade when it comes to this block
        finally:
            deferred.lock.release()

    def _resolve(self, block_id: str) -> None:
        """Decide a deferred block now (its deferred upstreams first), waiting for what it needs."""
        deferred = self._deferred.get(block_id)
        if deferred is None:
            return
        with deferred.lock:
            if deferred.failure is not None:
                raise deferred.failure
            if deferred.decided:
                return
            self._settle_upstream(self.g.upstream_ids[block_id])
            self._finish_deferred(deferred)

    def _finish_deferred(self, deferred: _Deferred) -> None:
        """Decide a deferred block whose upstreams are settled (its lock held)."""
        block_id = deferred.block_id
        block = self.g.by_id[block_id]
        try:
            if self.reads.blocked_by_upstream(block_id, self._in_set, self.result.outputs):
                self._discard(block_id, deferred.early)
                self.records.mark_upstream_error(block)
            else:
                self._decide(block, deferred.forced, deferred.early, deferred.inputs, deferred.start)
        finally:
            deferred.decided = True
            self.pending.undefer(block_id)

    def _settle_upstream(self, upstream: Iterable[str]) -> None:
        """Decide the deferred upstreams, then wait until their runs are recorded."""
        upstream = list(upstream)
        for up in upstream:
            self._resolve(up)
        self.pending.settle(upstream)

    def _drop_deferred(self) -> None:
        """After a failure: drop the early runs never decided (no row, no file)."""
        for deferred in list(self._deferred.values()):
            with deferred.lock:
                if deferred.decided:
                    continue
                deferred.decided = True
                self._discard(deferred.block_id, deferred.early)
                self.pending.undefer(deferred.block_id)

    def _announce(self, block: Mapping[str, Any]) -> None:
        """`run_started` for the block (behind the runs pending in the group)."""
        if self.persist:
            self.group.announce(
                RunStarted(
                    dashboard_id=self.board_id,
                    actor=self.actor,
                    block_id=block["id"],
                    block_name=block["name"],
                    trigger=self.trigger,
                )
            )

    def _may_run_early(self, block_id: str) -> bool:
        """Whether a block may run before its upstreams' files are written: a persisted SQL block
        on local data, every upstream still being written handed on as a table."""
        block = self.g.by_id[block_id]
        if not self.persist or block["type"] != "sql" or self.g.upstream_remote.get(block_id):
            return False
        return all(
            self.result.outputs[up].table is not None
            for up in self.g.upstream_ids[block_id]
            if self.pending.writing([up])
        )

    def _execute(
        self,
        block: Mapping[str, Any],
        inputs: Mapping[str, Output],
        remote: RemoteRun | None,
        value: Any = None,
    ) -> Executed:
        """Execute the block (its query, its source's, its control's value); a failure is its error."""
        bound = self.reads.bound(block)
        started_at, t0 = utcnow(), time.perf_counter()
        into: Path | None = None
        try:
            if remote is not None:
                from ballast_tui.engine.remote.runner import run_sql  # loaded with the first connection

                sql = block["config"]["sql"] if block["type"] == "sql" else source_query(block)
                produced: pa.Table | Output | None = run_sql(self.ws.executor, remote, sql, inputs, bound)
            else:
                # A persisted run's result streams from DuckDB straight into its file, or, when small,
                # is written on the writer's thread.
                into = self.ws.board_dir(self.board_id) / f"{new_id('out')}.parquet" if self.persist else None
                if self.persist:
                    self.ws.writer.start_held()  # their steps fall in this query, which holds no GIL
                produced = compute(
                    self.ws.executor,
                    self.board_id,
                    block,
                    inputs,
                    bound,
                    value,
                    self.ws.today(),
                    into,
                    durable=False,
                    keep_bytes=self._keep_bytes(block["id"]),
                    writer=self.ws.writer if self.persist else None,
                    single=into is not None and self.quick.quick(block["id"], inputs),
                )
                self._hold(block["id"], produced)
            error = None
        except QueryError as failure:
            produced, error = None, str(failure)
        duration_ms = round((time.perf_counter() - t0) * 1000, 3)
        trace = remote.trace if remote is not None else None
        return Executed(produced, error, started_at, duration_ms, into, trace)

    def _discard(self, block_id: str, early: Executed | None) -> None:
        """Drop a run made early that is not to be kept: its file (once written), its bytes, and
        its result handed on while it was deferred."""
        if early is None:
            return
        produced = early.produced
        if produced is not None and self.result.outputs.get(block_id) is produced:
            del self.result.outputs[block_id]
        if isinstance(produced, Output) and produced.path is not None:
            if produced.writing is not None:
                with contextlib.suppress(Exception):
                    produced.writing.durable.result()  # the file is in place (or never will be)
            produced.path.unlink(missing_ok=True)
        self._give_back(block_id)
