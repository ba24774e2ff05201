"""Your API tokens: made, listed with when each was made and last used, and revoked.

A new token is shown once, in a dialog to copy it from; afterwards only its id,
its name and its times are ever shown. A revoked token stays listed, marked.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from ballast_tui.screens.dialogs import ConfirmDialog, PromptDialog
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.footer import Footer


def _when(at: str | None) -> str:
    return (at or "never").replace("T", " ")[:16]


class TokensScreen(UsesBackend, Screen[None]):
    """The caller's tokens, a key to make one and a key to revoke the selected one."""

    DEFAULT_CSS = """
    TokensScreen #tokens-title { height: auto; padding: 0 1; }
    TokensScreen #tokens { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("n", "new_token", "New token"),
        Binding("d", "revoke", "Revoke"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tokens: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="tokens-title")
        yield DataTable(id="tokens", cursor_type="row", zebra_stripes=True)
        yield Footer()

    async def on_mount(self) -> None:
        table = self.query_one("#tokens", DataTable)
        for label, key in (
            ("Token", "id"),
            ("Name", "name"),
            ("Made", "made"),
            ("Last used", "used"),
            ("", "state"),
        ):
            table.add_column(label, key=key)
        table.focus()
        await self.reload()

    async def reload(self) -> None:
        answer = await self.call("user_tokens")
        if answer is None:
            return
        self.tokens = answer["tokens"]
        live = sum(1 for t in self.tokens if t["revoked_at"] is None)
        title = Text.assemble(("API tokens", "bold"), f" · {answer['user']['name']} · {live} live")
        self.query_one("#tokens-title", Static).update(title)
        table = self.query_one("#tokens", DataTable)
        table.clear()
        for token in self.tokens:
            state = (
                Text("revoked " + _when(token["revoked_at"]), "dim") if token["revoked_at"] else Text("live")
            )
            table.add_row(
                token["id"],
                Text(token["name"] or ""),
                _when(token["created_at"]),
                _when(token["last_used_at"]),
                state,
                key=token["id"],
            )

    def selected(self) -> dict[str, Any] | None:
        table = self.query_one("#tokens", DataTable)
        if not self.tokens or table.cursor_row >= len(self.tokens):
            return None
        return self.tokens[table.cursor_row]

    def action_new_token(self) -> None:
        self.app.push_screen(
            PromptDialog("A name for the new token (e.g. the machine it is for)"), self._make
        )

    async def _make(self, name: str | None) -> None:
        if name is None:
            return
        made = await self.call(
            "user_token_create", user=self.backend.session.user_id, **({"name": name} if name.strip() else {})
        )
        if made is None:
            return
        await self.reload()
        self.app.push_screen(
            PromptDialog("Your new token (copy it now: it is not shown again)", value=made["token"])
        )

    def action_revoke(self) -> None:
        token = self.selected()
        if token is None or token["revoked_at"] is not None:
            return
        question = f"Revoke token {token['id']}? Whatever uses it stops working at once."
        self.app.push_screen(ConfirmDialog(question), lambda sure: self._revoke(token["id"], sure))

    async def _revoke(self, token_id: str, sure: bool | None) -> None:
        if not sure:
            return
        answer = await self.call("user_token_revoke", user=self.backend.session.user_id, token_id=token_id)
        if answer is not None:
            self.notify(f"Token {token_id} revoked.", title="Revoked")
            await self.reload()

    def action_back(self) -> None:
        self.dismiss()
