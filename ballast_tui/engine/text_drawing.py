"""A board drawn as text, by a drawing process beside this one (the engine never imports Textual).

`draw_board_text` runs ``python -m ballast_tui.published.text`` for one drawing, as one user, and
answers its text. At most `SLOTS` drawings run at once per process (each is a headless Textual
app); one that takes longer than `DRAW_TIMEOUT_S` is killed.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any

from ballast_tui.engine.errors import ToolError

if TYPE_CHECKING:
    from ballast_tui.engine.workspace import Workspace

DRAW_TIMEOUT_S = 90.0
SLOTS = 2
_slots = threading.BoundedSemaphore(SLOTS)


class DrawingFailed(RuntimeError):
    """The drawing process stopped, timed out, or answered nothing readable."""


def _refusal(code: str, message: str) -> ToolError:
    """The `ToolError` of the contract's `code` (a refusal the drawing process met)."""
    classes = {cls.code: cls for cls in ToolError.__subclasses__()}
    return classes.get(code, ToolError)(message)


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
    command = [
        sys.executable,
        "-m",
        "ballast_tui.published.text",
        "--workspace",
        str(ws.paths.root),
        "--settings",
        json.dumps(dataclasses.asdict(ws.settings)),
    ]
    with _slots:
        try:
            done = subprocess.run(
                command,
                input=json.dumps(request),
                capture_output=True,
                text=True,
                timeout=DRAW_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DrawingFailed(f"the drawing took longer than {DRAW_TIMEOUT_S:.0f} s") from None
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        last = done.stderr.strip().splitlines()[-1:] or ["no answer"]
        raise DrawingFailed(f"the drawing process failed ({last[0]})") from None
    if not answer.get("ok"):
        raise _refusal(str(answer.get("error")), str(answer.get("message")))
    return str(answer["text"])
