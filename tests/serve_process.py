"""A real `ballast serve` process on a workspace, for tests of commands that go through a server."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def serving(root: Path, timeout_s: float = 60) -> Iterator[subprocess.Popen[str]]:
    """`ballast serve --port 0` on `root`, up (its `server.json` written) until the block ends."""
    # Its log goes to a file, not a pipe nobody reads (a full pipe would stop the server).
    with tempfile.TemporaryFile(mode="w+") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "ballast_tui.cli", "--workspace", str(root), "serve", "--port", "0"],
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
        try:
            deadline = time.monotonic() + timeout_s
            while not (root / "server.json").exists():
                if server.poll() is not None:
                    log.seek(0)
                    raise AssertionError(f"the server stopped: {log.read()}")
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
            yield server
        finally:
            server.terminate()
            server.wait(timeout=20)
