"""Editing one block: its name and config, a draft run, and saving it.

`BlockEditorScreen` takes the block's lock (CONTRACT §6) for as long as it is
open, or opens read-only, naming who holds it (see `LockHoldingScreen`).
Ctrl+R runs the draft without saving it (`dashboard_run_block` with `config`)
and shows its output below; Ctrl+S saves with the version the editor opened
with, so an edit based on a stale version is refused (409) and the person
chooses: reload theirs, or overwrite (`ConflictDialog`). However the editor
closes, the lock goes with it.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Header, Input, Label, Static

from ballast_tui.engine.errors import Conflict, Locked, ToolError
from ballast_tui.screens.conflict_dialog import ConflictDialog
from ballast_tui.screens.dialogs import ConfirmDialog
from ballast_tui.screens.lock_holding import LockHoldingScreen, lock_holder
from ballast_tui.widgets.board_context import BoardContext
from ballast_tui.widgets.config_forms import form_for
from ballast_tui.widgets.draft_preview import DraftPreview
from ballast_tui.widgets.footer import Footer
from ballast_tui.widgets.form_base import ConfigForm

Draft = tuple[str, dict[str, Any]]


class BlockEditorScreen(LockHoldingScreen):
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
        super().__init__(dashboard_id, block)
        self.version: int = block["version"]
        self.board = BoardContext()
        self._baseline: Draft | None = None

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
        yield DraftPreview(id="preview")
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

    # -- the lock (taken and kept by LockHoldingScreen) -------------------

    def apply_read_only(self) -> None:
        self.query_one("#name", Input).disabled = self.read_only
        if self.form is not None:
            self.form.set_read_only(self.read_only)

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
        preview = self.query_one(DraftPreview)
        try:
            config = self.draft()[1]
        except ValueError as error:
            preview.show_error(str(error))
            return
        preview.show_running()
        try:
            answer = await self.backend.call(
                "dashboard_run_block",
                dashboard_id=self.dashboard_id,
                block_id=self.block["id"],
                config=config,
            )
        except ToolError as error:
            preview.show_error(error.message)
            return
        run = answer["run"]
        if run["status"] != "success":
            preview.show_error(run.get("error") or "the draft failed")
            return
        preview.show_run(run)

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
