"""Adding a block: pick a type and a name.

`NewBlockScreen` adds the block with a starting config that works at once,
shows it on the grid and opens the editor on it.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ballast_tui.engine.errors import ToolError
from ballast_tui.screens.editor import BlockEditorScreen
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.board_context import is_table

BLOCK_KINDS: list[tuple[str, str]] = [
    ("sql", "a query over sources and other blocks: a table"),
    ("chart", "line, bar, scatter, area or histogram of a table"),
    ("table", "the rows of a table, all columns or some"),
    ("metric", "one value from a table's column, formatted"),
    ("markdown", "text: a title, notes, links"),
    ("filter-daterange", "a date range control ($name_start, $name_end)"),
    ("param-enum", "a choice among options ($name)"),
]


def starting_config(block_type: str, catalog: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A config that works at once for a new block of `block_type`; None when it needs a table
    and the board has none with columns yet."""
    if block_type == "sql":
        return {"sql": "select 1 as value"}
    if block_type == "markdown":
        return {"text": "# Title"}
    if block_type == "param-enum":
        return {"options": ["a", "b"], "default": "a"}
    if block_type == "filter-daterange":
        return {"default": "30d"}
    tables = [entry for entry in catalog if entry.get("columns") and is_table(entry)]
    if not tables:
        return None
    if block_type == "chart":
        table = next((t for t in tables if len(t["columns"]) >= 2), tables[0])
        names = [c["name"] for c in table["columns"]]
        return {
            "source": table["name"],
            "kind": "bar",
            "x": names[0],
            "y": names[1] if len(names) > 1 else names[0],
        }
    if block_type == "metric":
        table = tables[0]
        numeric = [c["name"] for c in table["columns"] if _numeric(c["type"])]
        return {"source": table["name"], "column": (numeric or [table["columns"][0]["name"]])[0]}
    return {"source": tables[0]["name"]}


def _numeric(column_type: str) -> bool:
    kind = column_type.upper()
    return any(word in kind for word in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL", "NUMERIC"))


class NewBlockScreen(UsesBackend, ModalScreen[None]):
    """Pick a type and a name; the block is added, shown on the grid, and opened in the editor."""

    CSS_PATH = "editor.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "create", "Create", priority=True),
    ]

    def __init__(self, dashboard_id: str) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id

    def compose(self) -> ComposeResult:
        with Vertical(id="new-block"):
            yield Label("[b]Add a block[/b]  [dim]pick a type, then a name (optional); ctrl+s creates[/dim]")
            yield OptionList(
                *[
                    Option(Text.assemble((kind.ljust(17), "bold"), (about, "dim")), id=kind)
                    for kind, about in BLOCK_KINDS
                ],
                id="types",
            )
            with Horizontal(classes="field"):
                yield Label("Name", classes="field-label")
                yield Input(placeholder="optional, e.g. weekly_sales", id="new-name", compact=True)
            yield Static(id="new-message")
            with Horizontal(id="new-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Create", variant="primary", id="create")

    def on_mount(self) -> None:
        types = self.query_one("#types", OptionList)
        types.highlighted = 0
        types.focus()
        self.query_one("#new-message").display = False

    @property
    def chosen_type(self) -> str:
        option = self.query_one("#types", OptionList).highlighted_option
        return option.id if option is not None and option.id else "sql"

    def say(self, text: str) -> None:
        message = self.query_one("#new-message", Static)
        message.update(Text(text))
        message.display = bool(text)

    @on(OptionList.OptionSelected, "#types")
    def _type_chosen(self) -> None:
        self.query_one("#new-name", Input).focus()

    @on(Input.Submitted, "#new-name")
    def _name_submitted(self) -> None:
        self.action_create()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self.action_create()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @work(group="new-block", exclusive=True)
    async def action_create(self) -> None:
        block_type = self.chosen_type
        catalog = await self.call("catalog_list", dashboard_id=self.dashboard_id)
        if catalog is None:
            return
        config = starting_config(block_type, catalog["sources"])
        if config is None:
            self.say(
                f"A {block_type} block reads a table, and this board has none yet. Import a source "
                "(k, the catalog) or add a SQL block first, then add the "
                f"{block_type}."
            )
            return
        arguments: dict[str, Any] = {"dashboard_id": self.dashboard_id, "type": block_type, "config": config}
        name = self.query_one("#new-name", Input).value.strip()
        if name:
            arguments["name"] = name
        try:
            answer = await self.backend.call("dashboard_add_block", **arguments)
        except ToolError as error:
            self.say(error.message)
            return
        block = answer["block"]
        shown = await self.call(
            "dashboard_set_displayed", dashboard_id=self.dashboard_id, block_id=block["id"], displayed=True
        )
        if shown is None:
            return
        self.app.switch_screen(BlockEditorScreen(self.dashboard_id, block))
