"""The settings' names, flags, help and defaults: what the command line needs without loading them.

`ballast_tui.settings` validates and merges the layers with pydantic-settings
(about 60 ms to import). A command where no layer names a setting (no flag, no
``ballast.toml``, no ``BALLAST_*`` variable naming a key), as most launches of
the app are, takes the defaults here and never imports it (`chosen_anywhere`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ballast_tui.config import DEFAULT_HOST, DEFAULT_MAX_BODY, DEFAULT_PORT, DEFAULT_QUERY_TIMEOUT_S

TOML_NAME = "ballast.toml"
ENV_PREFIX = "BALLAST_"

FLAGS: dict[str, str] = {
    "host": "--host",
    "port": "--port",
    "public_url": "--public-url",
    "max_body": "--max-body",
    "query_timeout_s": "--query-timeout",
    "memory_limit": "--memory-limit",
    "remote_query_timeout_s": "--remote-query-timeout",
    "log_file": "--log-file",
    "trusted_proxies": "--trusted-proxies",
}
"""Each key's command-line flag."""

KEYS: tuple[str, ...] = tuple(FLAGS)
"""Every key a person may set, in the order `ballast settings` shows them."""

DEFAULTS: dict[str, Any] = {
    "host": DEFAULT_HOST,
    "port": DEFAULT_PORT,
    "public_url": None,
    "max_body": DEFAULT_MAX_BODY,
    "query_timeout_s": DEFAULT_QUERY_TIMEOUT_S,
    "memory_limit": "2GB",
    "remote_query_timeout_s": None,
    "log_file": None,
    "trusted_proxies": (),
}
"""The contract's default of each key (the engine's `Settings` has the same)."""

DESCRIPTIONS: dict[str, str] = {
    "host": "address the server listens on",
    "port": "port the server listens on (0: any free port)",
    "public_url": "base URL of published links, e.g. https://dash.example.com",
    "max_body": "largest request body the server accepts (bytes, or 32MiB)",
    "query_timeout_s": "seconds a block's query may run before it fails",
    "memory_limit": "memory DuckDB may use for the whole workspace (e.g. 2GB, 512MiB)",
    "remote_query_timeout_s": "seconds a query on a connected database may run (default: query_timeout_s)",
    "log_file": "the server's log file, rotated (default: server.log in the workspace for the app; "
    "stderr for `ballast serve`)",
    "trusted_proxies": "reverse proxies (addresses or networks) whose X-Forwarded-For/-Proto are believed",
}
"""Each key's help, as `ballast --help` and the settings model describe it."""


class SettingsError(ValueError):
    """A setting that cannot be used; the message is one line naming the key and its source."""


def chosen_anywhere(
    root: Path, flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> bool:
    """Whether any layer above the defaults may name a setting: a flag given, a ``ballast.toml``
    (anything at that path, even one that turns out empty or wrong) or a non-empty ``BALLAST_*``
    variable whose name is a key (any case, as pydantic-settings reads them)."""
    if any(value is not None for value in (flags or {}).values()):
        return True
    if (root / TOML_NAME).exists():
        return True
    for name, value in (os.environ if environ is None else environ).items():
        if value != "" and name.upper().startswith(ENV_PREFIX) and name[len(ENV_PREFIX) :].lower() in KEYS:
            return True
    return False
