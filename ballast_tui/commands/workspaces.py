"""Which commands may create a workspace, and `ballast init DIR`.

Only `ballast demo`, `ballast init DIR` and a first `ballast` with no workspace
named (neither `--workspace` nor `$BALLAST_WORKSPACE`: the platform's user data
dir) create one. Every other command refuses a directory that is missing or is
not a workspace (it has no ``ballast.db``), so a typo never leaves an empty
workspace behind. A new workspace goes only into a new or empty directory:
making one is also making it private (0700 and 0600 all the way down), which
must never happen to a directory that holds something else.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ballast_tui.commands import fail, workspace_of
from ballast_tui.config import WorkspacePaths


class WorkspaceRefused(Exception):
    """A command may not use (or create) the workspace directory it was given; the message says why."""


def explicit_workspace(args: argparse.Namespace) -> bool:
    """Whether the command names its workspace (`--workspace`, or `$BALLAST_WORKSPACE`)."""
    return bool(getattr(args, "workspace", None) or os.environ.get("BALLAST_WORKSPACE"))


def _kind(root: Path) -> str:
    """``workspace``, ``missing``, ``file``, ``empty`` or ``other`` (a directory holding something else)."""
    try:
        if not root.exists():
            return "missing"
        if not root.is_dir():
            return "file"
        if WorkspacePaths(root).db.is_file():
            return "workspace"
        return "other" if any(root.iterdir()) else "empty"
    except PermissionError:
        raise WorkspaceRefused(f"cannot read {root}: permission denied") from None


def require_existing(root: Path) -> None:
    """Refuse unless `root` is a workspace (a directory with its ``ballast.db``)."""
    kind = _kind(root)
    if kind == "workspace":
        return
    hint = f"create one with `ballast init {root}` (or `ballast demo --workspace {root}`)"
    if kind == "file":
        raise WorkspaceRefused(f"{root} is a file, not a workspace directory")
    if kind == "missing":
        raise WorkspaceRefused(f"no workspace at {root}: there is no such directory; {hint}")
    raise WorkspaceRefused(f"{root} is not a Ballast workspace (it has no ballast.db); {hint}")


def require_creatable(root: Path, *, new_only: bool = False) -> None:
    """Refuse unless a workspace may be opened or made at `root`: an existing workspace (unless
    `new_only`), a missing directory, or an empty one."""
    kind = _kind(root)
    if kind == "file":
        raise WorkspaceRefused(f"{root} is a file, not a workspace directory")
    if kind == "workspace" and new_only:
        raise WorkspaceRefused(f"{root} is already a workspace; open it with `ballast --workspace {root}`")
    if kind == "other":
        raise WorkspaceRefused(
            f"{root} is not empty and is not a Ballast workspace; give a new or empty directory"
        )


def check_workspace(args: argparse.Namespace, creates: bool) -> None:
    """Refuse (`WorkspaceRefused`) a command whose workspace it may not use: `creates` for the commands
    that may make one (`demo`, and `ballast` alone on the default workspace)."""
    root = workspace_of(args)
    if creates:
        require_creatable(root)
    else:
        require_existing(root)


def run_init(args: argparse.Namespace) -> int:
    """`ballast init [DIR]`: a new, empty workspace whose administrator is the current OS user."""
    from ballast_tui.config import resolve_workspace
    from ballast_tui.engine.workspace import Workspace

    root = resolve_workspace(args.dir) if args.dir else workspace_of(args)
    try:
        require_creatable(root, new_only=True)
    except WorkspaceRefused as refused:
        return fail(str(refused))
    with Workspace(root) as ws:
        user = ws.users.local()
    print(f"created the workspace {root}; {user.name} is its administrator")
    print(f"open it with: ballast --workspace {root}")
    return 0
