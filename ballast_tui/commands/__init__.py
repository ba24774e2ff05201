"""The `ballast` subcommands, one module per family; `ballast_tui.cli` parses and dispatches.

What they share: the workspace and token a command was given, the one-line
failure, and `backend_for`, the one way a command reaches the tools (the
running server, else the workspace opened here; `open_backend`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ballast_tui.config import resolve_workspace

if TYPE_CHECKING:
    from ballast_tui.backend import Backend
    from ballast_tui.opening import Opened

T = TypeVar("T")


def fail(message: str, code: int = 1) -> int:
    """Print ``ballast: message`` on stderr; the exit status."""
    print(f"ballast: {message}", file=sys.stderr)
    return code


def connection_errors() -> tuple[type[BaseException], ...]:
    """What reaching a server may raise: OSError, and aiohttp's client errors once aiohttp is loaded
    (it is imported only by what talks to a server, and nothing raises them before)."""
    aiohttp = sys.modules.get("aiohttp")
    return (OSError, aiohttp.ClientError) if aiohttp is not None else (OSError,)


def workspace_of(args: argparse.Namespace) -> Path:
    """`--workspace DIR`, else `$BALLAST_WORKSPACE`, else the platform's user data dir."""
    return resolve_workspace(getattr(args, "workspace", None))


def token_of(args: argparse.Namespace) -> str | None:
    """`--token T`, else `$BALLAST_TOKEN`, else None (the local OS user's account)."""
    return getattr(args, "token", None) or os.environ.get("BALLAST_TOKEN") or None


def backend_for(args: argparse.Namespace, client: str = "cli") -> Opened:
    """The backend a command acts through, as the user of its token (else the local account)."""
    from ballast_tui.commands.settings import settings_of
    from ballast_tui.opening import open_backend

    return open_backend(workspace_of(args), token_of(args), client=client, settings=settings_of(args))


def with_backend(args: argparse.Namespace, work: Callable[[Backend], Awaitable[T]]) -> T:
    """Run `work` with the command's backend on a loop of its own, then close it."""
    opened = backend_for(args)

    async def run() -> T:
        try:
            return await work(opened.backend)
        finally:
            await opened.backend.close()

    try:
        return asyncio.run(run())
    finally:
        opened.close()


def call(args: argparse.Namespace, tool: str, **arguments: Any) -> dict[str, Any]:
    """Run one tool as the command's user; its answer (or the `ToolError` it refused with)."""
    return with_backend(args, lambda backend: backend.call(tool, **arguments))
