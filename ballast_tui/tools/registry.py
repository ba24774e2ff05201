"""The tool registry: the only way in, for HTTP, MCP and the TUI alike.

A tool is a name, a pydantic model of its arguments (unknown fields refused,
JSON Schema published) and a handler taking a `Context` and the parsed
arguments, returning a plain dict. Handlers are synchronous and do blocking
work (SQLite, DuckDB); `acall` runs them on a thread pool, never on a loop.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ballast_tui.engine.blocks import validation_refusal
from ballast_tui.engine.errors import InvalidRequest, NotFound
from ballast_tui.engine.executor import QueryError
from ballast_tui.engine.users import User
from ballast_tui.engine.workspace import Workspace


class Args(BaseModel):
    """Base of every tool's arguments: strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


A = TypeVar("A", bound=Args)
Handler = Callable[["Context", Any], dict[str, Any]]


@dataclass
class Context:
    """Who calls, from where, on which workspace."""

    ws: Workspace
    user: User
    session_id: str | None = None
    client: str = "api"

    @property
    def session_key(self) -> str:
        """The identity that holds locks: the user's session, else the user.

        Prefixed with the user id, so a session id someone else learned (presence
        lists them) never lets another user act as that session's holder.
        """
        return f"{self.user.id}/{self.session_id}" if self.session_id else f"user:{self.user.id}"


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[Args]
    handler: Handler

    def describe(self) -> dict[str, Any]:
        """Name, description and the JSON Schema of the arguments."""
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": self.args.model_json_schema(),
        }


class Registry:
    """Tools by name."""

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="ballast-tool")

    def tool(
        self, name: str, args: type[A]
    ) -> Callable[[Callable[[Context, A], dict[str, Any]]], Callable[[Context, A], dict[str, Any]]]:
        """Register a handler under `name`; its docstring's first paragraph is the description."""

        def register(
            handler: Callable[[Context, A], dict[str, Any]],
        ) -> Callable[[Context, A], dict[str, Any]]:
            if name in self._tools:
                raise RuntimeError(f"tool {name} registered twice")
            doc = inspect.getdoc(handler) or name
            self._tools[name] = Tool(name, doc.split("\n\n")[0].replace("\n", " "), args, handler)
            return handler

        return register

    def get(self, name: str) -> Tool:
        tool = self._tools.get(name)
        if tool is None:
            raise NotFound(f"no tool named {name!r}")
        return tool

    def names(self) -> list[str]:
        return sorted(self._tools)

    def describe(self) -> list[dict[str, Any]]:
        return [self._tools[n].describe() for n in self.names()]

    def call(self, ctx: Context, name: str, arguments: object) -> dict[str, Any]:
        """Validate the arguments and run the tool; answers ``{"success": true, …}`` or raises ToolError."""
        tool = self.get(name)
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise InvalidRequest("the arguments must be a JSON object")
        try:
            parsed = tool.args.model_validate(arguments)
        except ValidationError as error:
            raise validation_refusal(error, f"arguments of {name}", tool.args) from None
        try:
            return {"success": True, **tool.handler(ctx, parsed)}
        except QueryError as error:
            raise InvalidRequest(str(error)) from None

    async def acall(self, ctx: Context, name: str, arguments: object) -> dict[str, Any]:
        """`call` on the tool thread pool, so the event loop never waits on SQLite or DuckDB."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.call, ctx, name, arguments)


REGISTRY = Registry()


def load_registry() -> Registry:
    """The registry with every tool module imported."""
    from ballast_tui.tools import (  # noqa: F401  (imported for their registrations)
        blocks,
        catalog,
        connections,
        conversations,
        dashboards,
        layout,
        live,
        runs,
        sharing,
    )

    return REGISTRY
