"""The published board as a headless Textual app: the dashboard's own grid, cells and views.

`PublishedApp` mounts the same `Grid`, `BlockCell` and views the TUI uses, at
a fixed width, fed by `PublishedBackend`, which answers `dashboard_block_data`
from a `PublishedBoard` (the outputs a public viewer sees, overrides applied)
and refuses everything else. What the author sees in the terminal is what a
viewer of the link sees, without the author's chrome (header, footer,
presence, focus) and without ages that would go stale in a cached page.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult

from ballast_tui.backend import SessionInfo
from ballast_tui.engine import data
from ballast_tui.engine.errors import Forbidden, NotFound, ToolError
from ballast_tui.engine.events import Event
from ballast_tui.engine.layout import row_height, text_rows
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.published import PublishedBlock, PublishedBoard
from ballast_tui.widgets.block_cell import BlockCell
from ballast_tui.widgets.grid import Grid

FAILED = "this block could not be computed"
"""What a viewer reads for a failed block: never the error, which may quote SQL or name hidden blocks."""


class PublishedBackend:
    """A read-only backend over one `PublishedBoard`: block data, and nothing else."""

    def __init__(self, ws: Workspace, board: PublishedBoard) -> None:
        self.ws = ws
        self.board = board
        self.blocks: dict[str, PublishedBlock] = {b.block["id"]: b for b in board.blocks}
        self.session = SessionInfo("published", "public", "public viewer", "human", "published link")

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        if tool != "dashboard_block_data":
            raise Forbidden(f"a published link cannot call {tool}")
        shown = self.blocks.get(str(arguments.get("block_id")))
        if shown is None:
            raise NotFound("no such block on this published dashboard")
        return await asyncio.to_thread(self._block_data, shown, arguments)

    def _block_data(self, shown: PublishedBlock, arguments: dict[str, Any]) -> dict[str, Any]:
        answer = data.output_data(
            self.ws,
            self.board.board_id,
            shown.block,
            shown.output,
            int(arguments.get("limit", 100)),
            int(arguments.get("offset", 0)),
            arguments.get("max_points"),
        )
        failed = shown.status in ("error", "upstream_error")
        return {
            "block_id": shown.block["id"],
            "run_id": None,
            "finished_at": None,
            "status": shown.status,
            "error": FAILED if failed else None,
            **answer,
        }

    async def events(self, dashboard_id: str) -> AsyncIterator[Event]:
        """A drawing follows nothing."""
        return
        yield  # pragma: no cover  (makes this an async generator)

    async def export(self, dashboard_id: str, block_id: str, fmt: str, target: Path) -> int:
        raise Forbidden("a published link exports nothing")

    async def close(self) -> None:
        return None


class PublishedCell(BlockCell, can_focus=False):
    """A cell without the author's ages and locks: `success` says nothing, other states say what
    they are."""

    def status_text(self) -> str:
        if self.state == "success":
            return ""
        if self.state in ("error", "upstream_error"):
            return "error"
        return self.state.replace("_", " ")


class PublishedGrid(Grid):
    cell_type = PublishedCell
    DEFAULT_CSS = "PublishedGrid { height: auto; scrollbar-size-vertical: 0; }"


class PublishedApp(App[None]):
    """The board's grid, alone on the screen."""

    CSS = """
    Screen { overflow: hidden; }
    DataTable > .datatable--cursor { background: transparent; color: $foreground; text-style: none; }
    """

    def __init__(self, backend: PublishedBackend) -> None:
        super().__init__()
        self.backend = backend

    def compose(self) -> ComposeResult:
        yield PublishedGrid()

    async def on_mount(self) -> None:
        board = self.backend.board
        blocks = {b.block["id"]: b.block for b in board.blocks}
        await self.query_one(PublishedGrid).build(board.board_id, board.layout, blocks)

    def show_error(self, error: Exception) -> None:
        """A refused call during drawing: the cell stays empty; nothing to tell a viewer here."""
        if not isinstance(error, ToolError):
            raise error


def board_height(board: PublishedBoard) -> int:
    """Text rows the whole grid takes at the layout's row heights (at least one)."""
    types = {b.block["id"]: str(b.block["type"]) for b in board.blocks}
    return max(1, sum(text_rows(row_height(row, types)) for row in board.layout.get("rows", [])))
