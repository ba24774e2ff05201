"""One agent's session, whatever carries it (MCP over stdio or HTTP): its working board, its
conversation, its presence, and compact answers.

An `AgentSession` runs registry tools through a `Backend` (`ballast_tui.backend`): the local one
on a workspace open in this process (the `ballast mcp` that starts the engine itself, and the
server's own `/mcp`), or the remote one through a running server. Nothing here imports a
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
from typing import Any

from ballast_tui.backend import Backend
from ballast_tui.engine.errors import ToolError
from ballast_tui.tools.registry import Registry, load_registry

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


class AgentSession:
    """The state one MCP session keeps between tool calls."""

    def __init__(self, backend: Backend, registry: Registry | None = None) -> None:
        self.backend = backend
        self.registry = registry or load_registry()
        self.board_id: str | None = None
        self.conversation_id: str | None = None
        self.present = False
        self.last_active = time.monotonic()
        self._creating = asyncio.Lock()

    async def run(self, tool: str, arguments: dict[str, Any] | None) -> dict[str, Any]:
        """Run `tool` with the session's defaults filled in; the compact answer, or a `ToolError`."""
        self.last_active = time.monotonic()
        declared = self.registry.get(tool)  # NotFound for an unknown tool
        key = declared.board_argument
        args = {**AGENT_DEFAULTS.get(tool, {}), **(arguments or {})}
        if key is not None and key not in args and not declared.explicit_board:
            args[key] = await (self.conversation() if key == "conversation_id" else self.working_board())
        if not self.present and self.board_id is not None:
            await self._present_in(self.board_id)
        answer = await self.backend.call(tool, **args)
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
                title = f"Conversation with {self.backend.session.user_name}"
                answer = await self.backend.call("conversation_create", title=title)
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
                await self._present_in(None)
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
            await self._present_in(board_id)

    async def _present_in(self, board_id: str | None) -> None:
        try:
            await self.backend.follow(board_id)
        except ToolError:
            board_id = None  # a board it may not see (any more): it works there through tools alone
        self.present = board_id is not None

    async def away(self) -> None:
        """The agent went quiet: it leaves presence and its locks go (its next call brings it back)."""
        await self.backend.close()
        self.present = False

    async def close(self) -> None:
        """The session ended: it leaves presence and its locks go."""
        await self.backend.close()


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
