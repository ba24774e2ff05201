"""`ballast show`: a board, or one block, drawn as the terminal draws it, printed, for scripts, CI
logs and agents in a shell.

It calls the `dashboard_render` tool (through the workspace's server when one runs, else on the
files here), so what it prints is what an agent over MCP reads: ANSI colours when standard output
is a terminal, plain text otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import Any

from ballast_tui.commands import call, fail
from ballast_tui.engine.text_drawing import DrawingFailed
from ballast_tui.tools.render import DEFAULT_WIDTH, MAX_HEIGHT, MAX_WIDTH, MIN_HEIGHT, MIN_WIDTH


def _bounded(text: str | None, option: str, low: int, high: int) -> int | None:
    """`text` as a whole number in low..high (None when not given); ValueError saying what is wrong."""
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{option} must be a whole number from {low} to {high}, not {text!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{option} must be from {low} to {high}, not {value}")
    return value


def default_width(tty: bool) -> int:
    """The terminal's width on a terminal (within the tool's bounds), else the published page's."""
    if not tty:
        return DEFAULT_WIDTH
    return max(MIN_WIDTH, min(MAX_WIDTH, shutil.get_terminal_size((DEFAULT_WIDTH, 40)).columns))


def run_show(args: argparse.Namespace) -> int:
    """`ballast show DASHBOARD_ID [--block NAME] [--width N] [--height N]`."""
    try:
        width = _bounded(args.width, "--width", MIN_WIDTH, MAX_WIDTH)
        height = _bounded(args.height, "--height", MIN_HEIGHT, MAX_HEIGHT)
    except ValueError as error:
        return fail(str(error))
    tty = sys.stdout.isatty()
    arguments: dict[str, Any] = {
        "dashboard_id": args.dashboard_id,
        "width": width or default_width(tty),
        "ansi": tty,
    }
    if args.block is not None:
        arguments["block_id"] = args.block
    if height is not None:
        arguments["height"] = height
    try:
        answer = call(args, "dashboard_render", **arguments)
    except DrawingFailed as error:
        return fail(str(error))
    text = str(answer["text"])
    if not text.strip():
        return fail(f"{args.dashboard_id} shows no blocks yet: draw a hidden one with --block NAME", code=0)
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0
