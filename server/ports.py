"""Which port the server listens on: the one it had last time when it can, so published links last.

`last_port` in the workspace records the port of the last server; `ports_to_try`
puts it first, before the configured `port`, unless the person chose the port
(`port` in ballast.toml, BALLAST_PORT, `--port`): a chosen port comes first.
"""

from __future__ import annotations

import contextlib

from ballast_tui.config import WorkspacePaths
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage.private import write_atomic


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


def ports_to_try(ws: Workspace) -> list[int]:
    """The ports to try in order (see the module's doc); any free port comes after them."""
    wanted = ws.settings.port
    remembered = last_port(ws.paths)
    order = [wanted, remembered] if ws.settings.port_chosen else [remembered, wanted]
    return list(dict.fromkeys(p for p in order if p is not None))
