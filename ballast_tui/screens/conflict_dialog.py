"""Someone else saved the block while it was being edited: reload theirs, overwrite it, or keep editing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


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
            yield Label(self.message, markup=False)
            with Horizontal():
                yield Button("Keep editing", id="keep")
                yield Button("Reload theirs", variant="primary", id="reload")
                yield Button("Overwrite", variant="error", id="overwrite")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "keep")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)
