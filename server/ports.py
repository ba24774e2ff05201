"""Which port the server listens on: the one it had last time when it can, so published links last.

`last_port` in the workspace records the port of the last server; `ports_to_try`
puts it first, before the configured `port`, unless the person chose the port
(`port` in ballast.toml, BALLAST_PORT, `--port`): a chosen port comes first.
"""

from __future__ import annotations

from ballast_tui.config import last_port, remember_port
from ballast_tui.engine.workspace import Workspace

__all__ = ["last_port", "ports_to_try", "remember_port"]


def ports_to_try(ws: Workspace) -> list[int]:
    """The ports to try in order (see the module's doc); any free port comes after them."""
    wanted = ws.settings.port
    remembered = last_port(ws.paths)
    order = [wanted, remembered] if ws.settings.port_chosen else [remembered, wanted]
    return list(dict.fromkeys(p for p in order if p is not None))
