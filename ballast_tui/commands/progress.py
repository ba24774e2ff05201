"""A progress bar on standard error for imports and exports that take a while.

It is drawn only when standard error is a terminal, and only once the work has
lasted `after_s` seconds (2 by default; ``$BALLAST_PROGRESS_AFTER_S`` changes
it), so quick commands and scripts never see it. With a known total it is a bar
with a percentage; without one (an export, whose size is known only at its
end, or a file being read into the catalog), it shows the bytes so far and the
time. The line is wiped when the work ends, leaving the command's own message.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

DEFAULT_AFTER_S = 2.0
TICK_S = 0.2
BAR_WIDTH = 28


def _after_s() -> float:
    try:
        return max(0.0, float(os.environ.get("BALLAST_PROGRESS_AFTER_S", DEFAULT_AFTER_S)))
    except ValueError:
        return DEFAULT_AFTER_S


def human_bytes(size: float) -> str:
    """A byte count for people: ``812 B``, ``4.2 MB``, ``1.3 GB``."""
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover (the loop always answers)


class TerminalProgress:
    """A one-line progress display on `stream` (standard error), used as a context manager.

    `update(done, total)` may be called from any thread (a file being staged in
    a worker); `measure` gives a function polled for the bytes done instead
    (an export's growing file). `phase` changes the label (``reading …``).
    """

    def __init__(
        self,
        label: str,
        *,
        stream: TextIO | None = None,
        after_s: float | None = None,
        measure: Callable[[], int] | None = None,
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.after_s = _after_s() if after_s is None else after_s
        self.measure = measure
        self.done = 0
        self.total = 0
        self.drawn = False
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._width = 0

    @property
    def active(self) -> bool:
        """Whether anything will ever be drawn: standard error is a terminal."""
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    def update(self, done: int, total: int) -> None:
        """`done` bytes of `total` (0: unknown)."""
        self.done, self.total = done, total

    def phase(self, label: str) -> None:
        """A new step of the work, shown without a total (``reading orders.csv``)."""
        self.label, self.done, self.total = label, 0, 0

    def __enter__(self) -> TerminalProgress:
        self._started = time.monotonic()
        if self.active:
            self._thread = threading.Thread(target=self._tick, name="ballast-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self.drawn:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()

    def _tick(self) -> None:
        # Checked before the first wait: with `after_s` 0 the display is drawn at once, however
        # short the work turns out.
        while True:
            if time.monotonic() - self._started >= self.after_s:
                self.draw()
            if self._stop.wait(TICK_S):
                return

    def line(self) -> str:
        """The text of the display as it stands."""
        elapsed = time.monotonic() - self._started
        done = self.measure() if self.measure is not None else self.done
        if self.total > 0:
            share = min(1.0, done / self.total)
            filled = round(share * BAR_WIDTH)
            bar = "█" * filled + "░" * (BAR_WIDTH - filled)
            sizes = f"{human_bytes(done)} of {human_bytes(self.total)}"
            return f"{self.label} {bar} {share:4.0%}  {sizes}  {elapsed:.0f}s"
        position = int(elapsed / TICK_S) % (BAR_WIDTH - 4)
        bar = "░" * position + "███" + "░" * (BAR_WIDTH - 3 - position)
        so_far = f"{human_bytes(done)}  " if done else ""
        return f"{self.label} {bar}  {so_far}{elapsed:.0f}s"

    def draw(self) -> None:
        """Draw the display now (the ticker does, once `after_s` has passed)."""
        text = self.line()
        with self._lock:
            if self._stop.is_set() and not self.drawn:
                return
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self.stream.flush()
            self._width = max(self._width, len(text))
            self.drawn = True
