"""`ballast settings`, and the flags that set each setting on the commands where it acts.

Every key of contract §13 has a flag (`ballast_tui.setting_keys.FLAGS`). A flag
not given stays off the parsed arguments (`argparse.SUPPRESS`), so that
`settings_of` can tell a flag from a default and the lower layers
(`ballast.toml`, `BALLAST_*`) show through.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ballast_tui.commands import workspace_of
from ballast_tui.config import Settings
from ballast_tui.setting_keys import DEFAULTS, DESCRIPTIONS, FLAGS, KEYS, TOML_NAME, chosen_anywhere

if TYPE_CHECKING:
    from ballast_tui.settings import Loaded

ENGINE_KEYS = ("query_timeout_s", "memory_limit", "remote_query_timeout_s")
"""What a command that may run queries here (no server running) uses."""

ALL_KEYS_ON = ("serve", "settings", "open", "demo")
"""Commands that run a server (`ballast` and `open`, `demo`: the embedded one) take every key."""
ENGINE_KEYS_ON = ("tool", "import", "export", "mcp")

_METAVARS = {
    "host": "HOST",
    "port": "PORT",
    "public_url": "URL",
    "max_body": "BYTES",
    "query_timeout_s": "SECONDS",
    "memory_limit": "SIZE",
    "remote_query_timeout_s": "SECONDS",
    "log_file": "FILE",
    "trusted_proxies": "ADDRS",
}


def _default(key: str) -> str:
    value = DEFAULTS[key]
    if value is None or value == ():
        return ""
    if key == "max_body":
        return f" (default: {int(value) // (1024 * 1024)} MiB)"
    return f" (default: {value:g})" if isinstance(value, float) else f" (default: {value})"


def add_flags(parser: argparse.ArgumentParser, keys: tuple[str, ...] = KEYS) -> None:
    """Add the flag of each of `keys` to `parser` (see the module's doc)."""
    group = parser.add_argument_group("settings (also in ballast.toml or BALLAST_* variables)")
    for key in keys:
        help_text = DESCRIPTIONS[key] + _default(key)
        if key == "trusted_proxies":
            help_text += "; comma-separated"
        group.add_argument(
            FLAGS[key], dest=key, metavar=_METAVARS[key], default=argparse.SUPPRESS, help=help_text
        )


def add_settings_command(commands: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    """The `settings` subcommand (its flags are added by `add_setting_flags`)."""
    command = commands.add_parser(
        "settings",
        parents=list(parents),
        help="the effective settings and where each came from",
        description=f"Each key's value and its source: default, {TOML_NAME} in the workspace, a BALLAST_* "
        "environment variable, or a flag (each overrides the one before). Flags given here are shown as "
        "they would act on the other commands.",
    )
    command.add_argument("--json", action="store_true", help="print them as JSON")


def add_setting_flags(parser: argparse.ArgumentParser, commands: Any) -> None:
    """Give the top-level `ballast` and each command its setting flags (`ALL_KEYS_ON`, `ENGINE_KEYS_ON`)."""
    add_flags(parser)
    choices: dict[str, argparse.ArgumentParser] = commands.choices
    for name, sub in choices.items():
        if name in ALL_KEYS_ON:
            add_flags(sub)
        elif name in ENGINE_KEYS_ON:
            add_flags(sub, ENGINE_KEYS)


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    """The setting flags given on the command line (key -> value)."""
    return {key: getattr(args, key) for key in KEYS if hasattr(args, key)}


def loaded_of(args: argparse.Namespace) -> Loaded:
    """The command's effective settings (loaded once); `SettingsError` for an invalid one."""
    from ballast_tui.settings import Loaded, load_settings

    loaded = getattr(args, "_settings_loaded", None)
    if not isinstance(loaded, Loaded):
        loaded = load_settings(workspace_of(args), _flags(args))
        args._settings_loaded = loaded
    return loaded


def settings_of(args: argparse.Namespace) -> Settings:
    """The engine's settings for the command (`loaded_of`); the defaults, without loading the settings'
    model, when no layer names a setting (`chosen_anywhere`)."""
    if not chosen_anywhere(workspace_of(args), _flags(args)):
        return Settings()
    return loaded_of(args).engine()


def run_settings(args: argparse.Namespace) -> int:
    """`ballast settings`: every key, its effective value and where it came from."""
    from ballast_tui.settings import as_json

    loaded = loaded_of(args)
    if args.json:
        print(json.dumps({"workspace": str(workspace_of(args)), "settings": as_json(loaded)}, indent=2))
        return 0
    found = "found" if loaded.toml.is_file() else "none"
    print(f"workspace  {workspace_of(args)}  ({TOML_NAME}: {found})")
    rows = loaded.rows()
    key_width = max(len(key) for key, _, _ in rows)
    value_width = min(48, max(len(value) for _, value, _ in rows))
    for key, value, source in rows:
        print(f"{key:<{key_width}}  {value:<{value_width}}  {source}")
    return 0
