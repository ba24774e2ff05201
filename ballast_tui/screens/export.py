"""Export: the focused block's whole output as CSV, Parquet or JSON, or the dashboard as an SVG.

The SVG is the dashboard exactly as this terminal draws it: the dialog closes
first, then the app takes a screenshot of the dashboard screen.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from ballast_tui.engine.errors import ToolError
from ballast_tui.formatting import wrapped
from ballast_tui.screens.dialogs import ConfirmDialog
from ballast_tui.widgets.backend_access import UsesBackend

BLOCK_FORMATS = [("csv", "CSV"), ("parquet", "Parquet"), ("json", "JSON")]
SUFFIX_FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json", ".svg": "svg"}


def title_slug(title: str) -> str:
    """The title as a file name stem: lower-case ASCII words joined by '-'."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:48].strip("-") or "dashboard"


def write_dashboard_svg(app: App[Any], target: Path, title: str) -> None:
    """Draw the current screen (the dashboard) into `target` as an SVG."""
    target.write_text(app.export_screenshot(title=title), encoding="utf-8")


class ExportScreen(UsesBackend, ModalScreen[None]):
    """Choose what to export and where; write it."""

    CSS_PATH = "export.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "export", "Export"),
    ]

    def __init__(self, dashboard_id: str, block: dict[str, Any] | None) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.block = block
        self.title_text = ""
        self.formats = [fmt for fmt, _ in BLOCK_FORMATS] if block else []
        self.formats.append("svg")

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Label("[b]Export[/b]  [dim]↑↓ enter: choose · tab: file · enter: write · esc: cancel[/dim]")
            with RadioSet(id="what"):
                if self.block is not None:
                    for index, (_fmt, label) in enumerate(BLOCK_FORMATS):
                        yield RadioButton(
                            Text(f"{self.block['name']}'s whole output as {label}"), value=index == 0
                        )
                yield RadioButton("the whole dashboard as SVG, as drawn here", value=self.block is None)
            if self.block is None:
                yield Static("[dim]To export a block's data, move to it on the dashboard first.[/dim]")
            yield Label("File")
            yield Input(id="path")
            with Horizontal(id="export-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Export", variant="primary", id="export")

    async def on_mount(self) -> None:
        self.query_one(RadioSet).focus()
        answer = await self.call("dashboard_get", dashboard_id=self.dashboard_id)
        self.title_text = answer["dashboard"]["title"] if answer else "dashboard"
        self.query_one("#path", Input).value = self.default_path(self.chosen())

    def chosen(self) -> str:
        index = self.query_one(RadioSet).pressed_index
        return self.formats[index if index >= 0 else 0]

    def default_path(self, fmt: str) -> str:
        if fmt == "svg" or self.block is None:
            return f"./{title_slug(self.title_text)}.svg"
        return f"./{self.block['name']}.{fmt}"

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        """A new choice: the file's extension follows it (a default path follows entirely)."""
        path_input = self.query_one("#path", Input)
        fmt, current = self.formats[event.index], path_input.value
        suffix = Path(current).suffix.lower()
        if SUFFIX_FORMATS.get(suffix) == fmt:
            return
        if not current or current in {self.default_path(f) for f in self.formats}:
            path_input.value = self.default_path(fmt)
        elif suffix in SUFFIX_FORMATS:
            path_input.value = f"{current[: -len(suffix)]}.{fmt}"

    def on_input_changed(self, event: Input.Changed) -> None:
        """A typed extension chooses the format it names."""
        fmt = SUFFIX_FORMATS.get(Path(event.value).suffix.lower())
        if fmt in self.formats and fmt != self.chosen():
            list(self.query(RadioButton))[self.formats.index(fmt)].value = True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_export()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "export":
            self.action_export()
        else:
            self.dismiss()

    def action_cancel(self) -> None:
        self.dismiss()

    @work(group="export", exclusive=True)
    async def action_export(self) -> None:
        text = self.query_one("#path", Input).value.strip()
        if not text:
            self.notify("Give a file to write.", title="export", severity="warning")
            return
        target = Path(text).expanduser()
        if target.is_dir():
            self.notify(f"{target} is a directory; give a file name.", title="export", severity="error")
            return
        if target.exists() and not await self.app.push_screen_wait(
            ConfirmDialog(wrapped(f"{target} exists. Replace it?"), confirm="Replace")
        ):
            return
        fmt = self.chosen()
        if fmt == "svg":
            self.export_svg(target)
        elif self.block is not None:
            await self.export_block(target, fmt)

    def export_svg(self, target: Path) -> None:
        """Close the dialog, then draw the dashboard as it is on screen now."""
        app, title = self.app, self.title_text

        def shoot() -> None:
            try:
                write_dashboard_svg(app, target, title)
            except OSError as error:
                app.notify(str(error), title="export", severity="error")
                return
            width, height = app.size
            app.notify(f"Wrote the dashboard ({width}x{height}) as SVG to {target}", title="Exported")

        self.dismiss()
        app.call_after_refresh(shoot)

    async def export_block(self, target: Path, fmt: str) -> None:
        assert self.block is not None
        existed = target.exists()
        try:
            rows = await self.backend.export(self.dashboard_id, self.block["id"], fmt, target)
        except (ToolError, OSError) as error:
            if not existed:
                target.unlink(missing_ok=True)
            self.ballast.show_error(error)
            return
        self.dismiss()
        self.app.notify(f"Wrote {rows:,} row{'' if rows == 1 else 's'} to {target}", title="Exported")
