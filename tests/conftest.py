"""Fixtures: real workspaces in tmp_path, and a caller of the real tool registry."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ballast_tui.engine.users import User
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Context, load_registry


def not_owner_only(root: Path) -> list[str]:
    """Every directory under `root` (itself included) that is not 0700 and every file not 0600, as
    ``mode path`` lines; symbolic links are not followed."""
    loose = []
    for path in [root, *root.rglob("*")]:
        try:
            found = path.lstat()
        except FileNotFoundError:
            continue  # a temporary file, gone meanwhile
        if stat.S_ISLNK(found.st_mode):
            continue
        expected = 0o700 if stat.S_ISDIR(found.st_mode) else 0o600
        if stat.S_IMODE(found.st_mode) != expected:
            loose.append(f"{stat.S_IMODE(found.st_mode):03o} {path}")
    return loose


class ToolClient:
    """Calls tools as one user (and session), exactly as a transport would."""

    def __init__(self, ws: Workspace, user: User, session_id: str | None = None) -> None:
        self.ws = ws
        self.user = user
        self.session_id = session_id
        self.registry = load_registry()

    def __call__(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """Run a tool; a refusal raises its ToolError."""
        return self.registry.call(Context(self.ws, self.user, self.session_id), tool, arguments)

    def raw(self, tool: str, arguments: object) -> dict[str, Any]:
        """Run a tool with arguments as given (not necessarily a dict)."""
        return self.registry.call(Context(self.ws, self.user, self.session_id), tool, arguments)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace(tmp_path / "ws")
    yield workspace
    workspace.close()


@pytest.fixture
def owner(ws: Workspace) -> User:
    """The workspace's first user (an administrator), as the OS user opening it."""
    return ws.users.local()


@pytest.fixture
def call(ws: Workspace, owner: User) -> ToolClient:
    """Tools called by the owner of everything it creates."""
    return ToolClient(ws, owner)


@pytest.fixture
def make_client(ws: Workspace) -> Any:
    """Factory: a ToolClient for a new user with that name."""

    def make(name: str, kind: str = "human", session_id: str | None = None) -> ToolClient:
        user, _token = ws.users.create(name, kind)
        return ToolClient(ws, user, session_id)

    return make


@pytest.fixture
def board(call: ToolClient) -> str:
    """An empty dashboard owned by `call`'s user."""
    return str(call("dashboard_create", title="Test board")["dashboard"]["id"])
