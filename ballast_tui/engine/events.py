"""The in-process event bus: every change a tool makes is published here.

Each board has its own monotonically increasing `seq`. Subscribers are plain
callables run on the publishing thread; an asyncio consumer wraps itself with
`subscribe_async`, which hands events to its loop thread-safely. The bus keeps
the last events of each board so a reconnecting client can catch up.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

Event = dict[str, Any]
Subscriber = Callable[[Event], None]
HISTORY = 1000


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

    def publish(self, dashboard_id: str, event_type: str, **payload: Any) -> Event:
        """Stamp an event with the board's next `seq` and deliver it to that board's subscribers."""
        with self._lock:
            delivery = self._delivery[dashboard_id]
        with delivery:
            with self._lock:
                self._seq[dashboard_id] += 1
                event = {
                    "type": event_type,
                    "dashboard_id": dashboard_id,
                    "seq": self._seq[dashboard_id],
                    "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    **payload,
                }
                self._history[dashboard_id].append(event)
                targets = [*self._subscribers.get(dashboard_id, ()), *self._subscribers.get(None, ())]
            for subscriber in targets:
                subscriber(event)
        return event

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
        missed = [event for event in history if event["seq"] > seq]
        if not missed or missed[0]["seq"] != seq + 1:
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

    async def stream(self, dashboard_id: str | None) -> AsyncIterator[Event]:
        """The events of a board as an async iterator on the running loop."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue()

        def deliver(event: Event) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, event)

        unsubscribe = self.subscribe(dashboard_id, deliver)
        try:
            while True:
                yield await queue.get()
        finally:
            unsubscribe()
