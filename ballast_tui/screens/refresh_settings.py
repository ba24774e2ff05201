"""A board's auto-refresh settings: on or off, how often, when it last refreshed; and refreshing now.

Changes are saved as soon as they are made; a refusal (a viewer) puts the
saved settings back.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Label, Select, Static, Switch

from ballast_tui.engine.events import BoardChanged, RunFinished
from ballast_tui.formatting import age
from ballast_tui.screens.heading import heading
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.footer import Footer

INTERVALS: list[tuple[str, int]] = [
    ("every 5 min", 300),
    ("every 15 min", 900),
    ("hourly", 3600),
    ("daily", 86400),
]


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
            heading("Auto-refresh", board["dashboard"]["title"], self.role or "")
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
