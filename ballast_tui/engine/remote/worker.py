"""A query worker: a process of our own that runs connected-database queries one at a time.

    python -m ballast_tui.engine.remote.worker CONTROL_FD

The engine (`ballast_tui.engine.remote.process`) starts it and may kill it at
any moment: that is how a query on a database that never answers is
abandoned. Once started (its imports done) it says so on stdout, then reads
requests on stdin and answers each on stdout (see `wire`); CONTROL_FD is a
pipe on which the engine asks it to interrupt a call, read by a thread of its
own so a request still reaches a query that blocks the main thread. When that
pipe closes (the engine is gone) the worker exits at once, whatever it is
doing.

A request names a connection (``key``), its driver and URI, and what to do:
``query`` (``sql``, ``params``) or ``tables``. With ``keep`` (PostgreSQL), the
session stays open for the next request on the same connection; a kept
session the server dropped meanwhile is replaced once. SQLite and DuckDB
files are opened per request, so no file stays open between queries.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any, BinaryIO

import pyarrow as pa

from ballast_tui.engine.remote import wire
from ballast_tui.engine.remote.drivers import RemoteFailure, Session, open_session
from ballast_tui.engine.remote.urls import Target

Answer = tuple[dict[str, Any], pa.Buffer | None]
RELEASE_ABOVE_BYTES = 1 << 20
"""After an answer larger than this, the memory it took goes back to the system."""


class _Worker:
    """The sessions of one worker process and the call it runs."""

    def __init__(self) -> None:
        self._held: tuple[str, str, Session] | None = None
        self._lock = threading.Lock()
        self._current: tuple[int, Session] | None = None
        self._interrupted = 0

    def handle(self, request: dict[str, Any]) -> Answer:
        """Run one request; the answer's JSON and, for a query, its rows as Arrow IPC."""
        call: int = request["call"]
        for attempt in range(2):
            try:
                session, reused = self._session(request)
            except RemoteFailure as failure:
                return self._failure(call, failure), None
            try:
                with self._running(call, session):
                    if request["op"] == "tables":
                        tables = [asdict(t) for t in session.tables()]
                        answer: Answer = ({"call": call, "ok": True, "tables": tables}, None)
                    else:
                        table = session.query(request["sql"], request["params"])
                        answer = ({"call": call, "ok": True, "arrow": True}, wire.table_to_ipc(table))
            except RemoteFailure as failure:
                self._done(request, session, healthy=failure.kind not in ("lost", "connect"))
                if failure.kind == "lost" and reused and attempt == 0:
                    continue  # a kept session the server dropped meanwhile: once more, on a new one
                return self._failure(call, failure), None
            except BaseException:
                session.close()
                raise
            self._done(request, session, healthy=True)
            answer[0]["held"] = self._held[0] if self._held else None
            return answer
        raise AssertionError("unreachable")

    def _failure(self, call: int, failure: RemoteFailure) -> dict[str, Any]:
        return {
            "call": call,
            "ok": False,
            "kind": failure.kind,
            "detail": failure.detail,
            "held": self._held[0] if self._held else None,
        }

    def _session(self, request: dict[str, Any]) -> tuple[Session, bool]:
        held, self._held = self._held, None
        if held is not None:
            if (held[0], held[1]) == (request["key"], request["uri"]):
                return held[2], True
            held[2].close()
        target = Target(request["driver"], request["uri"], {})
        return open_session(target, request["threads"], request["memory_limit"]), False

    def _done(self, request: dict[str, Any], session: Session, healthy: bool) -> None:
        if healthy and request["keep"]:
            self._held = (request["key"], request["uri"], session)
        else:
            session.close()

    @contextlib.contextmanager
    def _running(self, call: int, session: Session) -> Iterator[None]:
        """While `call` runs on `session`, an interrupt for it reaches the session."""
        with self._lock:
            if self._interrupted == call:
                raise RemoteFailure("timeout", "the query was interrupted before it started")
            self._current = (call, session)
        try:
            yield
        finally:
            with self._lock:
                self._current = None

    def interrupt(self, call: int) -> None:
        """Interrupt call `call` if it runs (on a thread of its own: a hung server may never answer)."""
        with self._lock:
            self._interrupted = call
            current = self._current
        if current is not None and current[0] == call:
            threading.Thread(target=_quietly, args=(current[1].cancel,), daemon=True).start()

    def close(self) -> None:
        if self._held is not None:
            self._held[2].close()
            self._held = None


def _quietly(action: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):
        action()


def _watch_control(fd: int, worker: _Worker) -> None:
    """Interrupts from the engine; when it closes the pipe (it exited or died), exit at once."""
    with os.fdopen(fd, "rb", buffering=0) as control:
        while True:
            data = control.read(wire.CALL.size)
            if not data or len(data) < wire.CALL.size:
                os._exit(0)
            worker.interrupt(wire.CALL.unpack(data)[0])


def serve(requests: BinaryIO, answers: BinaryIO, control_fd: int) -> None:
    """Answer requests until stdin closes."""
    worker = _Worker()
    threading.Thread(target=_watch_control, args=(control_fd, worker), daemon=True).start()
    wire.write_frames(answers, wire.READY)  # started: the first request's time limit counts from here
    try:
        while (payload := wire.read_frame_blocking(requests)) is not None:
            request = pickle.loads(payload)
            try:
                meta, body = worker.handle(request)
            except Exception as error:  # a bug of ours: say so rather than leave the engine waiting
                meta = {"call": request.get("call"), "ok": False, "kind": "query", "detail": str(error)}
                body = None
            if body is None:
                wire.write_frames(answers, json.dumps(meta).encode())
            else:
                wire.write_frames(answers, json.dumps(meta).encode(), body)
            if body is not None and body.size > RELEASE_ABOVE_BYTES:
                del body
                _release_memory()
    finally:
        worker.close()


def _release_memory() -> None:
    """Hand what the last answer used back to the system: an idle worker holds nothing of it."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim` (the drivers allocate with malloc); None elsewhere."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def main(argv: list[str]) -> int:
    # The engine stops us; a Ctrl-C meant for it must not (we are in a session of our own anyway).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(1), "wb", buffering=1 << 16)
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the answers
    requests = os.fdopen(0, "rb", buffering=1 << 16)
    serve(requests, answers, int(argv[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
