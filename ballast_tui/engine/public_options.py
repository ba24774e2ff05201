"""A published link's options: CSV downloads of its tables and charts, and who may frame its page.

Both are the owner's (`dashboard_set_public_options`) and both are off by
default: the page offers no downloads, and no other site may frame it (CSP
``frame-ancestors 'none'``). An embedding origin is exactly what a browser
sends as an `Origin`: ``https://host`` or ``https://host:port`` (``http://``
too, for an intranet or a test page), lower-case, no path, no wildcard.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ballast_tui.engine.errors import InvalidRequest

MAX_ORIGINS = 20
ORIGIN_MAX_LENGTH = 300

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ORIGIN = re.compile(
    rf"^(?P<scheme>https?)://(?P<host>{_LABEL}(?:\.{_LABEL})*|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{{1,5}}))?$"
)


@dataclass(frozen=True)
class PublicOptions:
    """What a board's published link offers beyond its page."""

    downloads: bool = False
    """The page links each displayed table and chart's data as CSV, for the page's choices."""
    embed_origins: tuple[str, ...] = ()
    """The origins allowed to frame the page (none: no site may)."""

    @classmethod
    def of(cls, board: Mapping[str, Any]) -> PublicOptions:
        """A board row's options (`public_downloads`, `embed_origins` as stored)."""
        stored = board.get("embed_origins") or "[]"
        origins = json.loads(stored) if isinstance(stored, str) else stored
        return cls(bool(board.get("public_downloads")), tuple(str(o) for o in origins))

    def describe(self) -> dict[str, Any]:
        """The options as tools answer them: ``{"downloads": bool, "embed_origins": [origins]}``."""
        return {"downloads": self.downloads, "embed_origins": list(self.embed_origins)}


def parse_origin(text: str) -> str:
    """`text` as an origin (lower-cased), or 400 `invalid_request` saying what an origin is."""
    lowered = text.lower()
    match = _ORIGIN.match(lowered) if len(text) <= ORIGIN_MAX_LENGTH else None
    if match is None or not _valid_host(match["host"]) or not _valid_port(match["port"]):
        raise InvalidRequest(
            f"embed_origins: {text!r} is not an origin; write https://host or https://host:port "
            "(http:// too), without a path, a trailing slash or a wildcard"
        )
    return lowered


def parse_origins(texts: Iterable[str]) -> tuple[str, ...]:
    """Each of `texts` as an origin (400 at the first that is not), duplicates dropped, in order."""
    origins = tuple(dict.fromkeys(parse_origin(text) for text in texts))
    if len(origins) > MAX_ORIGINS:
        raise InvalidRequest(f"embed_origins: at most {MAX_ORIGINS} origins")
    return origins


def _valid_host(host: str) -> bool:
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    labels = host.split(".")
    if all(label.isdigit() for label in labels):  # looks like IPv4: must be one
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
    return len(host) <= 253


def _valid_port(port: str | None) -> bool:
    return port is None or 1 <= int(port) <= 65535
