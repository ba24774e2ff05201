"""Open sessions on connected databases, and queries run on them within a time limit.

PostgreSQL sessions are kept (a few per connection) and reused; a reused one
found dead is replaced once. SQLite and DuckDB files are opened per use, so
no file stays locked between queries. The shared watchdog cancels a query at
the time limit; SQLite, which ADBC cannot interrupt, is waited for only that
long and finishes, unwatched, on its own thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from typing import TypeVar

from ballast_tui.engine.executor import alarm
from ballast_tui.engine.remote.drivers import RemoteFailure, Session, open_session
from ballast_tui.engine.remote.urls import Target

T = TypeVar("T")
MAX_IDLE = 4


class SessionPool:
    """Sessions by connection id, and the queries running on them (to cancel them)."""

    def __init__(self, threads: int, memory_limit: str) -> None:
        self.threads = threads
        self.memory_limit = memory_limit
        self._idle: dict[str, list[Session]] = {}
        self._lock = threading.Lock()
        self._running: dict[int, tuple[str | None, Session]] = {}
        self._closed = False

    def run(
        self, key: str, target: Target, work: Callable[[Session], T], timeout: float, board_id: str | None
    ) -> T:
        """`work` on a session of connection `key`, cancelled after `timeout` seconds.

        Raises `RemoteFailure`; a timeout is of kind ``timeout`` whichever way it was noticed.
        """
        for attempt in range(2):
            session, reused = self._acquire(key, target)
            timed_out = threading.Event()

            def fire(session: Session = session, timed_out: threading.Event = timed_out) -> None:
                timed_out.set()
                session.cancel()

            with self._lock:
                self._running[id(session)] = (board_id, session)
            handle = alarm(timeout, fire) if session.cancellable else None
            try:
                result = work(session) if session.cancellable else _within(work, session, timeout)
            except RemoteFailure as failure:
                abandoned = failure.kind == "timeout" and not session.cancellable
                if not abandoned:
                    self._release(key, target, session, healthy=failure.kind not in ("lost", "connect"))
                if failure.kind == "lost" and reused and attempt == 0:
                    continue  # a kept session the server dropped meanwhile: once more, on a new one
                if timed_out.is_set():
                    raise RemoteFailure("timeout", "the time limit was reached") from None
                raise
            finally:
                if handle is not None:
                    handle.cancel()
                with self._lock:
                    self._running.pop(id(session), None)
            self._release(key, target, session, healthy=True)
            return result
        raise AssertionError("unreachable")

    def _acquire(self, key: str, target: Target) -> tuple[Session, bool]:
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop(), True
        return open_session(target, self.threads, self.memory_limit), False

    def _release(self, key: str, target: Target, session: Session, healthy: bool) -> None:
        if healthy and target.driver == "postgresql":
            with self._lock:
                idle = self._idle.setdefault(key, [])
                if not self._closed and len(idle) < MAX_IDLE:
                    idle.append(session)
                    return
        session.close()

    def cancel(self, board_id: str | None = None) -> int:
        """Interrupt the running queries of one board (or all); return how many."""
        with self._lock:
            targets = [s for b, s in self._running.values() if board_id is None or b == board_id]
        for session in targets:
            with suppress(Exception):
                session.cancel()
        return len(targets)

    def forget(self, key: str) -> None:
        """Close the kept sessions of a connection (removed, or its URL replaced)."""
        with self._lock:
            idle = self._idle.pop(key, [])
        for session in idle:
            session.close()

    def close(self) -> None:
        """Cancel everything and close every kept session."""
        self.cancel()
        with self._lock:
            self._closed = True
            keys = list(self._idle)
        for key in keys:
            self.forget(key)


def _within(work: Callable[[Session], T], session: Session, timeout: float) -> T:
    """`work` on its own thread, waited for at most `timeout` s; a late one closes its session itself."""
    done = threading.Event()
    outcome: dict[str, object] = {}
    abandoned = threading.Event()

    def call() -> None:
        try:
            outcome["value"] = work(session)
        except BaseException as error:  # handed to the waiting thread
            outcome["error"] = error
        finally:
            done.set()
            if abandoned.is_set():
                session.close()

    threading.Thread(target=call, name="ballast-remote-query", daemon=True).start()
    if not done.wait(timeout):
        abandoned.set()
        if done.is_set():  # finished between the wait and the flag: nobody else will close it
            session.close()
        raise RemoteFailure("timeout", "the query did not finish in time")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
