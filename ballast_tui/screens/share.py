"""Sharing a board: its public link, who has access, ownership; and its auto-refresh settings.

Only the owner may publish, grant or transfer; anyone else sees the same
screen, and a change key answers with the refusal the tool gives.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Select, Static, Switch

from ballast_tui.engine.events import AccessLost, BoardChanged, BoardDeleted, RunFinished
from ballast_tui.formatting import age, wrapped
from ballast_tui.screens.dialogs import ConfirmDialog, PromptDialog
from ballast_tui.widgets.backend_access import UsesBackend

INTERVALS: list[tuple[str, int]] = [
    ("every 5 min", 300),
    ("every 15 min", 900),
    ("hourly", 3600),
    ("daily", 86400),
]


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


class ShareScreen(UsesBackend, Screen[None]):
    """Visibility, the public link, the people with access, and ownership."""

    CSS_PATH = "share.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("p", "publish", "Publish"),
        Binding("c", "copy_link", "Copy"),
        Binding("u", "unpublish", "Unpublish"),
        Binding("g", "grant", "Grant"),
        Binding("d", "revoke", "Revoke"),
        Binding("o", "transfer", "Transfer"),
    ]

    def __init__(self, dashboard_id: str) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.dashboard: dict[str, Any] = {}
        self.grants: list[dict[str, Any]] = []
        self.names: dict[str, str] = {}
        self.kinds: dict[str, str] = {}

    @property
    def role(self) -> str | None:
        return self.dashboard.get("role")

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="share-title")
        yield Static(id="visibility")
        yield Static(id="public-url")
        yield Static("People with access", id="grants-label")
        yield DataTable(id="grants", cursor_type="row", zebra_stripes=True)
        yield Footer()

    async def on_mount(self) -> None:
        table = self.query_one("#grants", DataTable)
        table.add_column("User", key="user")
        table.add_column("Kind", key="kind")
        table.add_column("Role", key="role")
        table.focus()
        self.kinds[self.backend.session.user_id] = self.backend.session.kind
        await self.reload()
        self.follow_events()

    @work(group="events", exclusive=True)
    async def follow_events(self) -> None:
        """Stay current while the board's owner changes things from elsewhere."""
        async for event in self.backend.events(self.dashboard_id):
            if isinstance(event, BoardChanged):
                self.reload_later()
            elif isinstance(event, BoardDeleted | AccessLost):
                self.dismiss()
                return

    @work(group="share", exclusive=True)
    async def reload_later(self) -> None:
        await self.reload()

    async def reload(self, grants: list[dict[str, Any]] | None = None) -> bool:
        """Fetch the board with its grants (or take `grants`, a grant's own answer)."""
        answer = await self.call("dashboard_get", dashboard_id=self.dashboard_id)
        if answer is None:
            return False
        self.dashboard = answer["dashboard"]
        owner = self.dashboard["owner"]
        self.names[owner["id"]] = owner["name"]
        self.kinds[owner["id"]] = owner["kind"]
        grants = grants if grants is not None else self.dashboard["grants"]
        for grant in grants:
            self.names[grant["user_id"]] = grant["name"]
            if grant.get("kind"):
                self.kinds[grant["user_id"]] = grant["kind"]
        self.grants = grants
        self.render_state()
        return True

    def render_state(self) -> None:
        d = self.dashboard
        you = (
            "you are its owner"
            if d["role"] == "owner"
            else f"you are {'an' if d['role'] == 'editor' else 'a'} {d['role']}: only the owner shares it"
        )
        self.query_one("#share-title", Static).update(f"[b]Share[/b] · {d['title']}  [dim]{you}[/dim]")
        if d["visibility"] == "link_view":
            lock = " · [b]password protected[/b]" if d.get("passwordProtected") else " · no password"
            who = "anyone with the link" + (" and the password" if d.get("passwordProtected") else "")
            visibility = f"Visibility: [b]link_view[/b]{lock}  [dim]{who} sees the displayed blocks[/dim]"
        else:
            visibility = "Visibility: [b]private[/b]  [dim]only the people below see it[/dim]"
        self.query_one("#visibility", Static).update(visibility)
        url = self.query_one("#public-url", Static)
        url.set_class(bool(d.get("publicUrl")), "-published")
        url.border_title = "Public link"
        if d.get("publicUrl"):
            url.update(d["publicUrl"])
            url.border_subtitle = "c copies it"
        else:
            url.update("[dim]Not published. Press p to publish a read-only link.[/dim]")
            url.border_subtitle = ""
        table = self.query_one("#grants", DataTable)
        selected = self.selected_grant()
        table.clear()
        owner_id = d["owner_id"]
        table.add_row(
            self.names.get(owner_id, "you" if owner_id == self.backend.session.user_id else owner_id),
            self.kinds.get(owner_id, ""),
            "owner",
            key=owner_id,
        )
        for grant in self.grants:
            table.add_row(
                grant["name"], self.kinds.get(grant["user_id"], ""), grant["role"], key=grant["user_id"]
            )
        keys = [owner_id, *(g["user_id"] for g in self.grants)]
        if selected is not None and selected["user_id"] in keys:
            table.move_cursor(row=keys.index(selected["user_id"]))

    def selected_grant(self) -> dict[str, Any] | None:
        """The highlighted row's grant (None for the owner's row or an empty table)."""
        table = self.query_one("#grants", DataTable)
        if table.row_count == 0:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return next((g for g in self.grants if g["user_id"] == key.value), None)

    def action_back(self) -> None:
        self.dismiss()

    def action_copy_link(self) -> None:
        url = self.dashboard.get("publicUrl")
        if not url:
            self.notify("Not published yet: press p to publish a link first.", title="copy")
            return
        self.app.copy_to_clipboard(url)
        self.notify(url, title="Link copied to the clipboard")

    @work(group="share-action")
    async def action_publish(self) -> None:
        if not await self.reload() or not self.may(self.role, "manage"):
            return
        again = (
            " (publishing again keeps the link and replaces the password)" if self.dashboard["slug"] else ""
        )
        password = await self.app.push_screen_wait(
            PromptDialog(wrapped(f"Password for the link, or leave empty for none{again}"), password=True)
        )
        if password is None:
            return
        arguments = {"password": password} if password else {}
        answer = await self.call("dashboard_publish", dashboard_id=self.dashboard_id, **arguments)
        if answer is None:
            return
        await self.reload()
        protected = " (password protected)" if password else ""
        self.notify(f"{answer['publicUrl']}\nPress c to copy it.", title=f"Published{protected}")

    @work(group="share-action")
    async def action_unpublish(self) -> None:
        if not await self.reload() or not self.may(self.role, "manage"):
            return
        if self.dashboard["visibility"] != "link_view":
            self.notify("The board is private already.", title="unpublish")
            return
        sure = await self.app.push_screen_wait(
            ConfirmDialog(
                wrapped("Take the public link down? The board becomes private and the link stops working."),
                confirm="Unpublish",
            )
        )
        if sure and await self.call("dashboard_unpublish", dashboard_id=self.dashboard_id) is not None:
            await self.reload()
            self.notify("The board is private again.", title="Unpublished")

    @work(group="share-action")
    async def action_grant(self) -> None:
        if not await self.reload() or not self.may(self.role, "manage"):
            return
        selected = self.selected_grant()
        wanted = await self.app.push_screen_wait(
            GrantDialog(selected["name"] if selected else "", selected["role"] if selected else "viewer")
        )
        if wanted is None:
            return
        user, role = wanted
        answer = await self.call("dashboard_grant", dashboard_id=self.dashboard_id, user=user, role=role)
        if answer is not None:
            await self.reload(answer["grants"])
            self.notify(f"{user} is now a {role}.", title="Granted")

    @work(group="share-action")
    async def action_revoke(self) -> None:
        if not await self.reload() or not self.may(self.role, "manage"):
            return
        grant = self.selected_grant()
        if grant is None:
            self.notify("Move to a person in the list first (the owner cannot be revoked).", title="revoke")
            return
        sure = await self.app.push_screen_wait(
            ConfirmDialog(wrapped(f"Take {grant['name']}'s {grant['role']} access away?"), confirm="Revoke")
        )
        if not sure:
            return
        answer = await self.call(
            "dashboard_grant", dashboard_id=self.dashboard_id, user=grant["user_id"], role="none"
        )
        if answer is not None:
            await self.reload(answer["grants"])
            self.notify(f"{grant['name']} no longer has access.", title="Revoked")

    @work(group="share-action")
    async def action_transfer(self) -> None:
        if not await self.reload() or not self.may(self.role, "manage"):
            return
        selected = self.selected_grant()
        user = await self.app.push_screen_wait(
            PromptDialog("Make this user the owner (user name)", value=selected["name"] if selected else "")
        )
        if not user or not user.strip():
            return
        user = user.strip()
        sure = await self.app.push_screen_wait(
            ConfirmDialog(
                wrapped(
                    f"Make {user} the owner of {self.dashboard['title']!r}? You stay on as an editor and can "
                    "no longer share or delete it."
                ),
                confirm="Transfer",
            )
        )
        if (
            sure
            and await self.call("dashboard_transfer", dashboard_id=self.dashboard_id, user=user) is not None
        ):
            await self.reload()
            self.notify(f"{user} owns the board now; you are an editor.", title="Transferred")


