"""``POST /public/dashboards/{slug}``: the password form of a protected published board.

The post is CSRF-checked (`server.public_auth`), its wrong passwords rate
limited with the JSON route's limiter (more than 10 a minute from one client
for one slug answer 429 with `Retry-After`), and the right password sets the
access cookie the `public_unlock` tool made, then sees the page again (303).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ballast_server import public_auth
from ballast_server.auth import client_address
from ballast_server.keys import REGISTRY, WORKSPACE
from ballast_server.middlewares import public
from ballast_server.public_html import not_found_page, password_page, problem_page
from ballast_server.public_http import resolve_request, security_headers
from ballast_server.public_routes import PASSWORD_LIMITER
from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import InvalidRequest, NotFound, PasswordRequired

PASSWORD_MAX = 1024


@public
async def password_post(request: web.Request) -> web.StreamResponse:
    """``POST /public/dashboards/{slug}``: the password form."""
    slug = request.match_info["slug"]
    form = await _form(request)
    password, token = form.get("password"), form.get("csrf")
    try:
        resolved = await resolve_request(request, {})
    except NotFound:
        return not_found_page(request)
    secret = request.app[WORKSPACE].secret
    if not isinstance(token, str) or not public_auth.csrf_ok(request, secret, slug, token):
        return password_page(
            request, slug, 403, "This form expired or was sent from another site. Please try again."
        )
    if resolved.state is not None and not resolved.protected:
        return _see_other(public_auth.board_path(slug))
    if not isinstance(password, str) or not password or len(password) > PASSWORD_MAX:
        return password_page(request, slug, 403, "Enter the dashboard's password.")
    limiter = request.app[PASSWORD_LIMITER]
    limit_key = (client_address(request), slug)
    wait = limiter.acquire(limit_key)
    if wait is not None:
        return problem_page(
            request,
            429,
            "rate_limited",
            f"Too many wrong passwords for this dashboard; try again in {wait} s.",
            **{"Retry-After": str(wait)},
        )
    failed = False
    ctx = Context.anonymous(request.app[WORKSPACE])
    try:
        unlocked = await request.app[REGISTRY].acall(
            ctx, "public_unlock", {"slug": slug, "password": password}
        )
    except PasswordRequired:
        failed = True
        return password_page(request, slug, 403, "Wrong password.")
    finally:
        limiter.release(limit_key, failed)
    response = _see_other(public_auth.board_path(slug))
    if unlocked["access"]:
        public_auth.grant_access(response, request, slug, unlocked["access"], unlocked["maxAge"])
    return response


async def _form(request: web.Request) -> Mapping[str, Any]:
    """The posted form; a body that is no form is empty.

    A form body that cannot be read (a multipart one without its boundary, a broken one) answers
    400 `invalid_request`, as any malformed request does.
    """
    try:
        return await request.post()
    except (ValueError, AssertionError):
        raise InvalidRequest(
            "the form could not be read (a multipart/form-data body needs its boundary)"
        ) from None


def _see_other(location: str) -> web.Response:
    """303 to the page (a reload does not post the password again)."""
    return web.Response(status=303, headers={"Location": location, **security_headers()})
