"""Counting failed attempts per key in a sliding window: the published links' password limit.

`AttemptLimiter` remembers when each key (one client and one slug) failed, and
refuses further attempts once `limit` failures fall inside the last `window_s`
seconds, with the number of seconds until one of them leaves the window (what
a `Retry-After` header says). An attempt is reserved with `acquire` and ended
with `release(key, failed)`; only failures are recorded. A refused attempt is
not checked at all, so it neither counts nor extends the wait, and a
successful attempt leaves the count as it is. Memory stays bounded: expired
keys are swept, and past `max_keys` the oldest keys are forgotten first.

Used from the event loop, but guarded by a lock so a worker thread may use it too.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable

PASSWORD_ATTEMPTS = 10
"""More wrong passwords than this within the window answer 429."""

WINDOW_S = 60.0
MAX_KEYS = 100_000


class AttemptLimiter:
    """Failures per key within a sliding window."""

    def __init__(
        self,
        limit: int = PASSWORD_ATTEMPTS,
        window_s: float = WINDOW_S,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        if limit < 1 or window_s <= 0 or max_keys < 1:
            raise ValueError("limit, window and max_keys must be positive")
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[Hashable, deque[float]] = OrderedDict()
        self._in_flight: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def _recent(self, key: Hashable, now: float) -> deque[float] | None:
        """The key's failures still inside the window (expired ones dropped), or None."""
        times = self._failures.get(key)
        if times is None:
            return None
        horizon = now - self.window_s
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def acquire(self, key: Hashable) -> int | None:
        """Reserve one attempt for `key`: None when it may go ahead (then call `release`),
        else the seconds to wait.

        Attempts in flight count as failures until released, so a burst of
        concurrent attempts cannot slip past the limit before any is recorded.
        """
        with self._lock:
            now = self._clock()
            times = self._recent(key, now)
            failures = len(times) if times is not None else 0
            if failures + self._in_flight.get(key, 0) >= self.limit:
                if times is None or failures < self.limit:
                    return 1  # only attempts still running fill the count: they end soon
                # Allowed again once the count falls below the limit: when the limit-th newest leaves.
                return max(1, math.ceil(times[-self.limit] + self.window_s - now))
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            return None

    def release(self, key: Hashable, failed: bool) -> None:
        """End an attempt `acquire` allowed; a failed one is recorded now."""
        with self._lock:
            left = self._in_flight.get(key, 0) - 1
            if left > 0:
                self._in_flight[key] = left
            else:
                self._in_flight.pop(key, None)
            if failed:
                self._record(key, self._clock())

    def _record(self, key: Hashable, now: float) -> None:
        times = self._recent(key, now)
        if times is None:
            times = self._failures[key] = deque(maxlen=self.limit)
        else:
            self._failures.move_to_end(key)
        times.append(now)
        if len(self._failures) > self.max_keys:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def __len__(self) -> int:
        """How many keys have failures remembered (expired ones included until swept)."""
        return len(self._failures)
