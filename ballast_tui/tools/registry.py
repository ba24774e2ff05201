"""The tool registry: the only way in, for HTTP, MCP, the TUI and the server's own jobs alike.

A tool is a name, a pydantic model of its arguments (unknown fields refused,
JSON Schema published), the role it needs, what it does to the workspace
(`writes`, `destructive`, `idempotent`), what an agent reads about it, and a
handler. The registry checks the role before the handler runs, once, for
every door:

- a board role (``viewer``, ``editor``, ``owner``): the board named by the
  tool's board argument (`dashboard_id`, or `conversation_id`) is loaded and
  the caller's role on it checked; the handler gets a `BoardScope` whose
  lookups can only find that board's blocks, runs and sources;
- ``link``: the board published under the `slug` argument, for anyone with
  its link (its password, or the access cookie it earned, for a protected
  board); the handler gets a public `BoardScope` (displayed blocks only);
- ``user`` / ``admin``: any signed-in account / a workspace administrator;
  the handler gets the `Context`.

Handlers are synchronous and do blocking work (SQLite, DuckDB); `acall` runs
them on a thread pool, never on a loop.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import inspect
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ballast_tui.engine.access import BOARD_ROLES, REQUIRED_ROLES
from ballast_tui.engine.blocks import MAX_NAME_LENGTH, NAME_PATTERN, validation_refusal
from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import Forbidden, InvalidRequest, NotFound, Unauthorized
from ballast_tui.engine.executor import QueryError
from ballast_tui.engine.scope import BoardScope, open_board, open_published

__all__ = ["REGISTRY", "Args", "BoardScope", "Context", "Registry", "Tool", "load_registry"]


class Args(BaseModel):
    """Base of every tool's arguments: strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


A = TypeVar("A", bound=Args)
RoleRule = str | Callable[[Any], str]
"""The role a tool needs: one of `REQUIRED_ROLES`, or a function of its parsed arguments giving one
(e.g. `dashboard_run_block` needs `viewer` to try overrides and `editor` to record a run)."""

BOARD_ARGUMENTS = ("dashboard_id", "conversation_id")

MAX_INT = 2**63 - 1
"""The largest integer a tool takes (what SQLite and DuckDB store); past it, 400."""
NAME_SCHEMA: dict[str, Any] = {"pattern": NAME_PATTERN.pattern, "maxLength": MAX_NAME_LENGTH}
"""What a block, source or connection name must be, for a field's JSON Schema (the engine checks it,
with its own message)."""


@dataclass(frozen=True)
class Tool:
    """One registered tool and everything declared about it."""

    name: str
    summary: str
    """One line for people: the `GET /api/v1/tools` description, the OpenAPI summary, the help."""
    args: type[Args]
    handler: Callable[[Any, Any], dict[str, Any]]
    role: RoleRule
    writes: bool
    """Whether a call may change anything stored (False: read-only)."""
    destructive: bool = False
    """Whether a call may overwrite or remove what is there (the rest only add)."""
    idempotent: bool = False
    """Whether calling again with the same arguments changes nothing more."""
    agent: str = ""
    """What a model reads about the tool: what it does, when to use it, what it returns."""
    example: dict[str, Any] = field(default_factory=dict)
    """One call's arguments, as a model would send them."""
    explicit_board: bool = False
    """An agent must name the board: the tool never falls back to an MCP session's working board."""
    refuses: str = ""
    """What a call may be refused for (400) that its argument schema cannot say: values checked
    against what is stored or against another language (SQL that does not parse, a name no source
    has, a value a control does not allow). Published in the OpenAPI document."""

    @property
    def read_only(self) -> bool:
        return not self.writes

    @property
    def for_agents(self) -> str:
        """The description MCP publishes: what an agent reads, and one example call."""
        return f"{self.agent or self.summary}\nExample: {json.dumps(self.example, separators=(', ', ': '))}"

    @property
    def board_argument(self) -> str | None:
        """The argument naming the board the tool works on, if it takes one."""
        return next((key for key in BOARD_ARGUMENTS if key in self.args.model_fields), None)

    def roles(self) -> frozenset[str]:
        """Every role the tool may need (one, unless it depends on the arguments)."""
        if isinstance(self.role, str):
            return frozenset({self.role})
        return frozenset(getattr(self.role, "roles", ()))

    def required_role(self, args: Args) -> str:
        """The role this call needs."""
        return self.role if isinstance(self.role, str) else self.role(args)

    def describe(self) -> dict[str, Any]:
        """Name, description, the role it needs and the JSON Schema of the arguments."""
        return {
            "name": self.name,
            "description": self.summary,
            "role": self.role if isinstance(self.role, str) else sorted(self.roles()),
            "readOnly": self.read_only,
            "inputSchema": self.args.model_json_schema(),
        }


