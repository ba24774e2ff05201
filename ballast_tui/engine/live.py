"""A live session: one connected client (a TUI, a WebSocket, an agent) following one board.

The same object serves every door. It joins a board (checking who may see it),
keeps its presence and heartbeat, releases its locks when it leaves, and
filters what reaches its client: every event is delivered only after checking
that the session may still see the board. A session that lost access (its
grant revoked, the board made private or transferred away, its token revoked,
its user removed) gets one `AccessLost` and nothing more of that board; its
locks there are released at once.

Access is checked again whenever the bus's `access_epoch` moved since the last
check (events that may change access bump it before they are delivered, and
so does a token revocation), so the usual event costs no query.

What a session may see of a board: everything, with a role on it (owner,
editor, viewer); a published board's displayed blocks (`Event.for_link`), as
any signed-in user with its link; nothing otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from ballast_tui.engine import access
from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import Forbidden, NotFound
from ballast_tui.engine.events import (
    AccessLost,
    BlockChanged,
    BoardDeleted,
    Event,
    LayoutChanged,
    Reload,
)
from ballast_tui.engine.sessions import announce_presence, announce_released
from ballast_tui.engine.users import User
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage import repos

Deliver = Callable[[Event], None]
LINK = "link"
"""The level of a session that sees a board through its published link only."""


@dataclass(frozen=True)
class Joined:
    """A join's answer: the board's newest `seq`, and what the session missed since the `last_seq`
    it gave (a `Reload` when too much was)."""

    seq: int
    missed: list[Event]


class LiveSession:
    """One connected client: who it is, the board it follows, its presence, locks and events."""

    def __init__(
        self,
        ws: Workspace,
        user: User,
        session_id: str,
        client: str,
        deliver: Deliver,
        *,
        still_valid: Callable[[], bool] | None = None,
    ) -> None:
        """`deliver` gets each event the session may see (on the publishing thread: hop onto your
        loop); `still_valid` says whether the session's credentials still hold (a token's)."""
        self.ws = ws
        self.context = Context(ws, user, session_id, client=client)
        self.deliver = deliver
        self.still_valid = still_valid
        self.board_id: str | None = None
        self.level: str | None = None
        self._epoch = -1
        self._displayed: frozenset[str] = frozenset()
        self._unsubscribe: Callable[[], None] | None = None
        self._held: list[Event] | None = None
        self._lock = threading.RLock()
        ws.sessions.ensure(self.key, user.id, user.name, user.kind, client)
        ws.live_sessions.add(self)

    @property
    def key(self) -> str:
        """The session's key in the workspace's `Sessions` (the holder of its locks)."""
        return self.context.session_key

    @property
    def user(self) -> User:
        return self.context.user

    # -- access --------------------------------------------------------------------

    def level_on(self, board_id: str) -> str | None:
        """What this session may see of a board now: its role, `link`, or None."""
        if self.still_valid is not None and not self.still_valid():
            return None
        row = repos.board(self.ws.db, board_id)
        if row is None:
            return None
        role = access.role_of(self.ws.db, row, self.user.id)
        if role is not None:
            return role
        return LINK if row["visibility"] == "link_view" and not self.context.is_anonymous else None

    # -- joining and leaving ---------------------------------------------------------

    def join(self, board_id: str, last_seq: int | None = None) -> Joined:
        """Follow `board_id`: 404 for no such board, 403 when the session may not see it.

        Events that arrive from now on are held until `release`, so the client gets what it
        `missed` and the joined `seq` first, then everything after, in order.
        """
        epoch = self.ws.bus.access_epoch
        level = self.level_on(board_id)
        if level is None:
            if repos.board(self.ws.db, board_id) is None:
                raise NotFound(f"no dashboard or conversation {board_id!r}")
            raise Forbidden("someone without a role on it may not see this board")
        self.leave()
        self.heartbeat()  # a session that closed (an agent gone quiet) comes back
        with self._lock:
            self.board_id, self.level, self._epoch = board_id, level, epoch
            self._displayed = self._displayed_now() if level == LINK else frozenset()
            missed: list[Event] = []
            if last_seq is not None:
                since = self.ws.bus.since(board_id, last_seq)
                if since is None:
                    missed = [Reload(dashboard_id=board_id, seq=self.ws.bus.last_seq(board_id))]
                else:
                    missed = [shown for event in since if (shown := self._shown(event)) is not None]
            self._held = []
            self._unsubscribe = self.ws.bus.subscribe(board_id, self._on_event)
            seq = self.ws.bus.last_seq(board_id)
        if level != LINK:
            self.ws.sessions.join(self.key, board_id)
            announce_presence(self.ws.bus, self.ws.sessions, board_id)
        return Joined(seq, missed)

    def release(self) -> None:
        """Deliver the events held since `join`, and from now on each as it comes."""
        with self._lock:
            held, self._held = self._held or [], None
            for event in held:
                self.deliver(event)

    def leave(self) -> None:
        """Stop following the current board (presence goes; locks stay until `close` or the timeout)."""
        with self._lock:
            board_id, level = self.board_id, self.level
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            self.board_id = self.level = None
        if board_id is not None and level != LINK:
            self.ws.sessions.join(self.key, "")
            announce_presence(self.ws.bus, self.ws.sessions, board_id)

    def heartbeat(self) -> None:
        """Keep the session's locks a while longer (and bring back a session that went quiet)."""
        user = self.user
        self.ws.sessions.ensure(self.key, user.id, user.name, user.kind, self.context.client)

    def close(self) -> None:
        """The client is gone: its presence and its locks go with it."""
        board_id, level = self.board_id, self.level
        with self._lock:
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            self.board_id = self.level = None
        announce_released(self.ws.bus, self.ws.sessions.leave(self.key))
        if board_id is not None and level != LINK:
            announce_presence(self.ws.bus, self.ws.sessions, board_id)

    def recheck(self) -> bool:
        """Check the session's access now (after a change that published no board event, such as a
        revoked token); answer whether it still follows its board."""
        with self._lock:
            board_id = self.board_id
            if board_id is None:
                return False
            self._epoch = self.ws.bus.access_epoch
            if self.level_on(board_id) is None:
                self._lose(board_id)
                return False
            return True

    # -- delivery ------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        """A board event, on the publishing thread: check access if it may have changed, then pass
        on what the session may see."""
        with self._lock:
            if event.dashboard_id != self.board_id:
                return
            if isinstance(event, BoardDeleted):
                self._drop(event.dashboard_id, event)
                return
            epoch = self.ws.bus.access_epoch
            if epoch != self._epoch:
                self._epoch = epoch
                level = self.level_on(event.dashboard_id)
                if level is None:
                    self._lose(event.dashboard_id)
                    return
                if level != self.level:
                    self.level = level
                    self._displayed = self._displayed_now() if level == LINK else frozenset()
            shown = self._shown(event)
            if shown is not None and self._held is not None:
                self._held.append(shown)
                return
        if shown is not None:
            self.deliver(shown)

    def _shown(self, event: Event) -> Event | None:
        if self.level != LINK:
            return event
        if isinstance(event, LayoutChanged | BlockChanged):
            self._displayed = self._displayed_now()
        return event.for_link(self._displayed)

    def _displayed_now(self) -> frozenset[str]:
        assert self.board_id is not None
        return frozenset(b["id"] for b in repos.block_states(self.ws.db, self.board_id) if b["displayed"])

    def _lose(self, board_id: str) -> None:
        """Access is gone: one `AccessLost`, nothing more; locks and presence go at once (announced
        once the event being delivered reached everyone)."""
        self._drop(board_id, AccessLost(dashboard_id=board_id, seq=self.ws.bus.last_seq(board_id)))

    def _drop(self, board_id: str, last: Event) -> None:
        """Stop following `board_id` after telling the client `last` (its deletion, or lost access)."""
        self.release()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        level, self.board_id, self.level = self.level, None, None
        self.deliver(last if level != LINK else last.for_link(()) or last)
        released = self.ws.sessions.release_board(self.key, board_id)
        if isinstance(last, BoardDeleted):
            return  # nobody is left in a deleted board to tell

        def announce() -> None:
            announce_released(self.ws.bus, released, reason="access_lost")
            if level != LINK:
                announce_presence(self.ws.bus, self.ws.sessions, board_id)

        self.ws.bus.after_delivery(announce)


def recheck_all(ws: Workspace) -> None:
    """Check every live session's access now (a token was revoked, a user removed)."""
    ws.bus.access_changed()
    for session in list(ws.live_sessions):
        if isinstance(session, LiveSession):
            session.recheck()
