"""A board drawn as text, by drawing processes beside this one (the engine never imports Textual).

`draw_board_text` hands one drawing, as one user, to a process running
``python -m ballast_tui.published.text`` over the same workspace, and answers its text. The
processes are kept for the next drawing (starting one, with Textual, costs seconds; a drawing
costs a fraction of that): at most `SLOTS` per workspace, each drawing one board at a time. A
process leaves on its own after `IDLE_EXIT_S` without work, or when this one exits (its stdin
closes); one that takes longer than `DRAW_TIMEOUT_S` over a drawing is killed. More than
`MAX_WAITING` drawings at once are refused with `rate_limited`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
import weakref
from typing import IO, TYPE_CHECKING, Any

from ballast_tui.engine.errors import RateLimited, ToolError

if TYPE_CHECKING:
    from ballast_tui.engine.workspace import Workspace

DRAW_TIMEOUT_S = 90.0
IDLE_EXIT_S = 60.0
SLOTS = 2
MAX_WAITING = 2 * SLOTS
"""Drawings of one workspace drawn or waiting at once: past that a drawing is refused (429), so
drawings never hold more than a few of the threads every other tool runs on."""

log = logging.getLogger("ballast.drawing")


class DrawingFailed(RuntimeError):
    """The drawing process stopped, timed out, or answered nothing readable."""


def _refusal(code: str, message: str) -> ToolError:
    """The `ToolError` of the contract's `code` (a refusal the drawing process met)."""
    classes = {cls.code: cls for cls in ToolError.__subclasses__()}
    return classes.get(code, ToolError)(message)


def _relay(stream: IO[bytes]) -> None:
    """Log each line a drawing process writes to stderr (never our terminal: a TUI may draw there)."""
    for line in iter(stream.readline, b""):
        log.warning("drawing process: %s", line.decode(errors="replace").rstrip())


class _Process:
    """One drawing process: a request per line on its stdin, an answer per line on its stdout."""

    def __init__(self, command: list[str]) -> None:
        self.popen = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert self.popen.stderr is not None
        threading.Thread(target=_relay, args=(self.popen.stderr,), daemon=True).start()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """Its answer to `request`; None when it was gone before answering (it left, idle)."""
        stdin, stdout = self.popen.stdin, self.popen.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write((json.dumps(request) + "\n").encode())
            stdin.flush()
        except (BrokenPipeError, ValueError):
            return None
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise DrawingFailed(f"the drawing took longer than {timeout:.0f} s")
            ready, _, _ = select.select([stdout], [], [], left)
            if not ready:
                continue
            chunk = os.read(stdout.fileno(), 1 << 20)
            if not chunk:
                return None
            line += chunk
        answer: dict[str, Any] = json.loads(line)
        return answer

    def kill(self) -> None:
        if self.alive():
            self.popen.kill()
        self.popen.wait()


class _Pool:
    """The drawing processes of one workspace (and settings)."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.idle: list[_Process] = []
        self.slots = threading.BoundedSemaphore(SLOTS)
        self.lock = threading.Lock()
        self.waiting = 0

    def _take(self) -> _Process:
        with self.lock:
            while self.idle:
                process = self.idle.pop()
                if process.alive():
                    return process
                process.kill()
        return _Process(self.command)

    def draw(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if self.waiting >= MAX_WAITING:
                raise RateLimited(f"{self.waiting} drawings are under way: try again in a few seconds")
            self.waiting += 1
        try:
            return self._draw(request)
        finally:
            with self.lock:
                self.waiting -= 1

    def _draw(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.slots:
            for _attempt in range(2):  # a kept process may have left, idle, just before we asked
                process = self._take()
                answer = process.ask(request, DRAW_TIMEOUT_S)
                if answer is not None:
                    with self.lock:
                        self.idle.append(process)
                    return answer
                process.kill()
        raise DrawingFailed("the drawing process stopped without answering")

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for process in idle:
            if process.popen.stdin is not None:
                process.popen.stdin.close()  # it leaves at the end of its input
            process.popen.wait()


_pools: dict[tuple[str, str], _Pool] = {}
_pools_lock = threading.Lock()


def _pool(ws: Workspace) -> _Pool:
    settings = json.dumps(dataclasses.asdict(ws.settings), sort_keys=True)
    key = (str(ws.paths.root), settings)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            command = [
                sys.executable,
                "-m",
                "ballast_tui.published.text",
                "--workspace",
                key[0],
                "--settings",
                settings,
                "--idle-exit",
                str(IDLE_EXIT_S),
            ]
            pool = _pools[key] = _Pool(command)
            # The workspace gone, its drawing processes go too.
            weakref.finalize(ws, _forget, key)
    return pool


def _forget(key: tuple[str, str]) -> None:
    with _pools_lock:
        pool = _pools.pop(key, None)
    if pool is not None:
        pool.close()


def draw_board_text(
    ws: Workspace,
    user_id: str,
    dashboard_id: str,
    *,
    block_id: str | None,
    width: int,
    height: int | None,
    ansi: bool,
) -> str:
    """The board (or its block `block_id`) drawn as the terminal draws it, `width` columns wide and
    `height` rows tall (None: as tall as it is), read as `user_id`; ANSI colours when `ansi`."""
    request: dict[str, Any] = {
        "user_id": user_id,
        "dashboard_id": dashboard_id,
        "block_id": block_id,
        "width": width,
        "height": height,
        "ansi": ansi,
    }
    answer = _pool(ws).draw(request)
    if not answer.get("ok"):
        if answer.get("error") == "failed":
            raise DrawingFailed(f"the drawing failed ({answer.get('message')})")
        raise _refusal(str(answer.get("error")), str(answer.get("message")))
    return str(answer["text"])
