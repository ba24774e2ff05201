"""The events of a board, one frozen dataclass per kind, and the in-process bus that sequences them.

Every change a tool makes publishes its event here after it committed. Each
board has its own monotonically increasing `seq`, stamped by the bus (an event
is built with `seq` 0). Subscribers are plain callables run on the publishing
thread; an asyncio consumer hops onto its loop (`LiveSession` does it for a
client). The bus keeps the last events
of each board so a reconnecting client can catch up (`since`).

On the wire (the WebSocket) an event is `to_dict()`: its `type`, then its
fields; `event_from_dict` reads one back (the TUI's remote backend).

A published link's reader sees only what `for_link` leaves of an event: the
displayed blocks' runs and values, the layout, and the board's end; never
SQL, configs, errors, presence or locks.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

Row = dict[str, Any]
HISTORY = 1000


@dataclass(frozen=True, kw_only=True)
class Event:
    """What every event carries: its board, its place in the board's sequence, when, and who."""

    type: ClassVar[str] = "event"
    dashboard_id: str
    seq: int = 0
    at: str = ""
    actor: str | None = None

    def to_dict(self) -> Row:
        """The event as JSON sends it: ``{"type": …, "dashboard_id": …, "seq": …, …}``."""
        return {"type": self.type, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}}

    def for_link(self, displayed: Collection[str]) -> Event | None:
        """What a published link's reader may see of this event (None: nothing), given the ids of
        the board's displayed blocks."""
        return None


@dataclass(frozen=True, kw_only=True)
class Presence(Event):
    """Who is in the board now (each session's user, kind, open block, since when)."""

    type: ClassVar[str] = "presence"
    sessions: list[Row]


@dataclass(frozen=True, kw_only=True)
class LockChanged(Event):
    """A block's edit lock was taken (`lock`) or released (`released`, with a `reason` when it
    timed out or its session lost access)."""

    type: ClassVar[str] = "lock"
    block_id: str
    lock: Row | None = None
    released: Row | None = None
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class BlockChanged(Event):
    """A block was added, updated, deleted, shown or hidden (`change`)."""

    type: ClassVar[str] = "block_changed"
    block_id: str
    change: str
    block: Row | None = None
    displayed: bool | None = None

    def for_link(self, displayed: Collection[str]) -> Event | None:
        if self.block_id not in displayed and not self.displayed:
            return None
        return dataclasses.replace(self, block=None, actor=None)


@dataclass(frozen=True, kw_only=True)
class LayoutChanged(Event):
    """The board's layout changed; `layout` is the new one."""

    type: ClassVar[str] = "layout_changed"
    layout: Row

    def for_link(self, displayed: Collection[str]) -> Event | None:
        return dataclasses.replace(self, actor=None)


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    """A block started running."""

    type: ClassVar[str] = "run_started"
    block_id: str
    block_name: str
    trigger: str

    def for_link(self, displayed: Collection[str]) -> Event | None:
        return dataclasses.replace(self, actor=None) if self.block_id in displayed else None


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    """A block finished running (or reused an earlier run, or was kept from running by an upstream
    failure: `status` `upstream_error`)."""

    type: ClassVar[str] = "run_finished"
    block_id: str
    block_name: str
    run_id: str | None
    status: str
    reused: bool = False
    row_count: int | None = None
    duration_ms: int | None = None
    error: str | None = None

    def for_link(self, displayed: Collection[str]) -> Event | None:
        if self.block_id not in displayed:
            return None
        return dataclasses.replace(self, actor=None, error=None, run_id=None)


@dataclass(frozen=True, kw_only=True)
class ControlChanged(Event):
    """A control's stored value changed."""

    type: ClassVar[str] = "control_changed"
    block_id: str
    block_name: str
    value: Any

    def for_link(self, displayed: Collection[str]) -> Event | None:
        return dataclasses.replace(self, actor=None) if self.block_id in displayed else None


@dataclass(frozen=True, kw_only=True)
class BoardChanged(Event):
    """A board-wide setting changed (`change`: `visibility`, `grants`, `owner`, `refresh_settings`,
    `title`, `public_options`), with what changed. A published link's page is drawn again after it."""

    type: ClassVar[str] = "board_changed"
    change: str
    visibility: str | None = None
    slug: str | None = None
    user_id: str | None = None
    role: str | None = None
    owner_id: str | None = None

    def for_link(self, displayed: Collection[str]) -> Event | None:
        if self.change != "visibility":
            return None
        return BoardChanged(
            dashboard_id=self.dashboard_id,
            seq=self.seq,
            at=self.at,
            change="visibility",
            visibility=self.visibility,
        )


@dataclass(frozen=True, kw_only=True)
class BoardDeleted(Event):
    """The board was deleted; nothing more will come of it."""

    type: ClassVar[str] = "board_deleted"

    def for_link(self, displayed: Collection[str]) -> Event | None:
        return dataclasses.replace(self, actor=None)


@dataclass(frozen=True, kw_only=True)
class SourceChanged(Event):
    """A source of the catalog was imported, pushed or renamed (`previous`: its old name)."""

    type: ClassVar[str] = "source_changed"
    name: str
    row_count: int | None = None
    previous: str | None = None


