"""How times and numbers read in the terminal."""

from __future__ import annotations

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
