"""A board drawn as text for one of its members: the drawing process of the `dashboard_render` tool.

``python -m ballast_tui.published.text --workspace DIR --settings JSON [--idle-exit S]`` reads
requests on stdin, one per line, ``{"user_id", "dashboard_id", "block_id"?, "width", "height"?,
"ansi"}``, and answers each with one JSON line on stdout: ``{"ok": true, "text": …}``, or
``{"ok": false, "error": CODE, "message": …}`` for a tool's refusal (``"failed"`` for a drawing
that broke). It leaves at the end of its input, or after `--idle-exit` seconds without a request.

It draws with the published page's own drawing (`render.draw_text`: the TUI's grid, cells and
views in a headless app), so `ballast show`, an agent's `dashboard_render` and a published page
show a board the same way. Unlike a published link, it reads as the member who asked: the board
through `dashboard_get`, each cell's data through `dashboard_block_data` (the member's role checked
again by the registry), so a private board and a hidden block can be drawn too.

The server and the tools never import Textual: they run this process and read its answer.
Anything the drawing prints goes to stderr: stdout carries the answer alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import select
import sys
from pathlib import Path
from typing import Any

from ballast_tui.config import Settings
from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import Forbidden, ToolError
from ballast_tui.engine.layout import TERMINAL_ROW_PX
from ballast_tui.engine.workspace import Workspace
from ballast_tui.published.board import layout_order
from ballast_tui.published.render import draw_text
from ballast_tui.published.view_app import BoardView, PublishedBackend
from ballast_tui.storage.private import restrict_umask
from ballast_tui.tools.registry import Registry, load_registry

Row = dict[str, Any]
log = logging.getLogger("ballast.published.text")


class MemberBackend(PublishedBackend):
    """A read-only backend over one board for one of its members: `dashboard_block_data` as that
    member, and nothing else."""

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        if tool != "dashboard_block_data":
            raise Forbidden(f"a drawing cannot call {tool}")
        request = {**arguments, "dashboard_id": self.board.board_id}
        return await self.registry.acall(self.ctx, tool, request)


def member_view(dashboard: Row, block_id: str | None, height: int | None) -> BoardView:
    """What to draw of a `dashboard_get` answer: its displayed blocks in their layout, or the one
    block `block_id` (displayed or not) alone on a row `height` text rows tall."""
    blocks: list[Row] = dashboard["blocks"]
    if block_id is not None:
        block = next(b for b in blocks if b["id"] == block_id)
        row: Row = {"blocks": [block_id]}
        if height is not None:
            row["height"] = height * TERMINAL_ROW_PX
        return BoardView("", {}, dashboard["id"], dashboard["title"], {"rows": [row]}, [block])
    displayed = {b["id"]: b for b in blocks if b["displayed"]}
    layout, order = layout_order(dashboard["layout"], displayed)
    return BoardView("", {}, dashboard["id"], dashboard["title"], layout, [displayed[i] for i in order])


async def render(ws: Workspace, registry: Registry, request: Row) -> str:
    """The text of one request's drawing, read as its user."""
    ctx = Context(ws, ws.users.get(str(request["user_id"])), client="render")
    answer = await registry.acall(ctx, "dashboard_get", {"dashboard_id": request["dashboard_id"]})
    height = request.get("height")
    view = member_view(answer["dashboard"], request.get("block_id"), height)
    if not view.blocks:
        return ""
    backend = MemberBackend(registry, ctx, view)
    return await draw_text(backend, int(request["width"]), height, ansi=bool(request.get("ansi")))


def answer_one(ws: Workspace, registry: Registry, line: str) -> Row:
    """The answer to one request line."""
    try:
        return {"ok": True, "text": asyncio.run(render(ws, registry, json.loads(line)))}
    except ToolError as error:
        return {"ok": False, "error": error.code, "message": error.message}
    except Exception as error:  # one bad drawing must not end the process
        log.exception("drawing failed")
        return {"ok": False, "error": "failed", "message": type(error).__name__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ballast_tui.published.text")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--settings", default="{}", help="Settings fields as JSON")
    parser.add_argument("--idle-exit", type=float, default=60.0, help="seconds without a request")
    args = parser.parse_args(argv)
    restrict_umask()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # The answers get the real stdout; anything else printed goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    settings = Settings(**json.loads(args.settings))
    registry = load_registry()
    with Workspace(Path(args.workspace), settings, sweep_files=False) as ws:
        while select.select([sys.stdin], [], [], args.idle_exit)[0]:
            line = sys.stdin.readline()
            if not line:
                break
            out.write(json.dumps(answer_one(ws, registry, line)) + "\n")
            out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
