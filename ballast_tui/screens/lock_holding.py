"""A screen that holds a block's edit lock for as long as it is open (CONTRACT §6).

It takes the lock on opening, renews it with a heartbeat, and gives it back
however it closes. When the lock is refused (someone else holds it, or the
person may only view) or lapses to someone else, the screen goes read-only and
says why in its `#lock-status` line, which the screen composes.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from rich.text import Text
from textual import work
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static

from ballast_tui.engine.errors import Locked, ToolError
from ballast_tui.widgets.backend_access import UsesBackend

HEARTBEAT_S = 10.0  # the lock lapses after 30 s without one (CONTRACT §6)


def lock_holder(error: ToolError) -> str:
    """Who holds the lock a `Locked` refusal is about, as a person reads it."""
    lock = error.extra.get("lock") or {}
    holder = lock.get("holder") or {}
    name = holder.get("name")
    if not name:
        return error.message
    notes = ["agent"] if holder.get("kind") == "agent" else []
    if lock.get("session"):
        notes.append(f"session {lock['session']}")
    return f"{name} ({', '.join(notes)})" if notes else str(name)


class LockHoldingScreen(UsesBackend, Screen[dict[str, Any] | None]):
    """Holds the lock of `block` on `dashboard_id` while open; dismissed with a result or None."""

    def __init__(self, dashboard_id: str, block: dict[str, Any]) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.block = block
        self.read_only = False
        self.holds_lock = False
        self._heartbeat: Timer | None = None
        self._released = False

    async def take_lock(self) -> bool:
        """Open the block for editing (take its lock); read-only, saying why, when refused."""
        try:
            await self.backend.call("block_open", dashboard_id=self.dashboard_id, block_id=self.block["id"])
        except Locked as error:
            self.set_read_only(
                f"Read-only: {lock_holder(error)} is editing this block. "
                "Saving is off until they close it (ctrl+l tries again)."
            )
            return False
        except ToolError as error:  # e.g. forbidden: a viewer looks, and cannot change anything
            self.set_read_only(f"Read-only: {error.message}")
            return False
        self.holds_lock = True
        if self._released:  # the editor closed while the lock was being taken
            await self.release_lock()
            return False
        if self._heartbeat is None:
            self._heartbeat = self.set_interval(HEARTBEAT_S, self.keep_lock)
        if self.read_only:
            self.read_only = False
            self.apply_read_only()
        self.query_one("#lock-status", Static).update(
            Text("You hold the lock: no one else can change this block while you edit.", style="dim")
        )
        self.query_one("#lock-status").set_class(False, "-read-only")
        self.refresh_bindings()
        return True

    def set_read_only(self, why: str) -> None:
        """Stop holding the lock and go read-only, saying `why` in the lock status line."""
        self.holds_lock = False
        self.read_only = True
        status = self.query_one("#lock-status", Static)
        status.update(Text(why))
        status.set_class(True, "-read-only")
        self.apply_read_only()
        self.refresh_bindings()

    def apply_read_only(self) -> None:
        """Let the person change the fields, or only look, as `read_only` says (the screen's fields)."""

    @work(group="editor-heartbeat", exclusive=True)
    async def keep_lock(self) -> None:
        """Renew the lock while the editor is open (a heartbeat)."""
        if not self.holds_lock:
            return
        try:
            await self.backend.call("block_open", dashboard_id=self.dashboard_id, block_id=self.block["id"])
        except Locked as error:
            self.set_read_only(
                f"Read-only: the lock lapsed and {lock_holder(error)} took it. "
                "Your draft is still here; saving is off (ctrl+l tries again)."
            )
        except ToolError:
            return  # e.g. the block went: the next save says so

    @work(group="editor-lock", exclusive=True)
    async def action_take_lock(self) -> None:
        """Try again to take the lock (ctrl+l when read-only)."""
        if await self.take_lock():
            self.notify("You hold the lock now: saving is on.")

    async def release_lock(self) -> None:
        """Give the lock back (block_close releases only what this session holds)."""
        self._released = True
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        self.holds_lock = False
        with suppress(ToolError):
            await self.backend.call("block_close", dashboard_id=self.dashboard_id, block_id=self.block["id"])

    async def close_editor(self, result: dict[str, Any] | None = None) -> None:
        """Release the lock and leave."""
        await self.release_lock()
        if self.is_current:
            self.dismiss(result)

    async def on_unmount(self) -> None:
        if not self._released:  # closed some other way (the board went, the app quit)
            await self.release_lock()
