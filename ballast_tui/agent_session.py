"""One agent's session, whatever carries it (MCP over stdio or HTTP): its working board, its
conversation, its presence, and compact answers.

An `AgentSession` runs registry tools through a `Caller`: `LocalCaller` calls the registry of a
workspace open in this process (the `ballast mcp` that starts the engine itself, and the server's
own `/mcp`); the MCP module has one that goes through a running server. Nothing here imports a
transport.

- Working board: a tool's board argument (`dashboard_id`, or `conversation_id` for conversation
  tools) may be left out; the session then uses the board it last named or created, else a
  conversation of its own, created on first need. Owner-only tools always need it named.
- Presence: the session is present (as a session of kind `agent`) in its working board.
- Compact answers: data rows are cut to a few (with `row_count` the total), long message logs to
  the newest, and reads default to small pages.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from ballast_tui.agent_docs import EXPLICIT_BOARD
from ballast_tui.engine.sessions import AGENT_CLIENT, announce_released
from ballast_tui.engine.users import User
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Context, Registry, load_registry

AGENT_ROWS = 25
"""Rows an answer carries at most, unless the agent asked for a page of its own size."""
AGENT_POINTS = 60
"""Points per chart series when the agent does not say (`max_points`)."""
AGENT_MESSAGES = 20
"""Newest messages of a conversation's log shown by `dashboard_get`."""
AGENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "dashboard_block_data": {"limit": AGENT_ROWS, "max_points": AGENT_POINTS},
    "dashboard_audit": {"limit": 20},
    "dashboard_runs": {"limit": 10},
}
HEARTBEAT_S = 10.0


class Caller(Protocol):
    """How an agent session reaches the tools, and shows itself to the others."""

    @property
    def user_name(self) -> str:
        """The name of the user the session acts as."""
        ...

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run a tool; its answer, or the `ToolError` it refused with."""
        ...

    async def follow(self, board_id: str | None) -> None:
        """Be present in `board_id` (nowhere, for None)."""
        ...

    async def close(self) -> None:
        """Leave: presence and locks go."""
        ...


def board_argument(registry: Registry, tool: str) -> str | None:
    """The argument naming the board a tool works on, if it takes one."""
    fields = registry.get(tool).args.model_fields
    return next((key for key in ("dashboard_id", "conversation_id") if key in fields), None)


class AgentSession:
    """The state one MCP session keeps between tool calls."""

    def __init__(self, caller: Caller, registry: Registry | None = None) -> None:
        self.caller = caller
        self.registry = registry or load_registry()
        self.board_id: str | None = None
        self.conversation_id: str | None = None
        self.last_active = time.monotonic()
        self._creating = asyncio.Lock()

    async def run(self, tool: str, arguments: dict[str, Any] | None) -> dict[str, Any]:
        """Run `tool` with the session's defaults filled in; the compact answer, or a `ToolError`."""
        self.last_active = time.monotonic()
        key = board_argument(self.registry, tool)  # NotFound for an unknown tool
        args = {**AGENT_DEFAULTS.get(tool, {}), **(arguments or {})}
        if key is not None and key not in args and tool not in EXPLICIT_BOARD:
            args[key] = await (self.conversation() if key == "conversation_id" else self.working_board())
        answer = await self.caller.call(tool, args)
        await self._learn(tool, key, args, answer)
        self.last_active = time.monotonic()
        return compact(tool, args, answer)

    async def working_board(self) -> str:
        """The board calls without a board argument go to."""
        return self.board_id or await self.conversation()

    async def conversation(self) -> str:
        """This session's conversation, created on first need."""
        async with self._creating:
            if self.conversation_id is None:
                title = f"Conversation with {self.caller.user_name}"
                answer = await self.caller.call("conversation_create", {"title": title})
                self.conversation_id = str(answer["conversation"]["id"])
                if self.board_id is None:
                    await self._work_in(self.conversation_id)
            return self.conversation_id

    async def _learn(self, tool: str, key: str | None, args: dict[str, Any], answer: dict[str, Any]) -> None:
        """Follow the board a call named or created; forget a deleted one."""
        if tool == "dashboard_delete":
            deleted = answer.get("deleted")
            if deleted == self.conversation_id:
                self.conversation_id = None
            if deleted == self.board_id:
                self.board_id = None
                await self.caller.follow(None)
            return
        created = {"conversation_create": "conversation", "dashboard_create": "dashboard"}.get(tool)
        target = answer[created]["id"] if created else args.get(key) if key else None
        if isinstance(target, str):
            if target.startswith("conv_"):
                self.conversation_id = target
            await self._work_in(target)

    async def _work_in(self, board_id: str) -> None:
        if board_id != self.board_id:
            self.board_id = board_id
            await self.caller.follow(board_id)

    async def close(self) -> None:
        """The session ended: it leaves presence and its locks go."""
        await self.caller.close()


