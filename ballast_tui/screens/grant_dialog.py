"""Asking whom to give access to a board, and as what role."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select


class GrantDialog(ModalScreen[tuple[str, str] | None]):
    """Ask for a user name and a role; dismissed with (user, role), or None."""

    CSS_PATH = "share.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, user: str = "", role: str = "viewer") -> None:
        super().__init__()
        self.user = user
        self.role = role

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Give access to (user name)")
            yield Input(self.user, placeholder="a user name", id="grant-user")
            yield Label("Role")
            yield Select(
                [
                    ("viewer: sees the board, its SQL and data", "viewer"),
                    ("editor: also changes it", "editor"),
                ],
                value=self.role,
                allow_blank=False,
                id="grant-role",
            )
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Grant", variant="primary", id="ok")

    def answer(self) -> tuple[str, str] | None:
        user = self.query_one("#grant-user", Input).value.strip()
        return (user, str(self.query_one("#grant-role", Select).value)) if user else None

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(self.answer())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.answer() if event.button.id == "ok" else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
