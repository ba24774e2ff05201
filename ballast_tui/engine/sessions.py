"""Sessions, presence and block locks: live state, kept in memory only.

A server restart starts with no locks. A lock is released by its holder, by
its session leaving, or when the session sends no heartbeat for
`LOCK_TIMEOUT_S` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ballast_tui.engine.errors import Locked
from ballast_tui.engine.events import EventBus, LockChanged, Presence

LOCK_TIMEOUT_S = 30.0
AGENT_CLIENT = "mcp"
"""The client name of MCP sessions: whoever the user is, such a session works as an agent."""
SCHEDULER_CLIENT = "scheduler"
"""The client name of the server's scheduled refreshes (their runs' trigger is `schedule`)."""


def session_kind(user_kind: str, client: str) -> str:
    """A session's kind: `agent` for an agent user, or for any user's MCP client; else the user's."""
    return "agent" if user_kind == "agent" or client == AGENT_CLIENT else user_kind


def shown_session(key: str) -> str:
    """The session id as its client named it: keys are ``<user id>/<session id>`` (or ``user:<id>``)."""
    return key.split("/", 1)[1] if "/" in key else key


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Session:
    """One connected client: a TUI, an API client or an agent."""

    id: str
    user_id: str
    user_name: str
    kind: str
    """The session's kind: `agent` for an agent user or an MCP client (`session_kind`), else `human`."""
    client: str = "api"
    user_kind: str = "human"
    dashboard_id: str | None = None
    open_block: str | None = None
    since: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.monotonic)

    def describe(self) -> dict[str, Any]:
        return {
            "session": shown_session(self.id),
            "user": {"id": self.user_id, "name": self.user_name, "kind": self.user_kind},
            "kind": self.kind,
            "client": self.client,
            "block_id": self.open_block,
            "since": _iso(self.since),
        }


@dataclass
class Lock:
    dashboard_id: str
    block_id: str
    session_id: str
    user_id: str
    user_name: str
    kind: str = "human"
    acquired: float = field(default_factory=time.time)

    def describe(self) -> dict[str, Any]:
        return {
            "dashboard_id": self.dashboard_id,
            "block_id": self.block_id,
            "session": shown_session(self.session_id),
            "holder": {"id": self.user_id, "name": self.user_name, "kind": self.kind},
            "since": _iso(self.acquired),
        }


