"""Editing one block, and adding a new one.

`BlockEditorScreen` takes the block's lock (CONTRACT §6) for as long as it is
open, or opens read-only, naming who holds it. Ctrl+R runs the draft without
saving it (`dashboard_run_block` with `config`) and shows its output below;
Ctrl+S saves with the version the editor opened with, so an edit based on a
stale version is refused (409) and the person chooses: reload theirs, or
overwrite. However the editor closes, the lock goes with it.

`NewBlockScreen` asks for a type and a name, adds the block with a starting
config, shows it on the grid and opens the editor on it.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ballast_tui.engine.errors import Conflict, Locked, ToolError
from ballast_tui.screens.dialogs import ConfirmDialog
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.config_forms import BoardContext, ConfigForm, form_for, is_table

HEARTBEAT_S = 10.0  # the lock lapses after 30 s without one (CONTRACT §6)
PREVIEW_ROWS = 100

Draft = tuple[str, dict[str, Any]]


def lock_holder(error: ToolError) -> str:
    """Who holds the lock a `Locked` refusal is about, as a person reads it."""
    lock = error.extra.get("lock") or {}
    holder = lock.get("holder") or {}
    name = holder.get("name")
    if not name:
        return error.message
    notes = ["agent"] if holder.get("kind") == "agent" else []
    if lock.get("session"):
        notes.append(f"session {lock['session']}")
    return f"{name} ({', '.join(notes)})" if notes else str(name)


class ConflictDialog(ModalScreen[str]):
    """Someone else changed the block: reload their version, overwrite it, or keep editing."""

    CSS_PATH = "editor.tcss"
    BINDINGS = [
        Binding("escape", "choose('keep')", "Keep editing"),
        Binding("r", "choose('reload')", "Reload theirs"),
        Binding("o", "choose('overwrite')", "Overwrite"),
    ]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.message)
            with Horizontal():
                yield Button("Keep editing", id="keep")
                yield Button("Reload theirs", variant="primary", id="reload")
                yield Button("Overwrite", variant="error", id="overwrite")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "keep")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)


class BlockEditorScreen(UsesBackend, Screen[dict[str, Any] | None]):
    """Edit one block's name and config, holding its lock; dismissed with the saved block or None."""

    CSS_PATH = "editor.tcss"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("ctrl+r", "run_draft", "Run", tooltip="Run the draft without saving it", priority=True),
        Binding("escape", "cancel", "Close"),
        Binding("ctrl+n", "app.focus_next", "Next field"),
        Binding("ctrl+l", "take_lock", "Take the lock"),
    ]

    def __init__(self, dashboard_id: str, block: dict[str, Any]) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.block = block
        self.version: int = block["version"]
        self.read_only = False
        self.holds_lock = False
        self.board = BoardContext()
        self._baseline: Draft | None = None
        self._heartbeat: Timer | None = None
        self._released = False

    # -- building ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="editor-title")
        yield Static(id="lock-status")
        with Vertical(id="editor-body"):
            with Horizontal(classes="field", id="name-row"):
                yield Label("Name", classes="field-label")
                yield Input(self.block["name"], id="name", compact=True, disabled=True)
            yield Vertical(id="form-host")
        yield Static(id="message")
        with Vertical(id="preview"):
            yield Static(id="preview-status")
            yield DataTable(id="preview-table", zebra_stripes=True, cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.render_title()
        self.query_one("#preview").display = False
        self.query_one("#message").display = False
        self.open_editor()

    @work(group="editor-open", exclusive=True)
    async def open_editor(self) -> None:
        """Take the lock, then read the block as it is now and build its form."""
        await self.take_lock()
        answer = await self.call("dashboard_get", dashboard_id=self.dashboard_id)
        if answer is None:
            await self.close_editor()
            return
        blocks = answer["dashboard"]["blocks"]
        fresh = next((b for b in blocks if b["id"] == self.block["id"]), None)
        if fresh is None:
            self.notify(f"Block {self.block['name']} no longer exists.", severity="warning")
            await self.close_editor()
            return
        catalog = await self.call("catalog_list", dashboard_id=self.dashboard_id)
        self.board = BoardContext.build(catalog["sources"] if catalog else [], blocks, fresh["id"])
        await self.show_block(fresh)

    async def show_block(self, block: dict[str, Any]) -> None:
        """(Re)build the form on `block`: the version every save is based on from now."""
        self.block = block
        self.version = block["version"]
        name = self.query_one("#name", Input)
        name.value = block["name"]
        host = self.query_one("#form-host")
        await host.remove_children()
        form = form_for(block, self.board)
        await host.mount(form)
        self.apply_read_only()
        self._baseline = self.draft_or_none()
        self.render_title()
        target = form.first_field
        if target is not None:
            target.focus()

    @property
    def form(self) -> ConfigForm | None:
        found = self.query(ConfigForm)
        return found.first() if found else None

    def render_title(self) -> None:
        block = self.block
        self.query_one("#editor-title", Static).update(
            Text.assemble(
                ("Edit ", "bold"),
                (block["name"], "bold"),
                (f"  {block['type']} block · version {self.version}", "dim"),
            )
        )

    # -- the lock ------------------------------------------------------------

    async def take_lock(self) -> bool:
        """Open the block for editing (take its lock); read-only, saying why, when refused."""
        try:
            await self.backend.call("block_open", dashboard_id=self.dashboard_id, block_id=self.block["id"])
        except Locked as error:
            self.set_read_only(
                f"Read-only: {lock_holder(error)} is editing this block. "
                "Saving is off until they close it (ctrl+l tries again)."
            )
            return False
        except ToolError as error:  # e.g. forbidden: a viewer looks, and cannot change anything
            self.set_read_only(f"Read-only: {error.message}")
            return False
        self.holds_lock = True
        if self._released:  # the editor closed while the lock was being taken
            await self.release_lock()
            return False
        if self._heartbeat is None:
            self._heartbeat = self.set_interval(HEARTBEAT_S, self.keep_lock)
        if self.read_only:
            self.read_only = False
            self.apply_read_only()
        self.query_one("#lock-status", Static).update(
            Text("You hold the lock: no one else can change this block while you edit.", style="dim")
        )
        self.query_one("#lock-status").set_class(False, "-read-only")
        self.refresh_bindings()
        return True

    def set_read_only(self, why: str) -> None:
        self.holds_lock = False
        self.read_only = True
        status = self.query_one("#lock-status", Static)
        status.update(Text(why))
        status.set_class(True, "-read-only")
        self.apply_read_only()
        self.refresh_bindings()

    def apply_read_only(self) -> None:
        self.query_one("#name", Input).disabled = self.read_only
        if self.form is not None:
            self.form.set_read_only(self.read_only)

    @work(group="editor-heartbeat", exclusive=True)
    async def keep_lock(self) -> None:
        """Renew the lock while the editor is open (a heartbeat)."""
        if not self.holds_lock:
            return
        try:
            await self.backend.call("block_open", dashboard_id=self.dashboard_id, block_id=self.block["id"])
        except Locked as error:
            self.set_read_only(
                f"Read-only: the lock lapsed and {lock_holder(error)} took it. "
                "Your draft is still here; saving is off (ctrl+l tries again)."
            )
        except ToolError:
            return  # e.g. the block went: the next save says so

    @work(group="editor-lock", exclusive=True)
    async def action_take_lock(self) -> None:
        if await self.take_lock():
            self.notify("You hold the lock now: saving is on.")

    async def release_lock(self) -> None:
        """Give the lock back (block_close releases only what this session holds)."""
        self._released = True
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        self.holds_lock = False
        with suppress(ToolError):
            await self.backend.call("block_close", dashboard_id=self.dashboard_id, block_id=self.block["id"])

    async def close_editor(self, result: dict[str, Any] | None = None) -> None:
        """Release the lock and leave."""
        await self.release_lock()
        if self.is_current:
            self.dismiss(result)

    async def on_unmount(self) -> None:
        if not self._released:  # closed some other way (the board went, the app quit)
            await self.release_lock()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save":
            return None if self.read_only else True
        if action == "take_lock":
            return self.read_only
        return True

    # -- the draft -----------------------------------------------------------

    def draft(self) -> Draft:
        """The name and config as edited; `ValueError` when the text cannot become a config."""
        if self.form is None:
            raise ValueError("the editor is still opening")
        return self.query_one("#name", Input).value.strip(), self.form.config()

    def draft_or_none(self) -> Draft | None:
        try:
            return self.draft()
        except ValueError:
            return None

    @property
    def dirty(self) -> bool:
        """Whether the draft differs from what the editor opened with."""
        draft = self.draft_or_none()
        return draft is None or draft != self._baseline

    def show_message(self, text: str = "", error: bool = False) -> None:
        message = self.query_one("#message", Static)
        message.update(Text(text))
        message.set_class(error, "error-text")
        message.display = bool(text)

    # -- running the draft ---------------------------------------------------

    @work(group="editor-preview", exclusive=True)
    async def action_run_draft(self) -> None:
        """Run the draft config without saving it, and show its output below."""
        try:
            config = self.draft()[1]
        except ValueError as error:
            self.show_preview_error(str(error))
            return
        preview = self.query_one("#preview")
        preview.display = True
        status = self.query_one("#preview-status", Static)
        status.set_class(False, "error-text")
        status.update(Text("Running the draft…", style="dim"))
        try:
            answer = await self.backend.call(
                "dashboard_run_block",
                dashboard_id=self.dashboard_id,
                block_id=self.block["id"],
                config=config,
            )
        except ToolError as error:
            self.show_preview_error(error.message)
            return
        run = answer["run"]
        if run["status"] != "success":
            self.show_preview_error(run.get("error") or "the draft failed")
            return
        self.show_preview(run)

    def show_preview_error(self, text: str) -> None:
        self.query_one("#preview").display = True
        self.query_one("#preview-table").display = False
        status = self.query_one("#preview-status", Static)
        status.set_class(True, "error-text")
        status.update(Text(text))

    def show_preview(self, run: dict[str, Any]) -> None:
        columns = run["columns"]
        status = self.query_one("#preview-status", Static)
        status.set_class(False, "error-text")
        count = run["row_count"]
        shown = min(len(run["rows"]), PREVIEW_ROWS)
        summary = Text.assemble(
            (f"{count:,} row{'s' if count != 1 else ''}", "bold"),
            (f" (first {shown} shown)" if shown < count else "", "dim"),
            "  ",
        )
        for i, column in enumerate(columns):
            summary.append(", " if i else "")
            summary.append(column["name"])
            summary.append(f" {column['type']}", style="dim")
        status.update(summary)
        table = self.query_one("#preview-table", DataTable)
        table.clear(columns=True)
        table.add_columns(*[c["name"] for c in columns])
        table.add_rows(
            [
                ["" if row.get(c["name"]) is None else str(row[c["name"]]) for c in columns]
                for row in run["rows"][:PREVIEW_ROWS]
            ]
        )
        table.display = True

    # -- saving and closing --------------------------------------------------

    @work(group="editor-save", exclusive=True)
    async def action_save(self) -> None:
        """Save the draft, based on the version the editor opened with."""
        if self.read_only:
            self.show_message("This block is read-only here: nothing was saved.", error=True)
            return
        try:
            name, config = self.draft()
        except ValueError as error:
            self.show_message(f"Not saved: {error}", error=True)
            return
        if (name, config) == self._baseline:
            self.notify("Nothing changed.")
            await self.close_editor()
            return
        await self.save(name, config, self.version)

    async def save(self, name: str, config: dict[str, Any], version: int) -> None:
        arguments: dict[str, Any] = {
            "dashboard_id": self.dashboard_id,
            "block_id": self.block["id"],
            "config": config,
            "version": version,
        }
        if name != self.block["name"]:
            arguments["name"] = name
        self.show_message("Saving…")
        try:
            answer = await self.backend.call("dashboard_update_block", **arguments)
        except Conflict as error:
            await self.resolve_conflict(name, config, error)
            return
        except Locked as error:
            self.show_message(f"Not saved: {lock_holder(error)} holds this block's lock now.", error=True)
            return
        except ToolError as error:
            self.show_message(f"Not saved: {error.message}", error=True)
            return
        block = answer["block"]
        if block["state"] == "error":
            self.notify(
                f"Saved {block['name']} (version {block['version']}), but it failed: {block.get('error')}",
                severity="warning",
                timeout=8,
            )
        else:
            ran = len(answer.get("cascade", {}).get("ran", []))
            self.notify(f"Saved {block['name']} (version {block['version']}); {ran} block(s) re-ran.")
        await self.close_editor(block)

    async def resolve_conflict(self, name: str, config: dict[str, Any], error: ToolError) -> None:
        """Someone changed the block since the editor opened it: ask what to do."""
        current = error.extra.get("current_version")
        if current is None:
            current = (error.extra.get("block") or {}).get("version")
        now = f"version {current}" if current is not None else "a newer version"
        self.show_message(
            f"Not saved: someone else changed this block while you were editing (it is now {now}; "
            f"you started from version {self.version}).",
            error=True,
        )

        async def answered(choice: str | None) -> None:
            if choice == "overwrite" and current is not None:
                self.overwrite(name, config, int(current))
            elif choice == "reload":
                self.reload_theirs()

        self.app.push_screen(
            ConflictDialog(
                f"Someone else changed {self.block['name']} while you were editing: it is now {now}, "
                f"and you started from version {self.version}.\n\n"
                "Reload their version (your changes are dropped), or overwrite it with yours?"
            ),
            answered,
        )

    @work(group="editor-save", exclusive=True)
    async def overwrite(self, name: str, config: dict[str, Any], version: int) -> None:
        """Save the draft over the version someone else saved."""
        if not await self.take_lock():
            self.show_message("Not saved: someone else holds the lock now.", error=True)
            return
        await self.save(name, config, version)

    @work(group="editor-save", exclusive=True)
    async def reload_theirs(self) -> None:
        """Drop the draft and edit the block as it is now."""
        answer = await self.call("dashboard_get", dashboard_id=self.dashboard_id)
        if answer is None:
            return
        fresh = next((b for b in answer["dashboard"]["blocks"] if b["id"] == self.block["id"]), None)
        if fresh is None:
            self.notify("The block was deleted.", severity="warning")
            await self.close_editor()
            return
        await self.take_lock()
        await self.show_block(fresh)
        self.show_message(f"Reloaded version {fresh['version']}.")

    def action_cancel(self) -> None:
        """Close without saving; ask first when there are unsaved changes."""
        if self.read_only or self.form is None or not self.dirty:
            self.close()
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.close()

        self.app.push_screen(
            ConfirmDialog(f"Discard your changes to {self.block['name']}?", confirm="Discard"), answered
        )

    @work(group="editor-close", exclusive=True)
    async def close(self) -> None:
        await self.close_editor()

    @on(Input.Submitted, "#name")
    def _name_submitted(self) -> None:
        self.focus_next()


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