def role_by(rule: Callable[[Any], str], *roles: str) -> Callable[[Any], str]:
    """A role that depends on the arguments, declaring every role `rule` may answer."""
    rule.roles = frozenset(roles)  # type: ignore[attr-defined]
    return rule


TOOL_MODULES: dict[str, tuple[str, ...]] = {
    "block_runs": ("dashboard_block_data", "dashboard_run_block", "dashboard_set_control"),
    "blocks": ("dashboard_add_block", "dashboard_delete_block", "dashboard_update_block"),
    "catalog": ("catalog_import", "catalog_list", "catalog_push", "catalog_rename"),
    "connections": (
        "connection_add",
        "connection_grant",
        "connection_list",
        "connection_remove",
        "connection_revoke",
    ),
    "conversations": ("conversation_add_message", "conversation_create", "dashboard_save_conversation"),
    "dashboards": (
        "dashboard_audit",
        "dashboard_clone",
        "dashboard_create",
        "dashboard_delete",
        "dashboard_get",
        "dashboard_get_refresh",
        "dashboard_list",
        "dashboard_refresh",
        "dashboard_set_refresh",
    ),
    "exports": ("export_block",),
    "layout": (
        "dashboard_move_block",
        "dashboard_resize_block",
        "dashboard_set_displayed",
        "dashboard_set_layout",
    ),
    "live": ("block_close", "block_open", "dashboard_presence"),
    "public": (
        "public_answer_key",
        "public_block_csv",
        "public_block_data",
        "public_board_view",
        "public_dashboard",
        "public_page",
        "public_unlock",
    ),
    "render": ("dashboard_render",),
    "runs": ("dashboard_compare_runs", "dashboard_runs"),
    "sharing": (
        "dashboard_grant",
        "dashboard_publish",
        "dashboard_set_public_options",
        "dashboard_set_visibility",
        "dashboard_transfer",
        "dashboard_unpublish",
    ),
    "users": (
        "user_add",
        "user_list",
        "user_remove",
        "user_token_create",
        "user_token_revoke",
        "user_tokens",
        "workspace_audit",
    ),
    "versions": ("dashboard_restore", "dashboard_version_diff", "dashboard_versions"),
}
"""Each module of `ballast_tui.tools` and the tools it registers. A tool's module is imported when
the tool is first called, so a client that calls a few tools (the app drawing a board) does not load
every tool's arguments and what they import; listing the tools loads them all. A test checks this
map against the registrations."""
MODULE_OF_TOOL = {name: module for module, names in TOOL_MODULES.items() for name in names}


