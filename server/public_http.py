"""What every answer of the published page shares: the board a request resolves to, the security
headers, the cache headers and conditional requests, the public base URL.

A request resolves through the `public_page` tool, called as an anonymous
reader with the request's access cookie: an unknown slug is a 404, a protected
board without a valid cookie resolves to no state (the password form).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ballast_server import public_auth
from ballast_server.keys import REGISTRY, WORKSPACE
from ballast_server.public_render import DRAWINGS
from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import PasswordRequired


@dataclass(frozen=True)
class Resolved:
    """A request's published board: its page state (the `public_page` tool's answer), or None when
    the viewer must give the password first."""

    slug: str
    state: dict[str, Any] | None

    @property
    def protected(self) -> bool:
        return self.state is None or bool(self.state["board"]["protected"])


async def resolve_request(request: web.Request, query: Mapping[str, str]) -> Resolved:
    """The board behind the request's slug for this viewer, through the `public_page` tool (404 for
    an unknown slug; a protected board without a valid access cookie resolves to no state)."""
    slug = request.match_info["slug"]
    cookie = request.cookies.get(public_auth.ACCESS_COOKIE) or None
    ctx = Context.anonymous(request.app[WORKSPACE], link_access=cookie)
    try:
        state = await request.app[REGISTRY].acall(ctx, "public_page", {"slug": slug, "choices": dict(query)})
    except PasswordRequired:
        return Resolved(slug, None)
    request.app[DRAWINGS].learn(state["board"]["id"], slug)
    return Resolved(slug, state)


def security_headers(
    style_hashes: tuple[str, ...] = (), frame_ancestors: Sequence[str] = ()
) -> dict[str, str]:
    """Headers every public answer carries: a strict CSP (own scripts only, no framing) and friends.

    `frame_ancestors`: the origins that may frame this answer (the page's `embed_origins`); then
    `X-Frame-Options`, which can name no origin, is left out rather than contradict the CSP.
    """
    styles = " ".join(["'self'", *(f"'sha256-{h}'" for h in style_hashes)])
    ancestors = " ".join(frame_ancestors) or "'none'"
    headers = {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; "
            f"style-src {styles}; img-src 'self' data:; font-src 'self'; "
            f"form-action 'self'; frame-ancestors {ancestors}; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if not frame_ancestors:
        headers["X-Frame-Options"] = "DENY"
    return headers


def cache_headers(resolved: Resolved, etag: str) -> dict[str, str]:
    """The page's ETag, and who may keep it (a protected board's: the viewer's browser alone)."""
    private = resolved.protected
    return {
        "ETag": f'"{etag}"',
        "Cache-Control": "private, no-cache" if private else "public, no-cache",
        "Vary": "Cookie, Accept-Encoding",
    }


def not_modified(request: web.Request, etag: str) -> bool:
    """Whether the request's `If-None-Match` names `etag`."""
    return any(tag.value == etag for tag in request.if_none_match or ())


def wants_json(request: web.Request) -> bool:
    """Whether the client asks for JSON rather than a page (an API client, not a browser)."""
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def base_url(request: web.Request) -> str:
    """The public base URL: `--public-url` or the server's announced address, else the request's."""
    announced = request.app[WORKSPACE].settings.public_url
    return (announced or f"{request.scheme}://{request.host}").rstrip("/")
