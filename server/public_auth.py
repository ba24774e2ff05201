"""The published page's cookies: access to a protected board, and the password form's CSRF check.

Access: the right password sets ``ballast_access`` for the board's path alone
(``Path=/public/dashboards/<slug>``), HttpOnly, SameSite=Lax. Its value comes
from the `public_unlock` tool and is checked by the registry whenever a
published-link tool loads the board (`ballast_tui.engine.link_access`): a new
password or an unpublish makes every cookie given before it worthless, at once.

CSRF: the form page sets ``ballast_csrf`` (random, HttpOnly, SameSite=Strict,
the same path) and puts a signature of it in the form. A post must bring both,
matching, and, when the browser says where it comes from (`Origin`), come
from this server. A page of another site can neither read the cookie nor make
the browser send it with its own post.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from ballast_tui.engine.signing import sign, verify

ACCESS_COOKIE = "ballast_access"
CSRF_COOKIE = "ballast_csrf"


def board_path(slug: str) -> str:
    return f"/public/dashboards/{slug}"


def grant_access(
    response: web.StreamResponse, request: web.Request, slug: str, value: str, max_age: int
) -> None:
    """Set the access cookie `public_unlock` made for the board at `slug` on `response`."""
    response.set_cookie(
        ACCESS_COOKIE,
        value,
        path=board_path(slug),
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=request.secure,
    )


def csrf_token(request: web.Request, response: web.StreamResponse, key: bytes, slug: str) -> str:
    """The form's token: reuses the request's CSRF cookie, or sets a new one on `response`."""
    nonce = request.cookies.get(CSRF_COOKIE, "")
    if not (20 <= len(nonce) <= 64 and nonce.replace("-", "").replace("_", "").isalnum()):
        nonce = secrets.token_urlsafe(24)
        response.set_cookie(
            CSRF_COOKIE, nonce, path=board_path(slug), httponly=True, samesite="Strict", secure=request.secure
        )
    return sign(key, "csrf", slug, nonce)


def same_origin(request: web.Request) -> bool:
    """False when the browser names another origin as the post's source (absent: allowed)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return origin == f"{request.scheme}://{request.host}"


def csrf_ok(request: web.Request, key: bytes, slug: str, token: str) -> bool:
    """Whether a form post carries the token made for its CSRF cookie, from this server."""
    nonce = request.cookies.get(CSRF_COOKIE, "")
    return bool(nonce) and bool(token) and same_origin(request) and verify(key, token, "csrf", slug, nonce)