class RefreshSettingsScreen(UsesBackend, Screen[None]):
    """Auto-refresh on or off and how often; saved as soon as it changes."""

    CSS_PATH = "share.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("R", "refresh_now", "Refresh now"),
    ]

    def __init__(self, dashboard_id: str) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.role: str | None = None
        self.saved: dict[str, Any] = {}
        self.last_refreshed: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="refresh-title")
        with Vertical(id="refresh-form"):
            with Horizontal(classes="field"):
                yield Label("Refresh automatically", classes="field-label")
                yield Switch(id="enabled")
            with Horizontal(classes="field"):
                yield Label("How often", classes="field-label")
                yield Select(INTERVALS, allow_blank=False, value=3600, id="interval")
            yield Static(id="last-refreshed")
            yield Static(
                "Changes are saved at once. A refresh re-runs every displayed block and what it reads.",
                classes="muted",
            )
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one("#enabled", Switch).focus()
        board = await self.call("dashboard_get", dashboard_id=self.dashboard_id)
        settings = await self.call("dashboard_get_refresh", dashboard_id=self.dashboard_id)
        if board is None or settings is None:
            self.dismiss()
            return
        self.role = board["dashboard"]["role"]
        self.query_one("#refresh-title", Static).update(
            f"[b]Auto-refresh[/b] · {board['dashboard']['title']}  [dim]{self.role}[/dim]"
        )
        self.show_settings(settings)
        self.follow_events()

    @work(group="events", exclusive=True)
    async def follow_events(self) -> None:
        """Show a scheduled refresh, or settings changed elsewhere, as they happen."""
        async for event in self.backend.events(self.dashboard_id):
            if isinstance(event, RunFinished) or (
                isinstance(event, BoardChanged) and event.change == "refresh_settings"
            ):
                self.reload_settings()

    @work(group="refresh-reload", exclusive=True)
    async def reload_settings(self) -> None:
        await asyncio.sleep(0.3)  # one reload for a whole cascade of runs
        settings = await self.call("dashboard_get_refresh", dashboard_id=self.dashboard_id)
        if settings is not None:
            self.show_settings(settings)

    def show_settings(self, settings: dict[str, Any]) -> None:
        """Put the saved settings in the form (the change this makes is no change to save)."""
        self.saved = {k: settings[k] for k in ("refreshEnabled", "refreshInterval")}
        self.revert()
        self.show_last(settings.get("lastRefreshedAt"))

    def revert(self) -> None:
        """Back to the saved settings, after a refusal."""
        self.query_one("#enabled", Switch).value = bool(self.saved["refreshEnabled"])
        self.query_one("#interval", Select).value = self.saved["refreshInterval"]

    def show_last(self, when: str | None) -> None:
        self.last_refreshed = when
        text = f"{when.replace('T', ' ')[:19]} UTC ({age(when)})" if when else "never"
        self.query_one("#last-refreshed", Static).update(f"Last refreshed: [b]{text}[/b]")

    def wanted(self) -> dict[str, Any]:
        return {
            "refreshEnabled": self.query_one("#enabled", Switch).value,
            "refreshInterval": self.query_one("#interval", Select).value,
        }

    @on(Switch.Changed)
    @on(Select.Changed)
    def form_changed(self) -> None:
        if self.saved and self.wanted() != self.saved:
            self.save()

    @work(group="refresh-settings", exclusive=True)
    async def save(self) -> None:
        wanted = self.wanted()
        if not self.may(self.role, "edit"):
            self.revert()
            return
        answer = await self.call("dashboard_set_refresh", dashboard_id=self.dashboard_id, **wanted)
        if answer is None:
            self.revert()
            return
        self.show_settings(answer)
        interval = next(label for label, seconds in INTERVALS if seconds == answer["refreshInterval"])
        self.notify(
            f"Refreshes {interval}." if answer["refreshEnabled"] else "Auto-refresh is off.", title="Saved"
        )

    def action_back(self) -> None:
        self.dismiss()

    @work(group="refresh-now", exclusive=True)
    async def action_refresh_now(self) -> None:
        if not self.may(self.role, "edit"):
            return
        self.query_one("#last-refreshed", Static).update("Last refreshed: [b]refreshing…[/b]")
        answer = await self.call("dashboard_refresh", dashboard_id=self.dashboard_id)
        if answer is None:
            self.show_last(self.last_refreshed)
            return
        self.show_last(answer.get("lastRefreshedAt"))
        failed = len(answer["cascade"]["failed"])
        self.notify(
            f"Refreshed {len(answer['cascade']['ran'])} blocks" + (f", {failed} failed" if failed else ""),
            title="Refresh",
        )
