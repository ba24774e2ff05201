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
DEFAULT_MAX_UPLOAD = 4 * 1024 * 1024 * 1024
DEFAULT_SCHEDULER_TICK_S = 1.0


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
    max_upload: int = DEFAULT_MAX_UPLOAD
    """The largest file the upload route takes (`POST /api/v1/dashboards/{id}/imports`), streamed to disk."""
    refresh_time_scale: float = 1.0
    """Every auto-refresh interval is multiplied by this (tests use ~0.003, so 300 s is about 1 s)."""
    scheduler_tick_s: float = DEFAULT_SCHEDULER_TICK_S
    """How often the server's scheduler looks for dashboards due for a refresh."""
    catalog_ttl_s: float = 300.0
    """How long a connection's list of tables and columns is reused before it is looked up again."""
    remote_cache_bytes: int = 256 * 1024 * 1024
    """Memory for connected data kept between refreshes (per dashboard and query), for viewers' overrides."""
    pushdown: bool = True
    """Run a block that reads only one connection in that database; False pulls its tables instead."""


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

    @property
    def published(self) -> Path:
        """Drawings of published dashboards (page SVGs, preview PNGs), one folder per board."""
        return self.root / "published"

    @property
    def secret(self) -> Path:
        """The server's signing key (public-page cookies and forms), readable by the owner only."""
        return self.root / "secret.key"

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


def live_server(paths: WorkspacePaths) -> dict[str, object] | None:
    """The workspace's `server.json` while a server holds the workspace's lock, else None (absent, or
    stale: left by a server that is gone)."""
    from ballast_tui.server_lock import held

    info = read_server_json(paths)
    if info is None or not held(paths.root):
        return None
    return info


def write_server_json(paths: WorkspacePaths, info: dict[str, object]) -> None:
    """Write `server.json` atomically: a temporary file, fsync, rename, fsync of the directory."""
    target = paths.server_json
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(info, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    try:
        directory = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory)
    except OSError:
        pass
    finally:
        os.close(directory)


def remove_server_json(paths: WorkspacePaths, pid: int | None = None) -> bool:
    """Remove `server.json` if it names `pid` (default: this process); answer whether it was removed."""
    info = read_server_json(paths)
    if info is None or info.get("pid") != (os.getpid() if pid is None else pid):
        return False
    try:
        paths.server_json.unlink()
    except FileNotFoundError:
        return False
    return True
