"""The TUI's seam: one Backend protocol, whichever way the tools are reached.

Screens and widgets know only `Backend`: `call(tool, **args)` answers the
tool's dict or raises the same `ToolError` the engine raises; `events(board)`
is an async iterator of the board's events; `session` says who we are.
`LocalBackend` calls the registry in-process (on its thread pool, never on the
UI loop) and subscribes to the bus directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ballast_tui.engine.events import Event
from ballast_tui.engine.ids import random_base36
from ballast_tui.engine.sessions import announce_released
from ballast_tui.engine.users import User
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Context, Registry, load_registry

HEARTBEAT_S = 10.0


@dataclass(frozen=True)
class SessionInfo:
    """Who this app is, as the others see it."""

    session_id: str
    user_id: str
    user_name: str
    kind: str
    where: str


class Backend(Protocol):
    """What the app needs of the tools, wherever they run."""

    session: SessionInfo

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """Run a tool; its answer, or the ToolError it refused with."""
        ...

    def events(self, dashboard_id: str) -> AsyncIterator[Event]:
        """The board's events, as they happen."""
        ...

    async def export(self, dashboard_id: str, block_id: str, fmt: str, target: Path) -> int:
        """Write a block's whole output to `target`; the number of rows."""
        ...

    async def close(self) -> None:
        """Leave: release locks and presence."""
        ...


class LocalBackend:
    """The registry in-process, and the workspace's bus."""

    def __init__(self, ws: Workspace, user: User, registry: Registry | None = None) -> None:
        self.ws = ws
        self.user = user
        self.registry = registry or load_registry()
        self.session = SessionInfo(
            f"tui-{random_base36(10)}", user.id, user.name, user.kind, ws.paths.root.name
        )
        self._context = Context(ws, user, self.session.session_id, client="tui")

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        return await self.registry.acall(self._context, tool, arguments)

    async def events(self, dashboard_id: str) -> AsyncIterator[Event]:
        """The board's events; while followed, this app is a session in the board's presence."""
        key = self._context.session_key
        sessions = self.ws.sessions
        sessions.ensure(key, self.user.id, self.user.name, self.user.kind, "tui")
        sessions.join(key, dashboard_id)
        self.ws.bus.publish(dashboard_id, "presence", sessions=sessions.presence(dashboard_id))
        beat = asyncio.create_task(self._heartbeat(key))
        try:
            async for event in self.ws.bus.stream(dashboard_id):
                yield event
        finally:
            beat.cancel()
            sessions.join(key, "")
            self.ws.bus.publish(dashboard_id, "presence", sessions=sessions.presence(dashboard_id))

    async def _heartbeat(self, key: str) -> None:
        """Keep this session's locks: a session silent past the timeout loses them."""
        while True:
            self.ws.sessions.heartbeat(key)
            await asyncio.sleep(HEARTBEAT_S)

    async def export(self, dashboard_id: str, block_id: str, fmt: str, target: Path) -> int:
        from ballast_tui.tools.exports import export_block

        def write() -> int:
            with open(target, "wb") as sink:
                return export_block(self._context, dashboard_id, block_id, fmt, sink)

        return await asyncio.get_running_loop().run_in_executor(None, write)

    async def close(self) -> None:
        announce_released(self.ws.bus, self.ws.sessions.leave(self._context.session_key))
