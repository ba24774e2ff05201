"""The dashboard grid: the layout's rows of cells, sized by the contract's rules.

A row is as tall as its height in pixels at 20 px a text row; its blocks share
the 12 columns by `cols` (or evenly).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from textual.containers import Horizontal, VerticalScroll

from ballast_tui.engine.layout import row_height, row_spans, text_rows
from ballast_tui.widgets.block_cell import BlockCell

SCROLLBAR = 2
"""Columns a vertical scrollbar takes."""
CELL_FRAME = 4
"""Columns a cell's border and padding take from its view."""
CELL_FRAME_ROWS = 2
"""Rows its border takes."""


class PlannedBlock(NamedTuple):
    """A block's place in a planned row, and the size its view is expected to get."""

    block_id: str
    span: int
    width: int
    height: int


class PlannedRow(NamedTuple):
    height: int
    blocks: list[PlannedBlock]


class GridRow(Horizontal):
    DEFAULT_CSS = "GridRow { height: auto; }"


class Grid(VerticalScroll):
    """Rows of block cells; rebuilt when the layout changes."""

    # The scrollbar's room is kept even when the rows fit: the cells' widths do not change when it
    # appears (a second layout, every chart drawn again), and match the widths `plan` expects.
    DEFAULT_CSS = "Grid { height: 1fr; scrollbar-gutter: stable; }"

    cell_type: type[BlockCell] = BlockCell
    """The widget each displayed block gets."""

    def plan(self, layout: dict[str, Any], blocks: dict[str, dict[str, Any]]) -> list[PlannedRow]:
        """The rows `build` makes of `layout`: each row's text height and its blocks' spans, with the
        size each block's view is expected to get once laid out (for requests made before that)."""
        types = {block_id: block["type"] for block_id, block in blocks.items()}
        # Room for the rows: the screen's width less a scrollbar (a grid that scrolls has one).
        width = max(1, (self.size.width or self.app.size.width) - SCROLLBAR)
        rows = []
        for row in layout.get("rows", []):
            present = [b for b in row["blocks"] if b in blocks]
            if not present:
                continue
            spans = row_spans({**row, "blocks": present})
            height = text_rows(row_height(row, types))
            planned = [
                PlannedBlock(
                    block_id,
                    span,
                    max(1, width * span // max(1, sum(spans)) - CELL_FRAME),
                    max(1, height - CELL_FRAME_ROWS),
                )
                for block_id, span in zip(present, spans, strict=True)
            ]
            rows.append(PlannedRow(height, planned))
        return rows

    async def build(
        self,
        dashboard_id: str,
        layout: dict[str, Any],
        blocks: dict[str, dict[str, Any]],
        *,
        load: bool = True,
    ) -> None:
        """Replace the cells with the layout's (each loading its data once laid out, unless `load` is
        False: then the caller fetches them)."""
        await self.remove_children()
        rows = []
        for planned_row in self.plan(layout, blocks):
            cells = []
            for planned in planned_row.blocks:
                cell = self.cell_type(
                    dashboard_id,
                    blocks[planned.block_id],
                    load_on_mount=load,
                    size_hint=(planned.width, planned.height),
                )
                cell.styles.width = f"{planned.span}fr"
                cells.append(cell)
            grid_row = GridRow(*cells)
            grid_row.styles.height = planned_row.height
            rows.append(grid_row)
        await self.mount_all(rows)

    def cells(self) -> list[BlockCell]:
        return list(self.query(BlockCell))

    def cell(self, block_id: str) -> BlockCell | None:
        found = self.query(f"#cell-{block_id}")
        return found.first(BlockCell) if found else None
