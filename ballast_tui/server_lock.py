"""One server per workspace: an exclusive OS lock on `<workspace>/server.lock`, held for a server's life.

`ballast serve` and a `ballast` that serves the workspace itself take the lock
before they bind; a second one finds it taken and does not start. The
operating system releases the lock when its holder exits, however it exits
(a crash, `kill -9`, a dropped SSH session), so a `server.json` is trusted only
while the lock is held (`held`): a stale one left by a dead server is ignored
and replaced, never a reason to fail.

The lock is `flock(2)` on an open file description: checking whether it is held
takes a shared lock for a moment, so a server starting at that very moment
retries for a short while before it concludes another one runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

LOCK_NAME = "server.lock"
ACQUIRE_PATIENCE_S = 1.0


def lock_path(root: Path) -> Path:
    """The lock file of the workspace at `root`."""
    return root / LOCK_NAME


class ServerLock:
    """The workspace's server lock, taken by whoever serves it."""

    def __init__(self, root: Path) -> None:
        self.path = lock_path(root)
        self._fd: int | None = None

    @property
    def owned(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self, patience_s: float = ACQUIRE_PATIENCE_S) -> bool:
        """Take the lock; False when another process holds it (after `patience_s` of retries, which
        outlast any momentary check by a client)."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + patience_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.02)
                continue
            self._fd = fd
            return True

    def release(self) -> None:
        """Let the lock go (the OS does it anyway when the process ends)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def held(root: Path) -> bool:
    """Whether some process (this one included) serves the workspace at `root` now."""
    path = lock_path(root)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
