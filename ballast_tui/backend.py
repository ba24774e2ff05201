"""The seam between a client and the tools: one Backend protocol, whichever way they are reached.

Screens, widgets, the command line and agent sessions know only `Backend`:
`call(tool, **args)` answers the tool's dict or raises the same `ToolError` the
engine raises; `events(board)` is an async iterator of the board's typed
events; `follow(board)` makes the session present in a board without reading
its events (an agent); `session` says who we are.

`LocalBackend` calls the registry in-process (on its thread pool, never on the
UI loop) and is one `LiveSession` of the workspace. `RemoteBackend`
(`ballast_tui.remote`) reaches a server over HTTP and its WebSocket.
`ballast_tui.opening.open_backend` picks one.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ballast_tui.engine.errors import ToolError
from ballast_tui.engine.events import AccessLost, Event, Reload
from ballast_tui.engine.ids import random_base36
from ballast_tui.engine.live import LiveSession
from ballast_tui.engine.users import User
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Context, Registry, load_registry

if TYPE_CHECKING:
    from ballast_tui.engine.staging import Progress

HEARTBEAT_S = 10.0
EVENT_QUEUE = 10_000
"""Events waiting for a screen at most; past that, the screen is told to reload instead."""


@dataclass(frozen=True)
class SessionInfo:
    """Who this client is, as the others see it."""

    session_id: str
    user_id: str
    user_name: str
    kind: str
    where: str


class Backend(Protocol):
    """What a client needs of the tools, wherever they run."""

    session: SessionInfo

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """Run a tool; its answer, or the ToolError it refused with."""
        ...

    def events(self, dashboard_id: str) -> AsyncIterator[Event]:
        """The board's events, as they happen (ending after an `AccessLost`)."""
        ...

    async def follow(self, dashboard_id: str | None) -> None:
        """Be present in `dashboard_id` (nowhere, for None) without reading its events."""
        ...

    def heartbeat(self) -> None:
        """Keep this session's locks a while longer."""
        ...

    async def export(self, dashboard_id: str, block_id: str, fmt: str, target: Path) -> int:
        """Write a block's whole output to `target`; the number of rows."""
        ...

    async def import_file(
        self,
        dashboard_id: str,
        path: Path,
        name: str,
        fmt: str,
        progress: Progress | None = None,
        sheet: str | None = None,
    ) -> dict[str, Any]:
        """Import a file of this machine as source `name` (streamed, never whole in memory; `sheet`:
        which sheet of a workbook): `catalog_import`'s answer. Its errors name `path` as given."""
        ...

    async def close(self) -> None:
        """Leave: release locks and presence."""
        ...


def export_to_file(
    registry: Registry, ctx: Context, arguments: dict[str, Any], target: Path
) -> dict[str, Any]:
    """Run the `export_block` tool into `target`: written beside it and renamed over it only once the
    export succeeded, so a refused or failed export leaves an existing file untouched."""
    from ballast_tui.engine.exports import FileSink

    sink = FileSink(target)
    exporting = dataclasses.replace(ctx, export_sink=sink)
    try:
        answer = registry.call(exporting, "export_block", arguments)
        sink.commit()
        return answer
    finally:
        sink.discard()


async def import_staged(
    backend: Backend,
    imports: Path,
    dashboard_id: str,
    path: Path,
    name: str,
    fmt: str,
    progress: Progress | None,
    sheet: str | None = None,
) -> dict[str, Any]:
    """Copy `path` into the workspace's import directory `imports` and import it from there; errors
    name `path` as given, never the staged copy."""
    from ballast_tui.engine.staging import renamed_in, stage_copy

    staged = await asyncio.to_thread(stage_copy, path, imports, progress)
    arguments: dict[str, Any] = {
        "dashboard_id": dashboard_id,
        "name": name,
        "format": fmt,
        "path": staged.name,
    }
    if sheet is not None:
        arguments["sheet"] = sheet
    try:
        return await backend.call("catalog_import", **arguments)
    except ToolError as error:
        raise renamed_in(error, staged.name, str(path)) from None
    finally:
        staged.unlink(missing_ok=True)


class LocalBackend:
    """The registry in-process; this client is one `LiveSession` of the workspace."""

    def __init__(
        self,
        ws: Workspace,
        user: User,
        registry: Registry | None = None,
        *,
        client: str = "tui",
        session_id: str | None = None,
    ) -> None:
        self.ws = ws
        self.user = user
        self.registry = registry or load_registry()
        self.session = SessionInfo(
            session_id or f"{client}-{random_base36(10)}", user.id, user.name, user.kind, ws.paths.root.name
        )
        self.live = LiveSession(ws, user, self.session.session_id, client, self._fan_out)
        self._listeners: dict[str, list[Callable[[Event], None]]] = {}

    @property
    def context(self) -> Context:
        return self.live.context

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        return await self.registry.acall(self.live.context, tool, arguments)

    def _fan_out(self, event: Event) -> None:
        for listener in list(self._listeners.get(event.dashboard_id, ())):
            listener(event)

    async def events(self, dashboard_id: str) -> AsyncIterator[Event]:
        """The board's events; while followed, this client is in the board's presence."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue(EVENT_QUEUE)

        def offer(event: Event) -> None:
            if queue.full():  # the screen fell far behind: tell it to read the board again
                while not queue.empty():
                    queue.get_nowait()
                event = Reload(dashboard_id=dashboard_id)
            queue.put_nowait(event)

        def listen(event: Event) -> None:
            loop.call_soon_threadsafe(offer, event)

        listeners = self._listeners.setdefault(dashboard_id, [])
        listeners.append(listen)
        beat = asyncio.create_task(self._heartbeat())
        try:
            if self.live.board_id != dashboard_id:
                await asyncio.to_thread(self.live.join, dashboard_id)
            self.live.release()
            while True:
                event = await queue.get()
                yield event
                if isinstance(event, AccessLost):
                    return
        finally:
            beat.cancel()
            listeners.remove(listen)
            if not listeners:
                del self._listeners[dashboard_id]
                if self.live.board_id == dashboard_id:
                    await asyncio.to_thread(self.live.leave)

    async def follow(self, dashboard_id: str | None) -> None:
        if dashboard_id is None:
            await asyncio.to_thread(self.live.leave)
        elif self.live.board_id != dashboard_id:
            await asyncio.to_thread(self.live.join, dashboard_id)
            self.live.release()

    def heartbeat(self) -> None:
        """Keep this session's locks a while longer."""
        self.live.heartbeat()

    async def _heartbeat(self) -> None:
        """Keep this session's locks: a session silent past the timeout loses them."""
        while True:
            self.live.heartbeat()
            await asyncio.sleep(HEARTBEAT_S)

    async def export(self, dashboard_id: str, block_id: str, fmt: str, target: Path) -> int:
        def write() -> int:
            arguments = {"dashboard_id": dashboard_id, "block_id": block_id, "format": fmt}
            return int(export_to_file(self.registry, self.live.context, arguments, target)["row_count"])

        return await asyncio.get_running_loop().run_in_executor(None, write)

    async def import_file(
        self,
        dashboard_id: str,
        path: Path,
        name: str,
        fmt: str,
        progress: Progress | None = None,
        sheet: str | None = None,
    ) -> dict[str, Any]:
        imports = self.ws.paths.imports
        return await import_staged(self, imports, dashboard_id, path, name, fmt, progress, sheet)

    async def close(self) -> None:
        await asyncio.to_thread(self.live.close)
