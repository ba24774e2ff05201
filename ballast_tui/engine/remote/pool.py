"""Queries on connected databases, each run in a worker process that can be abandoned and killed.

A database that hangs (its processes stopped, packets dropped) may never
answer, and a driver waiting on it can be neither interrupted (the interrupt
needs the server's answer too) nor left behind (a busy thread for ever). So
every query runs in a worker process (`process`, `worker`), and the caller
waits for its answer with a deadline:

- at the time limit, the query is interrupted: the worker cancels it the
  driver's way (PostgreSQL also stops it itself: its ``statement_timeout`` is
  the same limit); a driver that cannot be interrupted (SQLite) is killed.
  The limit counts from the call, or from when a worker started for it is
  ready (starting Python and its imports is not the query's time);
- the time limit plus `ABANDON_AFTER_S` after the call, a worker that has
  still not answered is killed (SIGKILL) and the call fails as abandoned,
  however long the worker took to start. A killed worker is replaced by a new
  one when a query next needs it.

`cancel` never blocks: it asks the worker to interrupt and kills it if the
query has not ended `CANCEL_GRACE_S` later; `close` kills what runs at once.

Idle workers are kept (at most `MAX_IDLE`), each with the PostgreSQL session
it last used still open, and a call goes to a worker already holding a
session on its connection when there is one. Only the thread running a call
touches its worker's pipes; other threads only interrupt or kill, under the
pool's lock and only while the call runs.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ballast_tui.engine.executor import alarm
from ballast_tui.engine.remote import wire
from ballast_tui.engine.remote.drivers import RemoteFailure, TableInfo, can_interrupt, failure_kind
from ballast_tui.engine.remote.process import WorkerProcess
from ballast_tui.engine.remote.urls import Target

log = logging.getLogger("ballast.remote")

MAX_IDLE = 4
ABANDON_AFTER_S = 4.0
"""How long past the time limit a worker may stay silent before it is killed (the contract allows 5 s
for the whole run)."""
CANCEL_GRACE_S = 1.0
"""How long a cancelled query may take to stop before its worker is killed."""
CLOSE_WAIT_S = 1.0
"""How long `close` lets idle workers end their sessions before they are killed."""


@dataclass
class _Call:
    """One request on one worker, while it runs."""

    id: int
    worker: WorkerProcess
    board_id: str | None
    interruptible: bool
    timed_out: bool = False
    cancelled: bool = False
    killed: bool = False
    finished: bool = False


@dataclass
class _Answer:
    meta: dict[str, Any]
    table: pa.Table | None = field(default=None)


class SessionPool:
    """Worker processes, the sessions they keep, and the calls running on them (to cancel them)."""

    def __init__(self, threads: int, memory_limit: str) -> None:
        self.threads = threads
        self.memory_limit = memory_limit
        self._lock = threading.Lock()
        self._idle: list[WorkerProcess] = []
        self._retiring: list[WorkerProcess] = []
        self._running: dict[int, _Call] = {}
        self._ids = itertools.count(1)
        self._forgotten: set[str] = set()
        self._closed = False

    # -- calls --------------------------------------------------------------------------

    def query(
        self,
        key: str,
        target: Target,
        sql: str,
        params: Sequence[Any] | Mapping[str, Any],
        timeout: float,
        board_id: str | None,
    ) -> pa.Table:
        """One read-only query on connection `key`; its rows as Arrow. Raises `RemoteFailure`."""
        bound = dict(params) if isinstance(params, Mapping) else list(params)
        request = {"op": "query", "sql": sql, "params": bound}
        answer = self._call(key, target, request, timeout, board_id)
        assert answer.table is not None
        return answer.table

    def tables(self, key: str, target: Target, timeout: float) -> list[TableInfo]:
        """Every table and view of connection `key`, with columns. Raises `RemoteFailure`."""
        answer = self._call(key, target, {"op": "tables"}, timeout, None)
        return [TableInfo(**table) for table in answer.meta["tables"]]

    def _call(
        self, key: str, target: Target, request: dict[str, Any], timeout: float, board_id: str | None
    ) -> _Answer:
        what = "catalog listing" if request["op"] == "tables" else "query"
        started = time.monotonic()
        hard = started + timeout + ABANDON_AFTER_S
        request.update(
            key=key,
            driver=target.driver,
            uri=target.uri,
            keep=target.driver == "postgresql",
            threads=self.threads,
            memory_limit=self.memory_limit,
        )
        for attempt in range(2):
            worker, fresh = self._acquire(key)
            call = self._start(worker, board_id, can_interrupt(target.driver))
            try:
                worker.send({**request, "call": call.id})
                if fresh:  # the query's time limit counts once the worker has started
                    worker.started(hard)
                soft = (time.monotonic() if fresh else started) + timeout
                if not worker.answered(min(soft, hard)):
                    self._time_out(call)
                meta, table = worker.receive(hard)
            except wire.Deadline:
                self._finish(call, healthy=False, kill=True)
                raise RemoteFailure(
                    "abandoned", f"no answer within {timeout + ABANDON_AFTER_S:g} s; the {what} was abandoned"
                ) from None
            except wire.Gone:
                self._finish(call, healthy=False, kill=True)
                if call.cancelled:
                    raise RemoteFailure("cancelled", f"the {what} was cancelled") from None
                if call.timed_out:
                    raise RemoteFailure("timeout", "the time limit was reached") from None
                log.warning("query worker %d ended unexpectedly (status %s)", worker.pid, worker.returncode)
                if not fresh and attempt == 0:
                    continue  # an idle worker that exited meanwhile: once more, on a new one
                raise RemoteFailure("worker", f"the process running the {what} ended unexpectedly") from None
            except BaseException:
                self._finish(call, healthy=False, kill=True)
                raise
            self._finish(call, healthy=True, kill=False)
            if meta.get("ok"):
                return _Answer(meta, table)
            if call.cancelled:
                raise RemoteFailure("cancelled", f"the {what} was cancelled")
            if call.timed_out:
                raise RemoteFailure("timeout", "the time limit was reached")
            raise RemoteFailure(failure_kind(meta.get("kind")), str(meta.get("detail", "")))
        raise AssertionError("unreachable")

    def _start(self, worker: WorkerProcess, board_id: str | None, interruptible: bool) -> _Call:
        call = _Call(next(self._ids), worker, board_id, interruptible)
        with self._lock:
            self._running[call.id] = call
            if self._closed:  # closed while the worker started
                call.cancelled = True
                self._stop(call, kill=True)
        return call

    def _time_out(self, call: _Call) -> None:
        """The time limit passed: interrupt the query (kill a worker that cannot interrupt it)."""
        with self._lock:
            call.timed_out = True
            self._stop(call, kill=not call.interruptible)

    def _stop(self, call: _Call, kill: bool) -> None:
        """Interrupt or kill a running call's worker; the caller holds the lock."""
        if call.finished:
            return
        if kill:
            call.killed = True
            call.worker.kill()
        else:
            call.worker.interrupt(call.id)

    def _finish(self, call: _Call, healthy: bool, kill: bool) -> None:
        """The call is over: its worker goes back to the idle ones, or is killed and reaped."""
        with self._lock:
            if kill:
                self._stop(call, kill=True)
            call.finished = True
            self._running.pop(call.id, None)
            keep = healthy and not call.killed and not self._closed
            worker = call.worker
            if keep and worker.held in self._forgotten:
                keep = False
            if keep:
                self._idle.append(worker)
                if len(self._idle) > MAX_IDLE:
                    worker = self._idle.pop(0)  # the least recently used
                    keep = False
        if keep:
            return
        if call.killed:
            if not worker.reap(timeout=1.0):
                self._retire(worker, already=True)
        else:
            self._retire(worker)

    # -- workers ------------------------------------------------------------------------

    def _acquire(self, key: str) -> tuple[WorkerProcess, bool]:
        """A worker for a call on `key`, and whether it is new: an idle one holding a session on `key`,
        else one holding none, else a new one while there are fewer than `MAX_IDLE` (so sessions on
        other connections stay open), else the least recently used idle one."""
        with self._lock:
            if self._closed:
                raise RemoteFailure("cancelled", "the workspace is closing")
            chosen = _last(self._idle, key) or _last(self._idle, None)
            if chosen is None and len(self._idle) + len(self._running) >= MAX_IDLE and self._idle:
                chosen = self._idle[0]
            if chosen is not None:
                self._idle.remove(chosen)
        self._reap_retiring()
        if chosen is not None:
            return chosen, False
        try:
            return WorkerProcess(), True
        except (OSError, subprocess.SubprocessError) as error:
            raise RemoteFailure("worker", f"could not start a process for the query: {error}") from None

    def _retire(self, worker: WorkerProcess, already: bool = False) -> None:
        """Let a worker exit by itself (or, `already`, leave a killed one to be reaped later)."""
        if not already:
            worker.retire()
        with self._lock:
            self._retiring.append(worker)

    def _reap_retiring(self) -> None:
        with self._lock:
            retiring, self._retiring = self._retiring, []
        alive = [w for w in retiring if not w.reap()]
        if alive:
            with self._lock:
                self._retiring.extend(alive)

    # -- cancelling and closing ----------------------------------------------------------

    def cancel(self, board_id: str | None = None) -> int:
        """Stop the running queries of one board (or all); return how many. Never blocks."""
        with self._lock:
            calls = [
                c
                for c in self._running.values()
                if (board_id is None or c.board_id == board_id) and not c.cancelled
            ]
            for call in calls:
                call.cancelled = True
                self._stop(call, kill=not call.interruptible)
        for call in calls:
            if call.interruptible:
                alarm(CANCEL_GRACE_S, functools.partial(self._kill, call))
        return len(calls)

    def _kill(self, call: _Call) -> None:
        with self._lock:
            self._stop(call, kill=True)

    def forget(self, key: str) -> None:
        """Close the sessions kept on a connection (removed, or its URL replaced)."""
        with self._lock:
            self._forgotten.add(key)
            leaving = [w for w in self._idle if w.held == key]
            self._idle = [w for w in self._idle if w.held != key]
        for worker in leaving:
            self._retire(worker)

    def close(self) -> None:
        """Kill what runs, let idle workers end their sessions (briefly), and kill what remains."""
        with self._lock:
            self._closed = True
            for call in self._running.values():
                call.cancelled = True
                self._stop(call, kill=True)
            idle, self._idle = self._idle, []
        for worker in idle:
            self._retire(worker)
        deadline = time.monotonic() + CLOSE_WAIT_S
        with self._lock:
            retiring, self._retiring = self._retiring, []
        for worker in retiring:
            if not worker.reap(timeout=max(0.0, deadline - time.monotonic())):
                worker.kill()
                with contextlib.suppress(Exception):
                    worker.reap(timeout=1.0)


def _last(workers: list[WorkerProcess], held: str | None) -> WorkerProcess | None:
    """The most recently idle worker keeping a session on `held` (None: keeping none)."""
    return next((w for w in reversed(workers) if w.held == held), None)
