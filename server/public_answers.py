"""Published boards' JSON answers, encoded once and served from memory.

``POST /api/v1/public/dashboards/{slug}`` answers the same bytes for as long as
nothing they depend on changes, so `Answers` keeps them:

- **bodies**, by answer key (the `public_answer_key` tool: the blocks, their
  current runs, the layout, the title, the last refresh, the viewer's choices,
  the day when a date range is shown, the slug and the password's version).
  Equal keys, equal answers; least recently used dropped first past
  `BODY_BUDGET` bytes.
- **routes**, by (slug, the viewer's choices as sent): the key the answer had
  when last checked, and its board. An open board's route is served with no
  tool call at all while it is *fresh*: no event of its board came since
  (`on_event`, run on the publishing thread, so a change is seen before the
  change is acknowledged to whoever made it) and it was checked less than
  `RECHECK_S` ago (what changes without an event, such as the day a relative
  date range moves with or the time of the last refresh, is seen within that
  time). A protected board's route is never served without its key checked
  again: the password is verified on every request before any body is sent.

An answer is stored only when no event of its board came between the check
of its key and the end of its computation: an answer read while a change
landed is sent to its requester but never served again. Answers computed at
once for one key are computed once (`compute`).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ballast_tui.engine.events import Event, LockChanged, Presence

BODY_BUDGET = 64 * 1024 * 1024
"""Bytes of encoded answers kept (the least recently used dropped first)."""
ROUTES_KEPT = 4096
"""(slug, choices) routes remembered (the least recently used dropped first)."""
RECHECK_S = 1.0
"""How long an open board's route is served without checking its answer key again."""

_HARMLESS = (Presence, LockChanged)
"""Events that change nothing a public answer shows (who is in the board, who edits what)."""


class _Abandoned(Exception):
    """The request making an answer was cancelled; whoever waited for it makes it again."""


@dataclass(frozen=True)
class Route:
    """What a (slug, choices) answered when last checked."""

    board_id: str
    key: str
    stamp: int
    """The change counter when the key was checked."""
    checked: float
    """`time.monotonic()` when the key was checked."""


class Answers:
    """The encoded public answers of one server, and the routes to them."""

    def __init__(self, budget: int = BODY_BUDGET, routes_kept: int = ROUTES_KEPT) -> None:
        self.budget = budget
        self.routes_kept = routes_kept
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._routes: OrderedDict[tuple[str, str], Route] = OrderedDict()
        self._pending: dict[str, tuple[int, asyncio.Future[bytes]]] = {}
        """Answers being made: key -> (the stamp taken before, the future answer)."""
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._stamp = 0
        self._changed: dict[str, int] = {}
        """Board id -> the change counter at its last event."""

    # -- changes (any thread) ---------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """A board changed: no answer of it read before now is served again."""
        if isinstance(event, _HARMLESS):
            return
        with self._lock:
            self._stamp = next(self._counter)
            self._changed[event.dashboard_id] = self._stamp

    def stamp(self) -> int:
        """The change counter now: take it before checking a key."""
        return self._stamp

    def unchanged(self, board_id: str, stamp: int) -> bool:
        """Whether no event of `board_id` came after `stamp` was taken."""
        return self._changed.get(board_id, 0) <= stamp

    # -- the loop ---------------------------------------------------------------------------

    def fresh(self, slug: str, choices: str) -> bytes | None:
        """The answer of an open board's route when it may be served without a check, else None."""
        route = self._routes.get((slug, choices))
        if route is None or not self.unchanged(route.board_id, route.stamp):
            return None
        if time.monotonic() - route.checked > RECHECK_S:
            return None
        body = self._bodies.get(route.key)
        if body is not None:
            self._bodies.move_to_end(route.key)
        return body

    def body(self, key: str) -> bytes | None:
        """The answer stored under `key`, if any."""
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
        return body

    def remember(self, slug: str, choices: str, board_id: str, key: str, stamp: int) -> None:
        """An open board's route answers `key`, as checked after `stamp` was taken."""
        if not self.unchanged(board_id, stamp) or key not in self._bodies:
            return
        self._routes[(slug, choices)] = Route(board_id, key, stamp, time.monotonic())
        self._routes.move_to_end((slug, choices))
        while len(self._routes) > self.routes_kept:
            self._routes.popitem(last=False)

    def forget_route(self, slug: str, choices: str) -> None:
        """Drop a route (its board answered an error: unpublished, protected, …)."""
        self._routes.pop((slug, choices), None)

    async def compute(
        self, board_id: str, key: str, stamp: int, make: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        """The answer for `key`, made by `make()` (once for every request that needs it meanwhile),
        and stored unless its board changed since `stamp`."""
        while (pending := self._pending.get(key)) is not None and self.unchanged(board_id, pending[0]):
            try:
                return await asyncio.shield(pending[1])
            except _Abandoned:
                continue  # its maker was cancelled: make it here
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        if pending is None:
            self._pending[key] = (stamp, future)
        try:
            body = await make()
        except BaseException as error:
            future.set_exception(error if isinstance(error, Exception) else _Abandoned())
            future.exception()  # retrieved: waiters re-raise it, nobody else needs to
            raise
        finally:
            if key in self._pending and self._pending[key][1] is future:
                del self._pending[key]
        future.set_result(body)
        if self.unchanged(board_id, stamp):
            self._store(key, body)
        return body

    def _store(self, key: str, body: bytes) -> None:
        if len(body) > self.budget:
            return
        previous = self._bodies.pop(key, None)
        if previous is not None:
            self._size -= len(previous)
        self._bodies[key] = body
        self._size += len(body)
        while self._size > self.budget:
            _key, dropped = self._bodies.popitem(last=False)
            self._size -= len(dropped)
