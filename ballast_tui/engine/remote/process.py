"""One query worker process, as the engine sees it: start, ask, wait with a deadline, interrupt, kill.

The worker (`ballast_tui.engine.remote.worker`) runs under the same Python,
importing this very copy of Ballast, in a session of its own (a Ctrl-C in the
terminal is the engine's to handle). Its stderr goes nowhere: the TUI owns the
terminal, and the worker reports its failures in its answers.

Killing is SIGKILL: it needs nothing from the worker nor from the database it
waits on, so it never blocks. Interrupting writes the call's id to the control
pipe without blocking (the worker reads it on a thread of its own).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa

from ballast_tui.engine.remote import wire

MODULE = "ballast_tui.engine.remote.worker"
ANSWER_PIPE_BYTES = 1 << 20
# The directory holding the `ballast_tui` package: the worker's working directory, and so the first
# entry of its import path (`-m` puts it there): it runs this very copy of Ballast.
_PACKAGE_PARENT = Path(__file__).resolve().parents[3]


class WorkerProcess:
    """A started worker; used by one call at a time, interrupted or killed from any thread."""

    def __init__(self) -> None:
        control_read, control_write = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", MODULE, str(control_read)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                pass_fds=(control_read,),
                cwd=_PACKAGE_PARENT,
                start_new_session=True,
                bufsize=0,
            )
        except BaseException:
            os.close(control_write)
            raise
        finally:
            os.close(control_read)
        os.set_blocking(control_write, False)
        self._control = control_write
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._requests = self._proc.stdin.fileno()
        self._answers = self._proc.stdout.fileno()
        with contextlib.suppress(OSError, AttributeError):  # fewer round trips for a large result
            fcntl.fcntl(self._answers, fcntl.F_SETPIPE_SZ, ANSWER_PIPE_BYTES)
        self.held: str | None = None
        """The connection whose session the worker keeps open, as its last answer said."""
        self._reaped = False

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """How it exited (negative: the signal that ended it), once reaped; None before."""
        return self._proc.returncode

    def send(self, request: dict[str, Any]) -> None:
        """Hand the worker a request; `wire.Gone` when it has exited."""
        wire.send_frame(self._requests, pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))

    def started(self, deadline: float) -> None:
        """Wait for a new worker to say it is ready (its imports take a moment); `wire.Deadline` or
        `wire.Gone` when it does not by `deadline`."""
        if bytes(wire.read_frame(self._answers, deadline)) != wire.READY:
            raise wire.Gone

    def answered(self, deadline: float) -> bool:
        """Whether the worker began to answer (or exited) before `deadline`."""
        return wire.wait_readable(self._answers, deadline)

    def receive(self, deadline: float) -> tuple[dict[str, Any], pa.Table | None]:
        """The answer's JSON and its rows; `wire.Deadline` when not all there by `deadline`, `wire.Gone`
        when the worker exited (or was killed) first."""
        try:
            meta = json.loads(wire.read_frame(self._answers, deadline))
            if not isinstance(meta, dict):
                raise ValueError("not an answer")
            table = None
            if meta.get("arrow"):
                table = wire.table_from_ipc(wire.read_frame(self._answers, deadline))
        except (ValueError, pa.ArrowException):  # garbled: as good as gone (the caller kills it)
            raise wire.Gone from None
        if "held" in meta:
            self.held = meta["held"]
        return meta, table

    def interrupt(self, call: int) -> None:
        """Ask the worker to interrupt call `call`; never blocks (a full or closed pipe drops the request)."""
        with contextlib.suppress(OSError):
            os.write(self._control, wire.CALL.pack(call))

    def kill(self) -> None:
        """SIGKILL, at once (a worker already gone is left alone)."""
        with contextlib.suppress(OSError):
            self._proc.send_signal(signal.SIGKILL)

    def retire(self) -> None:
        """Close the request pipe: an idle worker closes its session and exits by itself."""
        with contextlib.suppress(OSError):
            self._proc.stdin.close()  # type: ignore[union-attr]

    def reap(self, timeout: float = 0.0) -> bool:
        """Whether the worker has exited (waiting up to `timeout` s); its pipes closed once it has."""
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        if not self._reaped:
            self._reaped = True
            for stream in (self._proc.stdin, self._proc.stdout):
                with contextlib.suppress(OSError):
                    stream.close()  # type: ignore[union-attr]
            with contextlib.suppress(OSError):
                os.close(self._control)
        return True
