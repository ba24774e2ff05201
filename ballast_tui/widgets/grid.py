"""The dashboard grid: the layout's rows of cells, sized by the contract's rules.

A row is as tall as its height in pixels at 20 px a text row; its blocks share
the 12 columns by `cols` (or evenly).
"""

from __future__ import annotations

from typing import Any

from textual.containers import Horizontal, VerticalScroll

from ballast_tui.engine.layout import row_height, row_spans, text_rows
from ballast_tui.widgets.block_cell import BlockCell


class GridRow(Horizontal):
    DEFAULT_CSS = "GridRow { height: auto; }"


class Grid(VerticalScroll):
    """Rows of block cells; rebuilt when the layout changes."""

    DEFAULT_CSS = "Grid { height: 1fr; }"

    cell_type: type[BlockCell] = BlockCell
    """The widget each displayed block gets."""

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
        types = {block_id: block["type"] for block_id, block in blocks.items()}
        rows = []
        for row in layout.get("rows", []):
            present = [b for b in row["blocks"] if b in blocks]
            if not present:
                continue
            cells = []
            for block_id, span in zip(present, row_spans({**row, "blocks": present}), strict=True):
                cell = self.cell_type(dashboard_id, blocks[block_id], load_on_mount=load)
                cell.styles.width = f"{span}fr"
                cells.append(cell)
            grid_row = GridRow(*cells)
            grid_row.styles.height = text_rows(row_height(row, types))
            rows.append(grid_row)
        await self.mount_all(rows)

    def cells(self) -> list[BlockCell]:
        return list(self.query(BlockCell))

    def cell(self, block_id: str) -> BlockCell | None:
        found = self.query(f"#cell-{block_id}")
        return found.first(BlockCell) if found else None
