"""Whether a published link will work for the people it is sent to, said in words.

A link whose base is a loopback address (``127.0.0.1``, ``localhost``, ``::1``)
opens only on the server's own machine; one on a port the server took because
its own was busy changes when the server restarts elsewhere. Both are fixed
by the `public_url` setting, and the warning says how to set it.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from ballast_tui.config import DEFAULT_HOST, Settings

HOW = (
    "Set public_url to the address people reach this server at: `ballast serve --public-url "
    "https://dash.example.com`, the BALLAST_PUBLIC_URL variable, or public_url in the workspace's "
    "ballast.toml."
)


def base_url(settings: Settings) -> str:
    """The base of published links: `public_url` (set, or announced by the running server), else the
    address a server on these settings would take."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = settings.host if settings.host not in ("", "0.0.0.0", "::", "[::]") else DEFAULT_HOST
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{settings.port}"


def is_loopback(host: str | None) -> bool:
    """Whether `host` names this machine only."""
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def link_warning(settings: Settings) -> str | None:
    """What is wrong with the links these settings give (None when nothing is), and how to fix it."""
    parts = urlsplit(base_url(settings))
    problems: list[str] = []
    if is_loopback(parts.hostname):
        problems.append(f"The link points at {parts.hostname}, which opens only on this machine.")
    if settings.port_taken is not None:
        problems.append(
            f"The server listens on port {parts.port} because port {settings.port_taken} was taken, "
            "so the link changes if the server gets another port."
        )
    return " ".join([*problems, HOW]) if problems else None
