"""Board versions: every change to a board's definition is a numbered version, kept forever.

A board's definition is what people made of it, not its data: its title, its
blocks (name, type, config, shown or not, a control's stored value), its
layout and its refresh settings. Each change that touches it (recorded in the
audit by `engine.changes.record`, inside the change's own transaction) also
stores the definition as it now is, as the board's next version, with who,
when, and a one-line summary ("alice changed SQL of daily"). A restore makes a
new version equal to an earlier one; nothing is ever removed from the history
while the board exists.
"""

from __future__ import annotations

import json
from typing import Any

from ballast_tui.storage import repos
from ballast_tui.storage.connection import Connection
from ballast_tui.storage.db import dumps, loads, utcnow

Row = dict[str, Any]

VERSIONED_ACTIONS = frozenset(
    {
        "create",
        "clone",
        "save",
        "block_add",
        "block_update",
        "block_delete",
        "block_displayed",
        "control_set",
        "layout_set",
        "layout_move",
        "layout_resize",
        "source_rename",
        "refresh_settings",
        "restore",
    }
)
"""Audited actions that change a board's definition, and so make a version."""


def snapshot(tx: Connection, board_id: str, actor: str | None, summary: str) -> int:
    """Store the board's definition as its next version; the version's number."""
    row = tx.execute("SELECT coalesce(max(number), 0) + 1 FROM board_versions WHERE board_id = ?", [board_id])
    number = int(row.fetchone()[0])
    tx.execute(
        "INSERT INTO board_versions (board_id, number, actor, at, summary, definition) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [board_id, number, actor, utcnow(), summary, dumps(repos.board_definition(tx, board_id))],
    )
    return number


def summary_of(actor_name: str, action: str, target: str | None, details: Row) -> str:
    """A one-line summary of a change, for people ("alice changed SQL of daily")."""
    name = details.get("name") or target or ""
    previous: Row = details["previous"] if isinstance(details.get("previous"), dict) else {}
    if action == "block_update":
        before = previous.get("config") or {}
        after = details.get("config") or {}
        if previous.get("name") and previous.get("name") != name:
            what = f"renamed {previous['name']} to {name}"
        elif before.get("sql") != after.get("sql") and "sql" in after:
            what = f"changed SQL of {name}"
        else:
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            what = f"changed {', '.join(changed) or 'the config'} of {name}"
    elif action == "control_set":
        what = f"set {name} to {json.dumps(details.get('value'), default=str)}"
    elif action == "block_displayed":
        what = f"{'showed' if details.get('displayed') else 'hid'} {details.get('name') or target}"
    elif action == "source_rename":
        what = f"renamed source {target} to {details.get('new_name')}"
    elif action == "restore":
        what = f"restored version {details.get('version')}"
    else:
        what = {
            "create": "created the board",
            "clone": "made this board as a copy",
            "save": "saved the conversation as this dashboard",
            "block_add": f"added {details.get('type', 'a')} block {name}",
            "block_delete": f"deleted {name}",
            "layout_set": "changed the layout",
            "layout_move": f"moved {name}",
            "layout_resize": f"resized {name}",
            "refresh_settings": "changed the auto-refresh settings",
        }.get(action, action.replace("_", " "))
    return f"{actor_name} {what}"


def versions(db: Any, board_id: str, limit: int) -> list[Row]:
    """A board's versions, newest first (without their definitions), each naming its actor."""
    rows: list[Row] = db.rows(
        "SELECT v.number, v.actor, u.name AS actor_name, v.at, v.summary FROM board_versions v "
        "LEFT JOIN users u ON u.id = v.actor WHERE v.board_id = ? ORDER BY v.number DESC LIMIT ?",
        [board_id, limit],
    )
    return rows


def version(db: Any, board_id: str, number: int) -> Row | None:
    """One version of a board, with its definition; None when the board has no such version."""
    row: Row | None = db.row(
        "SELECT number, actor, at, summary, definition FROM board_versions WHERE board_id = ? AND number = ?",
        [board_id, number],
    )
    if row is not None:
        row["definition"] = loads(row["definition"], {})
    return row


def diff(before: Row, after: Row) -> Row:
    """What changed from one definition to another: blocks added, removed and changed (config before
    and after, and what else moved), the layout, the title and the settings."""
    old = {b["id"]: b for b in before["blocks"]}
    new = {b["id"]: b for b in after["blocks"]}
    changed = []
    for block_id in [i for i in new if i in old]:
        a, b = old[block_id], new[block_id]
        fields = [k for k in ("name", "config", "displayed", "value") if a.get(k) != b.get(k)]
        if fields:
            changed.append(
                {
                    "id": block_id,
                    "name": b["name"],
                    "type": b["type"],
                    "fields": fields,
                    "before": {k: a.get(k) for k in fields},
                    "after": {k: b.get(k) for k in fields},
                }
            )
    return {
        "added": [new[i] for i in new if i not in old],
        "removed": [old[i] for i in old if i not in new],
        "changed": changed,
        "layout": None
        if before["layout"] == after["layout"]
        else {"before": before["layout"], "after": after["layout"]},
        "title": None
        if before["title"] == after["title"]
        else {"before": before["title"], "after": after["title"]},
        "settings": None
        if before["settings"] == after["settings"]
        else {"before": before["settings"], "after": after["settings"]},
    }
