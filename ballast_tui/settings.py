"""The settings a person chooses, and where each one came from.

Four layers, each overriding the one before (contract §13): the defaults, then
``ballast.toml`` in the workspace, then ``BALLAST_*`` environment variables,
then command-line flags. pydantic-settings reads the file and the environment
(its `TomlConfigSettingsSource` and `EnvSettingsSource`); the layers are merged
here, key by key, so that `ballast settings` can say where each value came
from and an invalid value is refused naming its key and its source. The result
becomes the engine's `ballast_tui.config.Settings`.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict
from pydantic_settings import TomlConfigSettingsSource as _Toml
from pydantic_settings.exceptions import SettingsError as _SourceError

from ballast_tui.config import Settings
from ballast_tui.setting_keys import (
    DEFAULTS,
    DESCRIPTIONS,
    ENV_PREFIX,
    FLAGS,
    KEYS,
    TOML_NAME,
    SettingsError,
)

__all__ = ["FLAGS", "KEYS", "TOML_NAME", "BallastSettings", "Loaded", "SettingsError", "load_settings"]


def _split_list(value: object) -> object:
    """A comma- or space-separated string (an environment variable, a flag) as a list."""
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    return value


class BallastSettings(BaseSettings):
    """Every key a person may set; the defaults are the contract's."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", env_ignore_empty=True, validate_default=True
    )

    host: str = Field(DEFAULTS["host"], description=DESCRIPTIONS["host"])
    port: int = Field(DEFAULTS["port"], ge=0, le=65535, description=DESCRIPTIONS["port"])
    public_url: str | None = Field(DEFAULTS["public_url"], description=DESCRIPTIONS["public_url"])
    max_body: int = Field(DEFAULTS["max_body"], description=DESCRIPTIONS["max_body"])
    query_timeout_s: float = Field(
        DEFAULTS["query_timeout_s"], gt=0, description=DESCRIPTIONS["query_timeout_s"]
    )
    memory_limit: str = Field(DEFAULTS["memory_limit"], description=DESCRIPTIONS["memory_limit"])
    remote_query_timeout_s: float | None = Field(
        DEFAULTS["remote_query_timeout_s"], gt=0, description=DESCRIPTIONS["remote_query_timeout_s"]
    )
    log_file: str | None = Field(DEFAULTS["log_file"], description=DESCRIPTIONS["log_file"])
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        DEFAULTS["trusted_proxies"], description=DESCRIPTIONS["trusted_proxies"]
    )

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], *sources: Any, **named: Any) -> Any:
        """Only the values handed over: `load_settings` reads and merges the layers itself."""
        return (named.get("init_settings") or sources[0],)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c in value for c in " /\t") or "://" in value:
            raise ValueError("a host name or IP address, e.g. 127.0.0.1 or 0.0.0.0")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        try:
            parts.port  # noqa: B018 (a bad port raises here)
        except ValueError:
            raise ValueError("its port is not a number from 0 to 65535") from None
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(
                "an http:// or https:// URL without query or fragment, e.g. https://dash.example.com"
            )
        return value.strip().rstrip("/")

    @field_validator("max_body", mode="before")
    @classmethod
    def _max_body(cls, value: object) -> object:
        if isinstance(value, str):
            value = _size(value)
        if isinstance(value, int) and not isinstance(value, bool) and value < 1024:
            raise ValueError("at least 1024 bytes")
        return value

    @field_validator("memory_limit", mode="before")
    @classmethod
    def _memory_limit(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and _size(value) < 16 * 1024 * 1024:
            raise ValueError("at least 16MB")
        return value

    @field_validator("log_file")
    @classmethod
    def _log_file(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        path = Path(value).expanduser()
        if path.is_dir():
            raise ValueError(f"{value} is a directory, not a file")
        if not path.parent.is_dir():
            raise ValueError(f"its directory {path.parent} does not exist")
        return str(path)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _trusted_proxies(cls, value: object) -> object:
        value = _split_list(value)
        if isinstance(value, list | tuple):
            for item in value:
                if not isinstance(item, str):
                    raise ValueError("a list of addresses or networks, e.g. ['10.0.0.1', '10.1.0.0/16']")
                try:
                    ipaddress.ip_network(item.strip(), strict=False)
                except ValueError:
                    raise ValueError(f"{item!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None
        return value


def _size(text: str) -> int:
    from ballast_tui.engine.executor import parse_bytes  # DuckDB loads only with the engine

    try:
        return parse_bytes(text)
    except ValueError:
        raise ValueError(f"not a size: {text!r} (e.g. 2GB, 512MiB or a number of bytes)") from None


@dataclass(frozen=True)
class Loaded:
    """The effective settings, and for each key where its value came from."""

    values: BallastSettings
    sources: dict[str, str]
    """Key -> ``default``, ``ballast.toml``, ``env BALLAST_X`` or ``flag --x``."""
    toml: Path

    def engine(self) -> Settings:
        """The engine's settings with these values."""
        v = self.values
        return Settings(
            host=v.host,
            port=v.port,
            public_url=v.public_url,
            max_body=v.max_body,
            query_timeout_s=v.query_timeout_s,
            memory_limit=v.memory_limit,
            remote_query_timeout_s=v.remote_query_timeout_s,
            log_file=v.log_file,
            trusted_proxies=v.trusted_proxies,
            port_chosen=self.sources["port"] != "default",
        )

    def rows(self) -> list[tuple[str, str, str]]:
        """``(key, value, source)`` for every key, as `ballast settings` prints them."""
        shown: list[tuple[str, str, str]] = []
        for key in KEYS:
            value = getattr(self.values, key)
            if key == "remote_query_timeout_s" and value is None:
                text = f"{self.values.query_timeout_s:g} (= query_timeout_s)"
            elif key == "log_file" and value is None:
                text = "(server.log in the workspace; serve: stderr)"
            elif value is None:
                text = "(not set)"
            elif isinstance(value, tuple):
                text = ", ".join(value) if value else "(none)"
            elif isinstance(value, float):
                text = f"{value:g}"
            else:
                text = str(value)
            shown.append((key, text, self.sources[key]))
        return shown


def read_toml(root: Path) -> dict[str, Any]:
    """The workspace's ``ballast.toml`` (an empty dict when there is none); `SettingsError` when it is
    not valid TOML or names a key that does not exist."""
    path = root / TOML_NAME
    if not path.is_file():
        if path.exists():
            raise SettingsError(f"{path} is not a file")
        return {}
    try:
        found = _Toml(BallastSettings, toml_file=path)()
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path} is not valid TOML: {error}") from None
    except OSError as error:
        raise SettingsError(f"cannot read {path}: {error.strerror or error}") from None
    unknown = sorted(set(found) - set(KEYS))
    if unknown:
        raise SettingsError(f"unknown setting {unknown[0]!r} in {path} (the settings are: {', '.join(KEYS)})")
    if isinstance(found.get("log_file"), str) and not Path(found["log_file"]).expanduser().is_absolute():
        found["log_file"] = str(root / found["log_file"])
    return dict(found)


def read_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``BALLAST_*`` variables that name settings (others, like BALLAST_WORKSPACE, are not settings)."""
    source = EnvSettingsSource(BallastSettings, env_prefix=ENV_PREFIX, env_ignore_empty=True)
    if environ is not None:
        source.env_vars = {k.lower(): v for k, v in environ.items() if v != ""}
    try:
        return dict(source())
    except _SourceError as error:
        raise SettingsError(str(error).splitlines()[0]) from None


def load_settings(
    root: Path, flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Loaded:
    """The effective settings for the workspace at `root`: defaults < ballast.toml < BALLAST_* < `flags`
    (key -> value, only the flags given). Raises `SettingsError` naming the key and its source."""
    layers: list[tuple[str, dict[str, Any]]] = [
        (TOML_NAME, read_toml(root)),
        ("env", read_env(environ)),
        ("flag", {k: v for k, v in (flags or {}).items() if v is not None}),
    ]
    merged: dict[str, Any] = {}
    sources = dict.fromkeys(KEYS, "default")
    for layer, found in layers:
        for key, value in found.items():
            merged[key] = value
            if layer == "env":
                sources[key] = f"env {ENV_PREFIX}{key.upper()}"
            elif layer == "flag":
                sources[key] = f"flag {FLAGS[key]}"
            else:
                sources[key] = layer
    try:
        values = BallastSettings(**merged)
    except ValidationError as error:
        first = error.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else "?"
        reason = first["msg"].removeprefix("Value error, ")
        given = merged.get(key, first.get("input"))
        raise SettingsError(
            f"invalid setting {key} = {given!r} (from {sources.get(key, 'default')}): {reason}"
        ) from None
    return Loaded(values, sources, root / TOML_NAME)


class SettingsView(BaseModel):
    """One key as `ballast settings --json` prints it."""

    model_config = ConfigDict(frozen=True)
    key: str
    value: Any
    source: str


def as_json(loaded: Loaded) -> list[dict[str, Any]]:
    """Every key, its effective value (JSON types) and its source."""
    data = loaded.values.model_dump(mode="json")
    return [SettingsView(key=k, value=data[k], source=loaded.sources[k]).model_dump() for k in KEYS]
