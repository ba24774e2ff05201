"""How times and numbers read in the terminal."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime


def age(iso: str | None, now: datetime | None = None) -> str:
    """'just now', '5m ago', '3h ago', '2d ago' for an ISO timestamp; 'never' for None."""
    if not iso:
        return "never"
    then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    seconds = int(((now or datetime.now(UTC)) - then).total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def who(name: str, kind: str | None = None, created_by: str | None = None) -> str:
    """A person's name as is; an agent's marked as one, with whose agent it is when known:
    'alice', 'claude (agent)', 'claude (agent of alice)'."""
    if kind != "agent":
        return name
    return f"{name} (agent of {created_by})" if created_by else f"{name} (agent)"


def wrapped(text: str, width: int = 54) -> str:
    """Text broken into lines that fit the app's 60-column dialogs."""
    return "\n".join(textwrap.wrap(text, width))
