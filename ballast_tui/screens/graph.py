"""Every block of a board, displayed or internal, and how they feed each other.

The blocks are listed as a tree: each block sits under the upstream block it
depends on most deeply (so indentation is its topological depth), and the
columns say what it reads and what reads it. A pane shows the selected block's
lineage and config (the SQL of a SQL block).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.markdown import Markdown
from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Header, Static

from ballast_tui.engine.events import (
    AccessLost,
    BlockChanged,
    BoardChanged,
    BoardDeleted,
    ControlChanged,
    LayoutChanged,
    RunFinished,
)
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.footer import Footer

Block = dict[str, Any]

STATE_STYLES = {
    "success": "green",
    "error": "bold red",
    "upstream_error": "red",
    "pending": "yellow",
    "running": "yellow",
}
LIST_WIDTH = 28  # characters of names in a table cell before "+N"
COLUMNS = ("Block", "Type", "Shown", "State", "Reads", "Read by")
REFRESH_EVENTS = (BlockChanged, LayoutChanged, RunFinished, BoardChanged, ControlChanged)


def tree_order(blocks: Sequence[Block]) -> list[tuple[Block, str, int]]:
    """The blocks in tree order, each with its tree prefix ("│ ├ ") and topological depth.

    A block's depth is the length of the longest chain of blocks above it. It is
    drawn under its deepest upstream block (the later one in board order on a
    tie), so every block appears exactly once and indentation equals depth.
    Children and roots keep board order.
    """
    by_id = {b["id"]: b for b in blocks}
    position = {b["id"]: i for i, b in enumerate(blocks)}
    ups = {b["id"]: [u for u in b.get("upstream", []) if u in by_id] for b in blocks}
    depth: dict[str, int] = {}

    def depth_of(block_id: str, seen: frozenset[str] = frozenset()) -> int:
        if block_id not in depth:
            if block_id in seen:  # a cycle: the engine refuses them, but never loop
                return 0
            inner = seen | {block_id}
            depth[block_id] = 1 + max((depth_of(u, inner) for u in ups[block_id]), default=-1)
        return depth[block_id]

    children: dict[str | None, list[str]] = {}
    for block in blocks:
        bid = block["id"]
        depth_of(bid)
        parents = ups[bid]
        parent = max(parents, key=lambda u: (depth_of(u), position[u])) if parents else None
        children.setdefault(parent, []).append(bid)

    def walk(bid: str, lead: str, last: bool, root: bool) -> Iterator[tuple[Block, str, int]]:
        yield by_id[bid], "" if root else lead + ("└ " if last else "├ "), depth[bid]
        kids = children.get(bid, [])
        below = "" if root else lead + ("  " if last else "│ ")
        for i, kid in enumerate(kids):
            yield from walk(kid, below, i == len(kids) - 1, False)

    ordered: list[tuple[Block, str, int]] = []
    for root in children.get(None, []):
        ordered.extend(walk(root, "", True, True))
    placed = {b["id"] for b, _, _ in ordered}
    ordered.extend((b, "", 0) for b in blocks if b["id"] not in placed)  # only after a cycle
    return ordered


def lineage(start: str, edges: dict[str, list[str]]) -> list[list[str]]:
    """Levels of ids reachable from `start` along `edges`: its neighbours, theirs, … (each id once)."""
    levels: list[list[str]] = []
    seen = {start}
    frontier = [start]
    while frontier:
        level: list[str] = []
        for node in frontier:
            for nxt in edges.get(node, []):
                if nxt not in seen:
                    seen.add(nxt)
                    level.append(nxt)
        if level:
            levels.append(level)
        frontier = level
    return levels


class GraphScreen(Screen[None], UsesBackend):
    """The board's blocks as a dependency tree, with a detail pane."""

    CSS_PATH = "graph.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter", "edit_block", "Edit", priority=True),
        Binding("space", "toggle_displayed", "Show/hide"),
        Binding("h", "history", "History"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, dashboard_id: str) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.title = "Blocks"
        self.dashboard: dict[str, Any] = {}
        self.blocks: list[Block] = []
        self.by_id: dict[str, Block] = {}
        self._pending_reload: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="graph-title")
        with Container(id="graph-body"):
            yield DataTable(id="blocks", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="block-detail"):
                yield Static(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#blocks", DataTable).focus()
        self.follow_events()

    def on_screen_resume(self) -> None:
        self.reload()

    # ------------------------------------------------------------------ data

    @work(group="graph-load", exclusive=True)
    async def reload(self) -> None:
        await self.refetch()

    async def refetch(self) -> None:
        """Fetch the board again and redraw, keeping the selection."""
        answer = await self.call("dashboard_get", dashboard_id=self.dashboard_id)
        if answer is None:
            return
        self.dashboard = answer["dashboard"]
        self.blocks = self.dashboard["blocks"]
        self.by_id = {b["id"]: b for b in self.blocks}
        self.refill()

    @work(group="events", exclusive=True)
    async def follow_events(self) -> None:
        """Redraw when anything in the board changes (debounced: a cascade sends many events)."""
        async for event in self.backend.events(self.dashboard_id):
            if isinstance(event, BoardDeleted | AccessLost):
                gone = "was deleted" if isinstance(event, BoardDeleted) else "is no longer yours to see"
                self.notify(f"This dashboard {gone}.", severity="warning")
                self.app.pop_screen()
                return
            if isinstance(event, REFRESH_EVENTS) and self._pending_reload is None:
                self._pending_reload = self.set_timer(0.3, self._reload_now)

    def _reload_now(self) -> None:
        self._pending_reload = None
        self.reload()

    # ------------------------------------------------------------------ drawing

    def name_of(self, ref: str) -> Text:
        """A block id as its name, or a source name in italics."""
        block = self.by_id.get(ref)
        return Text(block["name"]) if block else Text(ref, style="italic cyan")

    def names(self, refs: Sequence[str], budget: int | None = LIST_WIDTH) -> Text:
        """Names of ids (and sources), within about `budget` characters, then "+N" for the rest."""
        if not refs:
            return Text("—", style="dim")
        shown: list[Text] = []
        for ref in refs:
            name = self.name_of(ref)
            used = sum(len(t) + 2 for t in shown) + len(name)
            if shown and budget is not None and used > budget:
                break
            shown.append(name)
        text = Text(", ").join(shown)
        if len(shown) < len(refs):
            text.append(f" +{len(refs) - len(shown)}", style="dim")
        return text

    def refill(self) -> None:
        table = self.query_one("#blocks", DataTable)
        selected = self.selected_id()
        table.clear(columns=True)  # columns fit what is shown now, not the widest state ever seen
        table.add_columns(*COLUMNS)
        for block, prefix, _ in tree_order(self.blocks):
            shown = Text("shown", style="bold") if block["displayed"] else Text("hidden", style="dim")
            state = block["state"]
            table.add_row(
                Text.assemble((prefix, "dim"), (block["name"], "bold" if block["displayed"] else "")),
                block["type"],
                shown,
                Text(state.replace("_", " "), style=STATE_STYLES.get(state, "")),
                self.names(block.get("upstream", [])),
                self.names(block.get("downstream", [])),
                key=block["id"],
            )
        if selected in self.by_id:
            table.move_cursor(row=table.get_row_index(selected), scroll=True)
        hidden = sum(1 for b in self.blocks if not b["displayed"])
        self.query_one("#graph-title", Static).update(
            Text.assemble(
                (self.dashboard.get("title", ""), "bold"),
                (f"  {len(self.blocks)} blocks, {hidden} hidden · indented under what they read", "dim"),
            )
        )
        self.show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_edit_block()

    def show_detail(self) -> None:
        block = self.selected_block()
        self.query_one("#detail", Static).update(self.describe(block) if block else "No blocks yet.")

    def describe(self, block: Block) -> RenderableType:
        """Lineage and config of one block."""
        parts: list[RenderableType] = []
        state = block["state"]
        parts.append(
            Text.assemble(
                (block["name"], "bold"),
                f"  {block['type']} · ",
                ("shown" if block["displayed"] else "hidden (internal)"),
                " · ",
                (state.replace("_", " "), STATE_STYLES.get(state, "")),
                (f" · v{block.get('version', 1)}", "dim"),
            )
        )
        if block.get("error"):
            parts.append(Text(block["error"], style="red"))
        ups = {b["id"]: list(b.get("upstream", [])) for b in self.blocks}
        downs = {b["id"]: list(b.get("downstream", [])) for b in self.blocks}
        parts.append(Text.assemble(("reads    ", "dim"), self.names(ups[block["id"]], None)))
        parts.append(Text.assemble(("read by  ", "dim"), self.names(downs[block["id"]], None)))
        flow: list[Text] = [self.names(level, None) for level in reversed(lineage(block["id"], ups))]
        flow.append(Text(block["name"], style="bold reverse"))
        flow.extend(self.names(level, None) for level in lineage(block["id"], downs))
        parts.append(Text.assemble(("flow     ", "dim"), Text(" → ", style="dim").join(flow)))
        parts.append(Text(""))
        parts.extend(self.config_summary(block))
        return Group(*parts)

    def config_summary(self, block: Block) -> list[RenderableType]:
        config = dict(block.get("config") or {})
        parts: list[RenderableType] = []
        if block["type"] == "sql":
            sql = str(config.pop("sql", ""))
            inputs = config.pop("inputs", None) or []
            parts.append(Syntax(sql, "sql", theme="ansi_dark", word_wrap=True, background_color="default"))
            if inputs:
                parts.append(Text.assemble(("binds    ", "dim"), ", ".join(f"${name}" for name in inputs)))
        elif block["type"] == "markdown":
            parts.append(Markdown(str(config.pop("text", ""))))
        if "value" in block:
            parts.append(Text.assemble(("value    ", "dim"), repr(block["value"])))
        for key, value in config.items():
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(Text.assemble((f"{key:<9}", "dim"), shown))
        return parts

    # ------------------------------------------------------------------ selection

    def selected_id(self) -> str | None:
        table = self.query_one("#blocks", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def selected_block(self) -> Block | None:
        selected = self.selected_id()
        return self.by_id.get(selected) if selected else None

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.dismiss()

    def action_reload(self) -> None:
        self.reload()

    def action_edit_block(self) -> None:
        from ballast_tui.screens.editor import BlockEditorScreen

        block = self.selected_block()
        if block is not None:
            self.app.push_screen(BlockEditorScreen(self.dashboard_id, block))

    def action_history(self) -> None:
        from ballast_tui.screens.history import HistoryScreen

        block = self.selected_block()
        if block is not None:
            self.app.push_screen(HistoryScreen(self.dashboard_id, block))

    @work(group="graph-toggle")
    async def action_toggle_displayed(self) -> None:
        """Show a hidden block (a full-width row at the bottom) or hide a shown one."""
        block = self.selected_block()
        if block is None:
            return
        show = not block["displayed"]
        answer = await self.call(
            "dashboard_set_displayed", dashboard_id=self.dashboard_id, block_id=block["id"], displayed=show
        )
        if answer is None:
            return
        self.notify(
            f"{block['name']} is shown at the bottom of the dashboard"
            if show
            else f"{block['name']} is hidden from the dashboard"
        )
        await self.refetch()
