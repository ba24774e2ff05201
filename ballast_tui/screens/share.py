"""Sharing a board: its public link and what the link offers, who has access, ownership.

Only the owner may publish, set the link's options (CSV downloads, the sites
allowed to embed the page), grant or transfer; anyone else sees the same
screen, and a change key answers with the refusal the tool gives.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from ballast_tui.engine.events import AccessLost, BoardChanged, BoardDeleted
from ballast_tui.formatting import wrapped
from ballast_tui.screens.dialogs import ConfirmDialog, PromptDialog
from ballast_tui.screens.grant_dialog import GrantDialog
from ballast_tui.screens.heading import heading
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.footer import Footer


class ShareScreen(UsesBackend, Screen[None]):
    """Visibility, the public link, the people with access, and ownership."""

    CSS_PATH = "share.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("p", "publish", "Publish"),
        Binding("c", "copy_link", "Copy"),
        Binding("u", "unpublish", "Unpublish"),
        Binding("x", "toggle_downloads", "CSV downloads"),
        Binding("e", "embed_origins", "Embedding"),
        Binding("g", "grant", "Grant"),
        Binding("d", "revoke", "Revoke"),
        Binding("o", "transfer", "Transfer"),
        Binding("k", "tokens", "Your tokens"),
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
        yield Static(id="public-url-warning")
        yield Static(id="public-options")
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

    def action_tokens(self) -> None:
        from ballast_tui.screens.tokens import TokensScreen

        self.app.push_screen(TokensScreen())

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
        self.query_one("#share-title", Static).update(heading("Share", d["title"], you))
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
            url.update(Text(d["publicUrl"]))
            url.border_subtitle = "c copies it"
        else:
            url.update("[dim]Not published. Press p to publish a read-only link.[/dim]")
            url.border_subtitle = ""
        warning = self.query_one("#public-url-warning", Static)
        warning.update(Text(d.get("publicUrlWarning") or ""))
        warning.display = bool(d.get("publicUrlWarning"))
        self.query_one("#public-options", Static).update(options_text(d.get("publicOptions") or {}))
        table = self.query_one("#grants", DataTable)
        selected = self.selected_grant()
        table.clear()
        owner_id = d["owner_id"]
        table.add_row(
            Text(self.names.get(owner_id, "you" if owner_id == self.backend.session.user_id else owner_id)),
            self.kinds.get(owner_id, ""),
            "owner",
            key=owner_id,
        )
        for grant in self.grants:
            table.add_row(
                Text(grant["name"]), self.kinds.get(grant["user_id"], ""), grant["role"], key=grant["user_id"]
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
        if not self.dashboard["slug"]:
            question = "Password for the link, or leave empty for none"
        elif self.dashboard.get("passwordProtected"):
            question = "New password for the link, or leave empty to remove it (escape keeps it)"
        else:
            question = "Password for the link, or leave empty for none (a password gives it a new link)"
        password = await self.app.push_screen_wait(PromptDialog(wrapped(question), password=True))
        if password is None:
            return
        # Always sent: "" removes a password, as the empty answer says.
        answer = await self.call("dashboard_publish", dashboard_id=self.dashboard_id, password=password)
        if answer is None:
            return
        await self.reload()
        protected = " (password protected)" if password else ""
        warning = answer.get("publicUrlWarning")
        said = f"{answer['publicUrl']}\nPress c to copy it." + (f"\n{warning}" if warning else "")
        title = f"Published{protected}"
        self.notify(said, title=title, severity="warning" if warning else "information", markup=False)

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
    async def action_toggle_downloads(self) -> None:
        if not await self.reload() or not self.may(self.role, "manage"):
            return
        wanted = not self.dashboard["publicOptions"]["downloads"]
        answer = await self.call(
            "dashboard_set_public_options", dashboard_id=self.dashboard_id, downloads=wanted
        )
        if answer is not None:
            await self.reload()
            said = "The page links each table and chart's data as CSV." if wanted else "No CSV on the page."
            self.notify(said, title=f"CSV downloads {'on' if wanted else 'off'}")

    @work(group="share-action")
    async def action_embed_origins(self) -> None:
        if not await self.reload() or not self.may(self.role, "manage"):
            return
        current = " ".join(self.dashboard["publicOptions"]["embed_origins"])
        typed = await self.app.push_screen_wait(
            PromptDialog(
                wrapped(
                    "Sites allowed to show the page in a frame, e.g. https://wiki.example.com "
                    "(separate them with spaces; leave empty for none)"
                ),
                value=current,
                placeholder="https://host[:port] …",
            )
        )
        if typed is None:
            return
        origins = typed.replace(",", " ").split()
        answer = await self.call(
            "dashboard_set_public_options", dashboard_id=self.dashboard_id, embed_origins=origins
        )
        if answer is not None:
            await self.reload()
            listed = ", ".join(answer["embed_origins"])
            self.notify(listed or "No site may frame the page.", title="Embedding")

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


def options_text(options: dict[str, Any]) -> Text:
    """The link's options in a line: CSV downloads on or off, and the sites that may frame it."""
    origins = options.get("embed_origins") or []
    text = Text("CSV downloads: ")
    text.append("on" if options.get("downloads") else "off", style="bold")
    text.append("  (x)", style="dim")
    text.append(" · Embedding: ")
    if origins:
        text.append(", ".join(origins), style="bold")
    else:
        text.append("no site", style="bold")
    text.append("  (e)", style="dim")
    return text
