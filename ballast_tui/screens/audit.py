"""A board's audit log: every change, newest first; type to filter by action or actor."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static

from ballast_tui.engine.events import (
    BlockChanged,
    BoardChanged,
    BoardDeleted,
    ControlChanged,
    LayoutChanged,
    SourceChanged,
)
from ballast_tui.formatting import who
from ballast_tui.screens.heading import heading
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.footer import Footer

AUDIT_LIMIT = 1_000
CHANGE_EVENTS = (BlockChanged, LayoutChanged, ControlChanged, BoardChanged, SourceChanged, BoardDeleted)
SUMMARY_WIDTH = 60


def when(at: str, this_year: str | None = None) -> str:
    """'2026-11-23 15:00:36' for an ISO timestamp (UTC); without the year when it is `this_year`."""
    text = at.replace("T", " ")[:19]
    return text[5:] if this_year and text.startswith(this_year) else text


def actor(event: dict[str, Any]) -> str:
    """Who made a change: a person by name; an agent marked as one, with the person who created it."""
    created_by = event.get("actor_created_by") or {}
    return who(
        event.get("actor_name") or event.get("actor") or "", event.get("actor_kind"), created_by.get("name")
    )


def summarize(value: Any, names: dict[str, str] | None = None) -> str:
    """A short reading of one detail value: scalars as they are (ids by their names), collections
    by their size."""
    names = names or {}
    if isinstance(value, dict):
        if isinstance(value.get("rows"), list):
            return f"{len(value['rows'])} rows"
        return "{" + ", ".join(f"{k}: {summarize(v, names)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value) and len(value) <= 4:
            return "[" + ", ".join(summarize(v, names) for v in value) + "]"
        return f"{len(value)} items"
    if isinstance(value, str) and "\n" in value:
        value = value.split("\n", 1)[0] + " …"
    return names.get(value, str(value)) if isinstance(value, str) else str(value)


def summarize_details(details: dict[str, Any], names: dict[str, str] | None = None) -> str:
    """`key=value` pairs of an event's details, each value kept short."""
    text = ", ".join(f"{key}={summarize(value, names)}" for key, value in details.items())
    return text if len(text) <= SUMMARY_WIDTH else text[: SUMMARY_WIDTH - 1] + "…"


class AuditScreen(UsesBackend, Screen[None]):
    """Who changed what, when; the highlighted event's details in full below."""

    CSS_PATH = "audit.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back / clear filter"),
        Binding("slash", "filter", "Filter"),
        Binding("f5", "reload", "Reload"),
    ]

    def __init__(self, dashboard_id: str) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.events: list[dict[str, Any]] = []
        self.names: dict[str, str] = {}
        self.title_text = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="audit-title")
        yield Input(
            placeholder="/ type to filter by action or who…", id="filter", compact=True, select_on_focus=False
        )
        yield DataTable(id="events", cursor_type="row", zebra_stripes=True)
        yield Static(id="event-detail")
        yield Footer()

    async def on_mount(self) -> None:
        table = self.query_one("#events", DataTable)
        for label in ("When (UTC)", "Who", "Action", "Target", "Details"):
            table.add_column(label, key=label)
        table.focus()
        board = await self.call("dashboard_get", dashboard_id=self.dashboard_id)
        if board is None:
            self.dismiss()
            return
        dashboard = board["dashboard"]
        self.names = {b["id"]: b["name"] for b in dashboard["blocks"]}
        self.names[dashboard["id"]] = "board"
        self.title_text = dashboard["title"]
        await self.reload()
        self.follow_events()

    @work(group="events", exclusive=True)
    async def follow_events(self) -> None:
        """New changes appear at the top as they happen."""
        async for event in self.backend.events(self.dashboard_id):
            if isinstance(event, CHANGE_EVENTS):
                self.reload_later()

    @work(group="audit", exclusive=True)
    async def reload_later(self) -> None:
        await self.reload()

    async def reload(self) -> None:
        answer = await self.call("dashboard_audit", dashboard_id=self.dashboard_id, limit=AUDIT_LIMIT)
        if answer is None:
            return
        self.events = answer["events"]
        for event in self.events:
            if event["action"] == "grant" and "user" in event["details"]:
                self.names[event["target"]] = event["details"]["user"]
            elif event["action"] == "transfer" and "to" in event["details"]:
                self.names[event["target"]] = event["details"]["to"]
        self.refill()

    def shown(self) -> list[dict[str, Any]]:
        wanted = self.query_one("#filter", Input).value.strip().lower()
        return [
            e
            for e in self.events
            if not wanted or wanted in e["action"].lower() or wanted in actor(e).lower()
        ]

    def refill(self) -> None:
        table = self.query_one("#events", DataTable)
        table.clear()
        this_year = datetime.now(UTC).strftime("%Y")
        for event in self.shown():
            table.add_row(
                when(event["at"], this_year),
                Text(actor(event)),
                event["action"],
                Text(self.names.get(event["target"], event["target"] or "")),
                Text(summarize_details(event["details"], self.names)),
                key=event["id"],
            )
        self.query_one("#audit-title", Static).update(
            heading("Audit", self.title_text, f"{table.row_count} of {len(self.events)} events")
        )
        self.show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        table = self.query_one("#events", DataTable)
        detail = self.query_one("#event-detail", Static)
        if table.row_count == 0:
            detail.update("[dim]No events match.[/dim]" if self.events else "[dim]No changes yet.[/dim]")
            return
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        event = next((e for e in self.events if e["id"] == key.value), None)
        if event is None:
            return
        target = self.names.get(event["target"])
        detail.update(
            Text.assemble(
                (str(event["action"]), "bold"),
                f" by {actor(event)} at {when(event['at'])}",
                f" · target {event['target']}" + (f" ({target})" if target else ""),
                "\n" + json.dumps(event["details"], default=str, ensure_ascii=False),
            )
        )

    def on_input_changed(self, event: Input.Changed) -> None:
        self.refill()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#events", DataTable).focus()

    def on_key(self, event: events.Key) -> None:
        """Typing anywhere filters: a printable key on the list goes to the filter."""
        filter_input = self.query_one("#filter", Input)
        typed = event.is_printable and event.character and event.key != "slash"
        if typed and self.focused is not filter_input:
            filter_input.focus()
            filter_input.insert_text_at_cursor(event.character or "")
            event.stop()
            event.prevent_default()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_back(self) -> None:
        filter_input = self.query_one("#filter", Input)
        if filter_input.value:
            filter_input.value = ""
            self.query_one("#events", DataTable).focus()
        else:
            self.dismiss()

    async def action_reload(self) -> None:
        await self.reload()
