"""Workspace paths and settings: where a workspace lives and what it holds."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_QUERY_TIMEOUT_S = 30.0
DEFAULT_MAX_BODY = 32 * 1024 * 1024


def resolve_workspace(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--workspace DIR`, else `$BALLAST_WORKSPACE`, else the platform's user data dir."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get("BALLAST_WORKSPACE")
    if env:
        return Path(env).expanduser().resolve()
    return Path(platformdirs.user_data_dir("ballast", appauthor=False)).resolve()


@dataclass(frozen=True)
class Settings:
    """Engine settings; the defaults are the contract's."""

    query_timeout_s: float = DEFAULT_QUERY_TIMEOUT_S
    memory_limit: str = "2GB"
    duckdb_threads: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    public_url: str | None = None
    max_body: int = DEFAULT_MAX_BODY


@dataclass(frozen=True)
class WorkspacePaths:
    """The files of one workspace directory."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / "ballast.db"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def imports(self) -> Path:
        """The directory `catalog_import` may read server-side `path`s from."""
        return self.root / "imports"

    @property
    def server_json(self) -> Path:
        return self.root / "server.json"

    def board_dir(self, board_id: str) -> Path:
        return self.data / board_id

    def ensure(self) -> None:
        """Create the workspace's directories if they are missing."""
        for path in (self.root, self.data, self.imports):
            path.mkdir(parents=True, exist_ok=True)


def read_server_json(paths: WorkspacePaths) -> dict[str, object] | None:
    """The running server's address file, or None when absent or unreadable."""
    try:
        value = json.loads(paths.server_json.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