class Sessions:
    """Who is where, and who holds which block."""

    def __init__(self, lock_timeout: float = LOCK_TIMEOUT_S) -> None:
        self.lock_timeout = lock_timeout
        self._lock = threading.RLock()
        self._sessions: dict[str, Session] = {}
        self._locks: dict[tuple[str, str], Lock] = {}

    def ensure(
        self, session_id: str, user_id: str, user_name: str, user_kind: str, client: str = "api"
    ) -> Session:
        """The session of that id, created on first use; counts as a heartbeat.

        Its kind follows from the user's and the client (`session_kind`).
        """
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                kind = session_kind(user_kind, client)
                session = Session(session_id, user_id, user_name, kind, client, user_kind)
                self._sessions[session_id] = session
            session.last_seen = time.monotonic()
            return session

    def heartbeat(self, session_id: str) -> None:
        with self._lock:
            if session_id in self._sessions:
                self._sessions[session_id].last_seen = time.monotonic()

    def join(self, session_id: str, dashboard_id: str) -> None:
        with self._lock:
            if session_id in self._sessions:
                self._sessions[session_id].dashboard_id = dashboard_id

    def leave(self, session_id: str) -> list[Lock]:
        """Forget a session; return the locks it held (now released)."""
        with self._lock:
            self._sessions.pop(session_id, None)
            return self._drop_locks(lambda lock: lock.session_id == session_id)

    def release_board(self, session_id: str, dashboard_id: str) -> list[Lock]:
        """Release a session's locks on one board and take it out of that board's presence; return
        the released locks."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.dashboard_id == dashboard_id:
                session.dashboard_id = None
                session.open_block = None
            return self._drop_locks(
                lambda lock: lock.session_id == session_id and lock.dashboard_id == dashboard_id
            )

    def expire(self) -> list[Lock]:
        """Release the locks of sessions silent for longer than the timeout; return them."""
        now = time.monotonic()
        with self._lock:
            stale = {s.id for s in self._sessions.values() if now - s.last_seen > self.lock_timeout}
            for session_id in stale:
                self._sessions[session_id].open_block = None
            return self._drop_locks(
                lambda lock: lock.session_id in stale or lock.session_id not in self._sessions
            )

    def _drop_locks(self, predicate: Any) -> list[Lock]:
        dropped = [lock for lock in self._locks.values() if predicate(lock)]
        for lock in dropped:
            del self._locks[(lock.dashboard_id, lock.block_id)]
        return dropped

    def presence(self, dashboard_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [s.describe() for s in self._sessions.values() if s.dashboard_id == dashboard_id]

    def holder(self, dashboard_id: str, block_id: str) -> Lock | None:
        """The live lock on a block, if any."""
        self.expire()
        with self._lock:
            return self._locks.get((dashboard_id, block_id))

    def check(self, dashboard_id: str, block_id: str, session_id: str) -> None:
        """Refuse with 423 when another session holds the block."""
        lock = self.holder(dashboard_id, block_id)
        if lock is not None and lock.session_id != session_id:
            raise Locked(
                f"block is being edited by {lock.user_name}; try again when they close it",
                lock=lock.describe(),
            )

    def open(self, dashboard_id: str, block_id: str, session: Session) -> Lock:
        """Take a block's lock for a session (again, if it already holds it)."""
        self.check(dashboard_id, block_id, session.id)
        with self._lock:
            current = self._locks.get((dashboard_id, block_id))
            if current is not None and current.session_id == session.id:
                return current
            self._drop_locks(lambda lock: lock.session_id == session.id)  # one open block per session
            lock = Lock(dashboard_id, block_id, session.id, session.user_id, session.user_name, session.kind)
            self._locks[(dashboard_id, block_id)] = lock
            session.dashboard_id = dashboard_id
            session.open_block = block_id
            return lock

    def close(self, dashboard_id: str, block_id: str, session_id: str) -> Lock | None:
        """Release a block's lock if this session holds it; return the released lock."""
        with self._lock:
            lock = self._locks.get((dashboard_id, block_id))
            if lock is None or lock.session_id != session_id:
                return None
            del self._locks[(dashboard_id, block_id)]
            session = self._sessions.get(session_id)
            if session is not None and session.open_block == block_id:
                session.open_block = None
            return lock

    def locks(self, dashboard_id: str) -> list[dict[str, Any]]:
        self.expire()
        with self._lock:
            return [lock.describe() for lock in self._locks.values() if lock.dashboard_id == dashboard_id]


def announce_released(bus: EventBus, locks: Iterable[Lock], reason: str | None = None) -> None:
    """Tell each lock's board that it is free, and who is there now (a session left, went quiet,
    or lost access)."""
    for lock in locks:
        bus.publish(
            LockChanged(
                dashboard_id=lock.dashboard_id,
                block_id=lock.block_id,
                lock=None,
                released=lock.describe(),
                reason=reason,
            )
        )


def announce_presence(bus: EventBus, sessions: Sessions, board_id: str) -> None:
    """Tell a board who is in it now."""
    bus.publish(Presence(dashboard_id=board_id, sessions=sessions.presence(board_id)))


def reap(bus: EventBus, sessions: Sessions) -> None:
    """Release the locks of sessions silent past the timeout, and tell their boards."""
    expired = sessions.expire()
    announce_released(bus, expired, reason="timeout")
    for board_id in dict.fromkeys(lock.dashboard_id for lock in expired):
        announce_presence(bus, sessions, board_id)
