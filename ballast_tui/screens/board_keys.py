"""The keys of a board that open another screen about it, or move and resize its blocks.

Mixed into `DashboardScreen`, which holds the board these act on.
"""

from __future__ import annotations

from typing import Any, cast

from textual.screen import Screen

from ballast_tui.engine import layout_edit as layout_ops
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.block_cell import BlockCell


class BoardKeys(UsesBackend):
    """The board's actions that need only its id, its layout and the focused block."""

    dashboard_id: str
    dashboard: dict[str, Any]
    blocks: dict[str, dict[str, Any]]

    @property
    def screen_self(self) -> Screen[None]:
        """This object as the screen it is mixed into."""
        assert isinstance(self, Screen), "BoardKeys is for screens"
        return cast("Screen[None]", self)

    def focused_block(self) -> dict[str, Any] | None:
        """The block whose cell holds the focus, if any."""
        node = self.screen_self.focused
        while node is not None and not isinstance(node, BlockCell):
            node = node.parent  # type: ignore[assignment]
        return self.blocks.get(node.block["id"]) if isinstance(node, BlockCell) else None

    def _need_block(self) -> dict[str, Any] | None:
        block = self.focused_block()
        if block is None:
            self.screen_self.notify("Move to a block first (tab), or open the block list with g.")
        return block

    def action_edit_block(self) -> None:
        from ballast_tui.screens.editor import BlockEditorScreen

        block = self._need_block()
        if block is not None:
            self.screen_self.app.push_screen(BlockEditorScreen(self.dashboard_id, block))

    def action_add_block(self) -> None:
        from ballast_tui.screens.new_block import NewBlockScreen

        self.screen_self.app.push_screen(NewBlockScreen(self.dashboard_id))

    def action_graph(self) -> None:
        from ballast_tui.screens.graph import GraphScreen

        self.screen_self.app.push_screen(GraphScreen(self.dashboard_id))

    def action_history(self) -> None:
        from ballast_tui.screens.history import HistoryScreen

        block = self._need_block()
        if block is not None:
            self.screen_self.app.push_screen(HistoryScreen(self.dashboard_id, block))

    def action_catalog(self) -> None:
        from ballast_tui.screens.catalog import CatalogScreen

        self.screen_self.app.push_screen(CatalogScreen(self.dashboard_id))

    def action_share(self) -> None:
        from ballast_tui.screens.share import ShareScreen

        self.screen_self.app.push_screen(ShareScreen(self.dashboard_id))

    def action_refresh_settings(self) -> None:
        from ballast_tui.screens.refresh_settings import RefreshSettingsScreen

        self.screen_self.app.push_screen(RefreshSettingsScreen(self.dashboard_id))

    def action_versions(self) -> None:
        from ballast_tui.screens.versions import VersionsScreen

        self.screen_self.app.push_screen(
            VersionsScreen(self.dashboard_id, str(self.dashboard.get("title", "")))
        )

    def action_audit(self) -> None:
        from ballast_tui.screens.audit import AuditScreen

        self.screen_self.app.push_screen(AuditScreen(self.dashboard_id))

    def action_export(self) -> None:
        from ballast_tui.screens.export import ExportScreen

        self.screen_self.app.push_screen(ExportScreen(self.dashboard_id, self.focused_block()))

    async def action_move_block(self, direction: str) -> None:
        block = self._need_block()
        if block is not None:
            target = layout_ops.move_target(self.dashboard["layout"], block["id"], direction)
            if target is not None:
                await self.call(
                    "dashboard_move_block", dashboard_id=self.dashboard_id, block_id=block["id"], **target
                )

    async def action_resize_row(self, delta_px: int) -> None:
        block = self._need_block()
        if block is not None:
            types = {b["id"]: b["type"] for b in self.blocks.values()}
            height = layout_ops.height_target(self.dashboard["layout"], block["id"], delta_px, types)
            if height is not None:
                await self._resize(block["id"], height=height)

    async def action_resize_width(self, delta_cols: int) -> None:
        block = self._need_block()
        if block is not None:
            cols = layout_ops.width_target(self.dashboard["layout"], block["id"], delta_cols)
            if cols is not None:
                await self._resize(block["id"], cols=cols)

    async def _resize(self, block_id: str, **size: int) -> None:
        await self.call("dashboard_resize_block", dashboard_id=self.dashboard_id, block_id=block_id, **size)
