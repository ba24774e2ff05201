"""``POST /api/v1/public/dashboards/{slug}``: a published board's displayed blocks, without auth.

The route is thin: parse the body, apply the password rate limit (which is the
transport's concern: it is keyed by the client's address), and call the
`public_dashboard` tool as an anonymous caller, off the event loop.

The limit: more than `PASSWORD_ATTEMPTS` wrong passwords within a minute from
one client (its remote address) for one slug answer 429 `rate_limited` with
`Retry-After`, on every further attempt that carries a password (the right one
too) until the window passes. Requests without a password never count, and
are never refused by the limit: reading an open board, or being told that a
board needs a password, costs nothing.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.link_access import WrongPassword
from server.auth import client_address
from server.jsonio import json_response, parse_object
from server.keys import REGISTRY, WORKSPACE
from server.middlewares import error_body, public
from server.public_choices import CHOICES, setup_choices
from server.ratelimit import AttemptLimiter

API = "/api/v1"

PASSWORD_LIMITER = web.AppKey("password_limiter", AttemptLimiter)
"""Wrong public-link passwords per (client address, slug)."""


async def _answer(request: web.Request, arguments: dict[str, Any]) -> web.Response:
    ctx = Context.anonymous(request.app[WORKSPACE])

    async def compute() -> dict[str, Any]:
        return await request.app[REGISTRY].acall(ctx, "public_dashboard", arguments)

    choice = arguments.get("filter_overrides")
    if choice:  # a viewer's choice: limited, a few at a time per board (`server.public_choices`)
        answer = await request.app[CHOICES].answer(request, arguments["slug"], choice, compute)
    else:
        answer = await compute()
    return json_response(answer)


@public
async def public_dashboard(request: web.Request) -> web.Response:
    """``POST /api/v1/public/dashboards/{slug}`` with ``{password?, filter_overrides?}`` (or no body)."""
    slug = request.match_info["slug"]
    body = parse_object(await request.read())
    if "slug" in body:
        raise InvalidRequest("unknown field slug; this route accepts password, filter_overrides")
    arguments = {**body, "slug": slug}
    if not body.get("password"):
        return await _answer(request, arguments)
    limiter = request.app[PASSWORD_LIMITER]
    key = (client_address(request), slug)
    wait = limiter.acquire(key)
    if wait is not None:
        message = f"too many wrong passwords for this dashboard; try again in {wait} s"
        return json_response(
            error_body("rate_limited", message), status=429, headers={"Retry-After": str(wait)}
        )
    failed = False
    try:
        return await _answer(request, arguments)
    except WrongPassword:
        failed = True
        raise
    finally:
        limiter.release(key, failed)


def setup_public_routes(app: web.Application) -> None:
    """Add the public dashboard route and its password limiter to `app`."""
    app[PASSWORD_LIMITER] = AttemptLimiter()
    setup_choices(app)
    app.router.add_post(f"{API}/public/dashboards/{{slug}}", public_dashboard, name="public_dashboard")