@dataclass(frozen=True, kw_only=True)
class MessageAdded(Event):
    """A message was added to a conversation's log."""

    type: ClassVar[str] = "message_added"
    message: Row


@dataclass(frozen=True, kw_only=True)
class AccessLost(Event):
    """This session may no longer see the board (its grant revoked, the board made private or
    transferred away, its token revoked, its user removed). Nothing more of the board follows.
    Never on the bus: each session says it to itself."""

    type: ClassVar[str] = "access_lost"


@dataclass(frozen=True, kw_only=True)
class Connection(Event):
    """The client's link to a server was `lost` or `resumed` (made by the remote backend)."""

    type: ClassVar[str] = "connection"
    state: str


@dataclass(frozen=True, kw_only=True)
class Reload(Event):
    """Too much was missed to catch up event by event: read the board again."""

    type: ClassVar[str] = "reload"


KINDS: dict[str, type[Event]] = {
    kind.type: kind
    for kind in (
        Presence,
        LockChanged,
        BlockChanged,
        LayoutChanged,
        RunStarted,
        RunFinished,
        ControlChanged,
        BoardChanged,
        BoardDeleted,
        SourceChanged,
        MessageAdded,
        AccessLost,
        Connection,
        Reload,
    )
}
ACCESS_EVENTS = (BoardChanged, BoardDeleted)
"""Kinds after which who may see a board must be checked again."""


def event_from_dict(data: Row) -> Event | None:
    """The event a JSON object stands for (None for a message that is no event, or of an unknown
    kind: a newer server's). Unknown fields are dropped."""
    kind = KINDS.get(str(data.get("type")))
    if kind is None or not isinstance(data.get("dashboard_id"), str):
        return None
    names = {f.name for f in dataclasses.fields(kind)}
    try:
        return kind(**{k: v for k, v in data.items() if k in names})
    except TypeError:
        return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Subscriber = Callable[[Event], None]


class EventBus:
    """Per-board sequenced events, fanned out to subscribers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq: dict[str, int] = defaultdict(int)
        self._history: dict[str, deque[Event]] = defaultdict(lambda: deque(maxlen=HISTORY))
        self._subscribers: dict[str | None, list[Subscriber]] = defaultdict(list)
        # Held from stamping an event to delivering it, so a board's subscribers get its events in
        # `seq` order even when parallel blocks publish from several threads at once.
        self._delivery: dict[str, threading.RLock] = defaultdict(threading.RLock)
        self._deferred = threading.local()
        self.access_epoch = 0
        """Bumped before an event that may change who sees a board is delivered (`ACCESS_EVENTS`),
        and by `access_changed`: sessions check their access again when it moved."""

    def access_changed(self) -> None:
        """Something that decides access changed outside any board's events (a token revoked, a
        user removed): every session checks again at its next event."""
        with self._lock:
            self.access_epoch += 1

    def after_delivery(self, work: Callable[[], None]) -> None:
        """Run `work` once the event being delivered on this thread reached every subscriber (a
        subscriber that must publish events of its own, e.g. released locks, does it here, so every
        subscriber still gets the board's events in `seq` order)."""
        pending: list[Callable[[], None]] | None = getattr(self._deferred, "pending", None)
        if pending is None:
            work()
        else:
            pending.append(work)

    def publish(self, event: Event) -> Event:
        """Stamp `event` with its board's next `seq` and deliver it to that board's subscribers."""
        outermost = getattr(self._deferred, "pending", None) is None
        if outermost:
            self._deferred.pending = []
        try:
            return self._publish(event)
        finally:
            if outermost:
                pending, self._deferred.pending = self._deferred.pending, None
                for work in pending:
                    work()

    def _publish(self, event: Event) -> Event:
        board_id = event.dashboard_id
        with self._lock:
            delivery = self._delivery[board_id]
        with delivery:
            with self._lock:
                self._seq[board_id] += 1
                stamped = dataclasses.replace(event, seq=self._seq[board_id], at=event.at or _now())
                self._history[board_id].append(stamped)
                targets = [*self._subscribers.get(board_id, ()), *self._subscribers.get(None, ())]
                if isinstance(stamped, ACCESS_EVENTS):
                    self.access_epoch += 1
            for subscriber in targets:
                subscriber(stamped)
        return stamped

    def last_seq(self, dashboard_id: str) -> int:
        """The newest `seq` published for a board (0 before any)."""
        with self._lock:
            return self._seq.get(dashboard_id, 0)

    def since(self, dashboard_id: str, seq: int) -> list[Event] | None:
        """Events of a board after `seq`, or None when some of them are no longer kept (or `seq`
        is one this bus never published, e.g. seen before a restart: the client must resync)."""
        with self._lock:
            history = list(self._history.get(dashboard_id, ()))
            newest = self._seq.get(dashboard_id, 0)
        if seq > newest:
            return None
        if seq == newest:
            return []
        missed = [event for event in history if event.seq > seq]
        if not missed or missed[0].seq != seq + 1:
            return None
        return missed

    def subscribe(self, dashboard_id: str | None, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` for every event of a board (None: of every board); return an unsubscribe."""
        with self._lock:
            self._subscribers[dashboard_id].append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers.get(dashboard_id, []):
                    self._subscribers[dashboard_id].remove(subscriber)

        return unsubscribe
