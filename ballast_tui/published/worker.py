"""The drawing process: `python -m ballast_tui.published.worker --workspace DIR`.

The server runs one beside itself and sends it one request per line on stdin:
``{"id": n, "slug": …, "overrides": {control id: value}, "key": …, "out_dir": …}``.
It reads the board through the published-link tools (`public_board_view`,
`public_block_data`) as the server's own caller (`Context.system`: the request
that asked for the drawing was already let in), draws it twice (`render.draw`:
at `WIDTH` columns, and one block per row at `NARROW_WIDTH` for phones) and
writes ``<key>.svg``, ``<key>.narrow.svg``, ``<key>.png`` and
``<key>.json`` (the description) into `out_dir`, each atomically and
owner-only (0600, in 0700 directories, like every file of a workspace), the
description last (the server takes a drawing as there once it is), then answers
one line on stdout: ``{"id": n, "ok": true}`` or ``{"id": n, "ok": false, "error": …}``.

It opens the workspace read-only in spirit: overrides are computed without
storing anything and it sweeps no files. Anything the drawing prints goes to
stderr: stdout carries the answers alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from ballast_tui.config import Settings
from ballast_tui.engine.context import Context
from ballast_tui.engine.workspace import Workspace
from ballast_tui.published.render import NARROW_WIDTH, draw
from ballast_tui.published.view_app import BoardView, PublishedBackend
from ballast_tui.storage.private import make_dirs, restrict_umask, write_atomic
from ballast_tui.tools.registry import Registry, load_registry

log = logging.getLogger("ballast.published.worker")


async def handle(ws: Workspace, registry: Registry, request: dict[str, Any]) -> None:
    """Draw one request's board into its `out_dir`."""
    ctx = Context.anonymous(ws, client="drawing")
    ctx.system = True
    slug, overrides = str(request["slug"]), dict(request.get("overrides") or {})
    answer = await registry.acall(ctx, "public_board_view", {"slug": slug, "filter_overrides": overrides})
    board = BoardView.from_answer(slug, overrides, answer)
    drawing = await draw(PublishedBackend(registry, ctx, board))
    narrow = await draw(PublishedBackend(registry, ctx, board.stacked()), NARROW_WIDTH, preview=False)
    out_dir = Path(request["out_dir"])
    make_dirs(out_dir)
    key = request["key"]
    write_atomic(out_dir / f"{key}.svg", drawing.svg.encode())
    write_atomic(out_dir / f"{key}.narrow.svg", narrow.svg.encode())
    write_atomic(out_dir / f"{key}.png", drawing.png)
    meta = {"description": drawing.description, "title": board.title}
    write_atomic(out_dir / f"{key}.json", json.dumps(meta).encode())


async def serve(ws: Workspace, requests: TextIO, answers: TextIO) -> None:
    """Answer requests, one at a time, until stdin closes."""
    loop = asyncio.get_running_loop()
    registry = load_registry()
    while True:
        line = await loop.run_in_executor(None, requests.readline)
        if not line:
            return
        request: dict[str, Any] = {}
        try:
            request = json.loads(line)
            await handle(ws, registry, request)
            answer: dict[str, Any] = {"id": request.get("id"), "ok": True}
        except Exception as error:  # one bad drawing must not end the process
            log.exception("drawing failed")
            answer = {"id": request.get("id"), "ok": False, "error": type(error).__name__}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ballast_tui.published.worker")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--settings", default="{}", help="Settings fields as JSON")
    args = parser.parse_args(argv)
    restrict_umask()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # The answers get the real stdout; anything else printed goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    settings = Settings(**json.loads(args.settings))
    with Workspace(Path(args.workspace), settings, sweep_files=False) as ws:
        asyncio.run(serve(ws, sys.stdin, answers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