def compact(tool: str, args: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The answer with data rows cut to a few (counts kept) and a long message log to its newest."""
    cap = int(args.get("limit", AGENT_ROWS)) if tool == "dashboard_block_data" else AGENT_ROWS
    compacted: dict[str, Any] = _cut_rows(answer, cap)
    dashboard = compacted.get("dashboard")
    if isinstance(dashboard, dict) and len(dashboard.get("messages") or []) > AGENT_MESSAGES:
        messages = dashboard["messages"]
        compacted["dashboard"] = {
            **dashboard,
            "messages": messages[-AGENT_MESSAGES:],
            "messages_shown": AGENT_MESSAGES,
            "message_count": len(messages),
        }
    return compacted


def _cut_rows(value: Any, cap: int) -> Any:
    """Cut every output's `rows` (a dict holding `columns` and `rows`) to `cap`, saying so."""
    if isinstance(value, list):
        return [_cut_rows(item, cap) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: _cut_rows(item, cap) for key, item in value.items()}
    rows = out.get("rows")
    if "columns" in out and isinstance(rows, list) and len(rows) > cap:
        total = out.get("row_count", len(rows))
        out["rows"] = rows[:cap]
        out["rows_shown"] = cap
        out["rows_note"] = (
            f"first {cap} of {total} rows; read more of a block's output with dashboard_block_data "
            "(limit, offset)"
        )
    return out


class LocalCaller:
    """Tools of a workspace open in this process, as a session of kind `agent`.

    With `heartbeat_s`, a background task keeps the session's locks while it lives (a stdio
    agent: its process is the session). Without, every call counts as a heartbeat and the owner
    calls `heartbeat`/`away` (the HTTP server, which cannot see a remote agent go).
    """

    def __init__(
        self,
        ws: Workspace,
        user: User,
        session_id: str,
        registry: Registry | None = None,
        heartbeat_s: float | None = None,
    ) -> None:
        self.ws = ws
        self.user = user
        self.context = Context(ws, user, session_id, client=AGENT_CLIENT)
        self.registry = registry or load_registry()
        self.board_id: str | None = None
        self.present = False
        self._heartbeat_s = heartbeat_s
        self._beat: asyncio.Task[None] | None = None

    @property
    def user_name(self) -> str:
        return self.user.name

    @property
    def key(self) -> str:
        """The session's key in the workspace's `Sessions` (the holder of its locks)."""
        return self.context.session_key

    def _ensure(self) -> None:
        self.ws.sessions.ensure(self.key, self.user.id, self.user.name, self.user.kind, AGENT_CLIENT)
        if self._heartbeat_s is not None and self._beat is None:
            self._beat = asyncio.create_task(self._beats(self._heartbeat_s))

    async def _beats(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            self.ws.sessions.heartbeat(self.key)

    def _announce(self, board_id: str) -> None:
        self.ws.bus.publish(board_id, "presence", sessions=self.ws.sessions.presence(board_id))

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        self._ensure()  # a heartbeat; brings back a session that went quiet
        if not self.present and self.board_id is not None:
            await self.follow(self.board_id)
        return await self.registry.acall(self.context, tool, arguments)

    async def follow(self, board_id: str | None) -> None:
        previous, self.board_id = self.board_id, board_id
        self._ensure()
        self.ws.sessions.join(self.key, board_id or "")
        self.present = board_id is not None
        for board in dict.fromkeys([previous, board_id]):
            if board is not None:
                self._announce(board)

    def heartbeat(self) -> None:
        """Keep the session's locks a while longer."""
        self.ws.sessions.heartbeat(self.key)

    async def away(self) -> None:
        """Leave presence and release the session's locks (it may come back with its next call)."""
        announce_released(self.ws.bus, self.ws.sessions.leave(self.key))
        if self.present and self.board_id is not None:
            self._announce(self.board_id)
        self.present = False

    async def close(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            self._beat = None
        await self.away()
