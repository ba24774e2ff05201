"""The published board as a headless Textual app: the dashboard's own grid, cells and views.

`PublishedApp` mounts the same `Grid`, `BlockCell` and views the TUI uses, at
a fixed width, fed by `PublishedBackend`, which answers `dashboard_block_data`
through the `public_block_data` tool (what a public viewer sees, overrides
applied) and refuses everything else. What the author sees in the terminal is what a
viewer of the link sees, without the author's chrome (header, footer,
presence, focus) and without ages that would go stale in a cached page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult

from ballast_tui.backend import SessionInfo
from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import Forbidden, ToolError
from ballast_tui.engine.events import Event
from ballast_tui.engine.layout import row_height, text_rows
from ballast_tui.published.board import one_per_row
from ballast_tui.tools.registry import Registry
from ballast_tui.widgets.block_cell import BlockCell
from ballast_tui.widgets.grid import Grid


@dataclass(frozen=True)
class BoardView:
    """A published board as the `public_board_view` tool answers it: title, layout, displayed blocks."""

    slug: str
    filter_overrides: dict[str, Any]
    board_id: str
    title: str
    layout: dict[str, Any]
    blocks: list[dict[str, Any]]

    @classmethod
    def from_answer(cls, slug: str, filter_overrides: dict[str, Any], answer: dict[str, Any]) -> BoardView:
        board = answer["board"]
        return cls(slug, filter_overrides, board["id"], board["title"], board["layout"], answer["blocks"])

    def stacked(self) -> BoardView:
        """The same board for a narrow screen: one block per row."""
        return replace(self, layout=one_per_row(self.layout))


class PublishedBackend:
    """A read-only backend over one published board: `dashboard_block_data` answered by the
    `public_block_data` tool, as the link's reader, and nothing else."""

    def __init__(self, registry: Registry, ctx: Context, view: BoardView) -> None:
        self.registry = registry
        self.ctx = ctx
        self.board = view
        self.session = SessionInfo("published", "public", "public viewer", "human", "published link")

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        if tool != "dashboard_block_data":
            raise Forbidden(f"a published link cannot call {tool}")
        request: dict[str, Any] = {
            "slug": self.board.slug,
            "filter_overrides": self.board.filter_overrides,
            **{k: arguments[k] for k in ("block_id", "limit", "offset", "max_points") if k in arguments},
        }
        return await self.registry.acall(self.ctx, "public_block_data", request)

    async def events(self, dashboard_id: str) -> AsyncIterator[Event]:
        """A drawing follows nothing."""
        return
        yield  # pragma: no cover  (makes this an async generator)

    async def follow(self, dashboard_id: str | None) -> None:
        return None

    def heartbeat(self) -> None:
        return None

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
    DEFAULT_CSS = "PublishedGrid { height: auto; scrollbar-size-vertical: 0; scrollbar-gutter: auto; }"


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
        blocks = {b["id"]: b for b in board.blocks}
        await self.query_one(PublishedGrid).build(board.board_id, board.layout, blocks)

    def show_error(self, error: Exception) -> None:
        """A refused call during drawing: the cell stays empty; nothing to tell a viewer here."""
        if not isinstance(error, ToolError):
            raise error


def board_height(board: BoardView) -> int:
    """Text rows the whole grid takes at the layout's row heights (at least one)."""
    types = {b["id"]: str(b["type"]) for b in board.blocks}
    return max(1, sum(text_rows(row_height(row, types)) for row in board.layout.get("rows", [])))
