"""Viewers' choices on published links, kept from crowding out everything else.

A choice (`?region=EU` on the page, `filter_overrides` in the JSON answer) that
was not asked for lately is a *new* choice: it costs a computation (a cascade
that stores nothing) and, for the page, a drawing. New choices are

- computed a few at a time per board (`AT_ONCE_PER_BOARD`), on a drawing
  process of their own, so the page of the stored values (served from memory,
  drawn by the other process) is never delayed by them;
- limited per client: more than `NEW_PER_MINUTE` a minute from one address
  answer 429 `rate_limited` with `Retry-After`.

Asking again for a choice answered lately is not new: it is served from the
caches (the page cache, the engine's computation cache) and counts for nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from ballast_server.auth import client_address
from ballast_server.ratelimit import AttemptLimiter
from ballast_tui.engine.errors import RateLimited

T = TypeVar("T")

AT_ONCE_PER_BOARD = 2
NEW_PER_MINUTE = 30
REMEMBERED = 4096
"""Choices remembered as answered lately (the oldest forgotten first)."""
BOARDS_KEPT = 1024


class Choices:
    """New choices: limited per client, computed a few at a time per board."""

    def __init__(self) -> None:
        self.limiter = AttemptLimiter(NEW_PER_MINUTE)
        self._answered: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._gates: OrderedDict[str, asyncio.Semaphore] = OrderedDict()

    def _gate(self, board: str) -> asyncio.Semaphore:
        gate = self._gates.get(board)
        if gate is None:
            gate = self._gates[board] = asyncio.Semaphore(AT_ONCE_PER_BOARD)
            while len(self._gates) > BOARDS_KEPT:
                oldest, held = next(iter(self._gates.items()))
                if held.locked():
                    break
                del self._gates[oldest]
        self._gates.move_to_end(board)
        return gate

    async def answer(
        self, request: web.Request, board: str, choice: Any, compute: Callable[[], Awaitable[T]]
    ) -> T:
        """`compute()` for a viewer's `choice` on `board`: at once when it was answered lately, else
        as a new choice (429 past the client's limit; a few at a time per board)."""
        key = (board, json.dumps(choice, sort_keys=True, default=str))
        if key in self._answered:
            self._answered.move_to_end(key)
            return await compute()
        client = client_address(request)
        wait = self.limiter.acquire(client)
        if wait is not None:
            raise RateLimited(
                f"too many new choices from this address; try again in {wait} s", retry_after=wait
            )
        try:
            async with self._gate(board):
                result = await compute()
        finally:
            self.limiter.release(client, failed=True)  # every new choice counts, answered or not
        self._answered[key] = None
        while len(self._answered) > REMEMBERED:
            self._answered.popitem(last=False)
        return result


CHOICES = web.AppKey("public_choices", Choices)


def setup_choices(app: web.Application) -> None:
    """Give the app its keeper of viewers' choices."""
    app[CHOICES] = Choices()
