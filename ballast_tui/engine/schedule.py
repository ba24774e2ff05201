"""Which dashboards are due for a scheduled refresh (the server's scheduler asks every tick).

"Due" comes from ``last_refreshed_at`` in the database, so a server stopped
and started again picks the schedule up where it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ballast_tui.engine.workspace import Workspace


@dataclass(frozen=True)
class DueBoard:
    """A board the schedule says should refresh now."""

    id: str
    owner_id: str
    interval_s: float


def _parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 timestamp from the database, as an aware UTC datetime (None if absent or unreadable)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def due_boards(ws: Workspace, now: datetime | None = None) -> list[DueBoard]:
    """Boards with auto-refresh on whose interval (times the time scale) has passed, oldest first."""
    now = now or datetime.now(UTC)
    scale = ws.settings.refresh_time_scale
    due: list[tuple[datetime, DueBoard]] = []
    rows = ws.db.rows(
        "SELECT id, owner_id, refresh_interval, last_refreshed_at FROM boards "
        "WHERE refresh_enabled = 1 ORDER BY id"
    )
    for row in rows:
        interval = max(0.0, float(row["refresh_interval"]) * scale)
        last = _parse_time(row["last_refreshed_at"])
        if last is None or last + timedelta(seconds=interval) <= now:
            board = DueBoard(row["id"], row["owner_id"], interval)
            due.append((last or datetime.min.replace(tzinfo=UTC), board))
    due.sort(key=lambda item: item[0])
    return [board for _, board in due]
