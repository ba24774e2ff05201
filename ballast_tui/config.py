"""Workspace paths and settings: where a workspace lives and what it holds."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from ballast_tui.storage.private import Tightened, create_file, make_dirs, tighten, write_atomic

log = logging.getLogger("ballast.workspace")

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
    """Engine and server settings; the defaults are the contract's (`ballast_tui.settings` loads the
    ones a person chooses: ballast.toml, BALLAST_* variables, flags)."""

    query_timeout_s: float = DEFAULT_QUERY_TIMEOUT_S
    memory_limit: str = "2GB"
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    port_chosen: bool = False
    """Whether `port` was chosen by the person (a flag, a variable, ballast.toml) rather than the default:
    a chosen port is taken or refused, never swapped for the last one or a free one."""
    port_taken: int | None = None
    """The port the server wanted and found taken, when it listens on another one (links warn of it)."""
    remote_query_timeout_s: float | None = None
    """Seconds a query on a connected database may run; None: the same as `query_timeout_s`."""
    log_file: str | None = None
    """The server's log file (rotated); None: `server.log` in the workspace, or stderr for `ballast serve`."""
    trusted_proxies: tuple[str, ...] = ()
    """Reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` headers are believed."""
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

    @functools.cached_property
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

    @property
    def last_port(self) -> Path:
        """The port the server last listened on, tried first next time (so links keep working)."""
        return self.root / "last_port"

    @property
    def cache(self) -> Path:
        """Answers derived from what never changes (`engine.derived_cache`): may be removed at any time."""
        return self.root / "cache"

    @property
    def server_log(self) -> Path:
        """The embedded server's log (the TUI owns the terminal)."""
        return self.root / "server.log"

    def board_dir(self, board_id: str) -> Path:
        return self.data / board_id

    def private_file(self, path: Path) -> Path:
        """`path`, a file of this workspace, created empty and owner-only (0600) when missing."""
        create_file(path)
        return path

    def ensure(self) -> list[Tightened]:
        """Create the workspace's directories (0700) if they are missing, and make it private.

        Whatever was already there and is open to the group or to others is tightened
        (0755 -> 0700, 0644 -> 0600), each change logged; answers those changes.
        """
        for path in (self.root, self.data, self.imports):
            make_dirs(path)
        return tighten(self.root)


def read_server_json(paths: WorkspacePaths) -> dict[str, object] | None:
    """The running server's address file, or None when absent, unreadable or not this user's.

    A `server.json` owned by another uid (or a symlink) is not trusted: it is treated as absent.
    """
    try:
        fd = os.open(paths.server_json, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            return None
        if found.st_uid != os.getuid():
            log.warning(
                "ignoring %s: it belongs to uid %d, not to this user (uid %d)",
                paths.server_json,
                found.st_uid,
                os.getuid(),
            )
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            value = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
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
    """Write `server.json` (0600) atomically: a temporary file, fsync, rename, fsync of the directory."""
    write_atomic(paths.server_json, (json.dumps(info, indent=2) + "\n").encode())


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


def last_port(paths: WorkspacePaths) -> int | None:
    """The port the workspace's server listened on last, if it was recorded."""
    try:
        port = int(paths.last_port.read_text().strip())
    except (OSError, ValueError):
        return None
    return port if 0 < port < 65536 else None


def remember_port(paths: WorkspacePaths, port: int) -> None:
    """Record the port the server listens on, for the next start (owner-only, written atomically)."""
    with contextlib.suppress(OSError):
        write_atomic(paths.last_port, f"{port}\n".encode())