class Registry:
    """Tools by name, each tool's module imported when the tool is first needed (`TOOL_MODULES`)."""

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="ballast-tool")

    def tool(
        self,
        name: str,
        args: type[A],
        *,
        role: RoleRule,
        writes: bool,
        destructive: bool = False,
        idempotent: bool = False,
        example: dict[str, Any] | None = None,
        explicit_board: bool = False,
        refuses: str = "",
    ) -> Callable[[Callable[[Any, A], dict[str, Any]]], Callable[[Any, A], dict[str, Any]]]:
        """Register a handler under `name`.

        Its docstring's first paragraph is the summary for people; the rest is what an agent reads
        (what it does, when to use it, what it returns). The handler takes a `BoardScope` for a
        board or link role, else the `Context`.
        """
        roles = {role} if isinstance(role, str) else set(getattr(role, "roles", ()))
        if not roles or not roles <= set(REQUIRED_ROLES):
            raise ValueError(f"tool {name}: role must be one of {', '.join(REQUIRED_ROLES)}")
        takes_board = any(key in args.model_fields for key in BOARD_ARGUMENTS)
        if roles & set(BOARD_ROLES) and not takes_board:
            raise ValueError(f"tool {name}: a board role needs a dashboard_id or conversation_id argument")
        if "link" in roles and "slug" not in args.model_fields:
            raise ValueError(f"tool {name}: the link role needs a slug argument")

        def register(handler: Callable[[Any, A], dict[str, Any]]) -> Callable[[Any, A], dict[str, Any]]:
            if name in self._tools:
                raise RuntimeError(f"tool {name} registered twice")
            summary, _, agent = (inspect.getdoc(handler) or name).partition("\n\n")
            self._tools[name] = Tool(
                name,
                summary.replace("\n", " "),
                args,
                handler,
                role,
                writes,
                destructive=destructive,
                idempotent=idempotent,
                agent=agent.strip(),
                example=dict(example or {}),
                explicit_board=explicit_board,
                refuses=refuses,
            )
            return handler

        return register

    def get(self, name: str) -> Tool:
        tool = self._tools.get(name)
        if tool is None and name in MODULE_OF_TOOL:
            importlib.import_module(f"ballast_tui.tools.{MODULE_OF_TOOL[name]}")
            tool = self._tools.get(name)
        if tool is None:
            raise NotFound(f"no tool named {name!r}")
        return tool

    def load_all(self) -> None:
        """Import every tool module (their registrations)."""
        for module in TOOL_MODULES:
            importlib.import_module(f"ballast_tui.tools.{module}")

    def names(self) -> list[str]:
        self.load_all()
        return sorted(self._tools)

    def tools(self) -> list[Tool]:
        return [self._tools[n] for n in self.names()]

    def describe(self) -> list[dict[str, Any]]:
        return [tool.describe() for tool in self.tools()]

    def parse(self, name: str, arguments: object) -> tuple[Tool, Args]:
        """The tool and its validated arguments (400 naming what is wrong)."""
        tool = self.get(name)
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise InvalidRequest("the arguments must be a JSON object")
        try:
            return tool, tool.args.model_validate(arguments)
        except ValidationError as error:
            whole = _integral_floats_as_ints(arguments, error)
            if whole is not None:
                return self.parse(name, whole)
            raise validation_refusal(error, f"arguments of {name}", tool.args) from None

    def call(self, ctx: Context, name: str, arguments: object) -> dict[str, Any]:
        """Validate the arguments, check the caller's access, and run the tool.

        Answers ``{"success": true, …}`` or raises the `ToolError` it refused with.
        """
        tool, parsed = self.parse(name, arguments)
        target = self.scope(ctx, tool, parsed)
        try:
            return {"success": True, **tool.handler(target, parsed)}
        except QueryError as error:
            raise InvalidRequest(str(error)) from None

    def scope(self, ctx: Context, tool: Tool, args: Args) -> BoardScope | Context:
        """What the handler gets, once the caller's access is checked: a board scope, or the context."""
        required = tool.required_role(args)
        if required == "link":
            return open_published(ctx, args.slug, getattr(args, "password", None))  # type: ignore[attr-defined]
        if ctx.is_anonymous:
            raise Unauthorized("sign in: this needs an account (a bearer token)")
        if required in BOARD_ROLES:
            key = tool.board_argument
            assert key is not None
            return open_board(ctx, getattr(args, key), required)
        if required == "admin" and not ctx.user.is_admin:
            raise Forbidden(
                "only workspace administrators may do this (the first user, or users added with --admin)"
            )
        return ctx

    async def acall(self, ctx: Context, name: str, arguments: object) -> dict[str, Any]:
        """`call` on the tool thread pool, so the event loop never waits on SQLite or DuckDB."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.call, ctx, name, arguments)


def _integral_floats_as_ints(arguments: dict[str, Any], error: ValidationError) -> dict[str, Any] | None:
    """`arguments` with each number refused as "not an integer" but whole (``2.0``) made an int.

    JSON (and JSON Schema) make no difference between 2 and 2.0; strict validation does. None when
    no refusal was of that kind, so a genuine refusal is reported as it is.
    """
    fixed: Any = copy.deepcopy(arguments)
    changed = False
    for detail in error.errors():
        if detail["type"] != "int_type" or not isinstance(detail["input"], float):
            continue
        if not detail["input"].is_integer():
            continue
        *parents, last = detail["loc"]
        container = fixed
        try:
            for key in parents:
                container = container[key]
            if container[last] == detail["input"]:
                container[last] = int(detail["input"])
                changed = True
        except (KeyError, IndexError, TypeError):
            continue
    return fixed if changed else None


REGISTRY = Registry()


def load_registry() -> Registry:
    """The registry of every tool (each tool's module imported when it is first needed)."""
    return REGISTRY
