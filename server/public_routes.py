"""``POST /api/v1/public/dashboards/{slug}``: a published board's displayed blocks, without auth.

The route is thin: parse the body, apply the password rate limit (which is the
transport's concern: it is keyed by the client's address), and answer the
`public_dashboard` tool's answer, called as an anonymous caller off the event
loop, from the server's cache of encoded answers (`server.public_answers`):
the `public_answer_key` tool checks the password and names the answer; only an
answer not made yet is computed (a viewer's new choice through
`server.public_choices`' limits). An open board's answer asked for again with
nothing changed is served with no tool call.

The limit: more than `PASSWORD_ATTEMPTS` wrong passwords within a minute from
one client (its remote address) for one slug answer 429 `rate_limited` with
`Retry-After`, on every further attempt that carries a password (the right one
too) until the window passes. Requests without a password never count, and
are never refused by the limit: reading an open board, or being told that a
board needs a password, costs nothing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from ballast_server.auth import client_address
from ballast_server.jsonio import dumps, json_response, parse_object
from ballast_server.keys import REGISTRY, WORKSPACE
from ballast_server.middlewares import error_body, public
from ballast_server.public_answers import Answers
from ballast_server.public_choices import CHOICES, setup_choices
from ballast_server.ratelimit import AttemptLimiter
from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.link_access import WrongPassword

API = "/api/v1"

PASSWORD_LIMITER = web.AppKey("password_limiter", AttemptLimiter)
"""Wrong public-link passwords per (client address, slug)."""


ANSWERS = web.AppKey("public_answers", Answers)
"""The encoded public answers (`server.public_answers`)."""

_JSON = {"Content-Type": "application/json; charset=utf-8"}


def _choices_key(body: dict[str, Any]) -> str | None:
    """The viewer's choices as a route key ("" for none), or None when the body holds more than
    choices (a password, or a field to refuse): then the tools check it whatever is cached."""
    if not body.keys() <= {"filter_overrides"}:
        return None
    choices = body.get("filter_overrides")
    if not choices:
        return "" if choices is None or choices == {} else None
    if not isinstance(choices, dict):
        return None
    return json.dumps(choices, sort_keys=True, separators=(",", ":"))


async def _answer(request: web.Request, body: dict[str, Any], arguments: dict[str, Any]) -> web.Response:
    answers = request.app[ANSWERS]
    slug = arguments["slug"]
    route = _choices_key(body)
    if route is not None and (fresh := answers.fresh(slug, route)) is not None:
        return web.Response(body=fresh, headers=_JSON)
    registry = request.app[REGISTRY]
    ctx = Context.anonymous(request.app[WORKSPACE])
    stamp = answers.stamp()
    state = await registry.acall(ctx, "public_answer_key", arguments)  # checks the password
    board_id, key = state["board_id"], state["key"]
    answer = answers.body(key)
    if answer is None:

        async def make() -> bytes:
            return dumps(await registry.acall(ctx, "public_dashboard", arguments)).encode()

        async def compute() -> bytes:
            return await answers.compute(board_id, key, stamp, make)

        choice = arguments.get("filter_overrides")
        if choice:  # a viewer's new choice: limited, a few at a time per board (`server.public_choices`)
            answer = await request.app[CHOICES].answer(request, slug, choice, compute)
        else:
            answer = await compute()
    if route is not None and not state["protected"]:
        answers.remember(slug, route, board_id, key, stamp)
    return web.Response(body=answer, headers=_JSON)


@public
async def public_dashboard(request: web.Request) -> web.Response:
    """``POST /api/v1/public/dashboards/{slug}`` with ``{password?, filter_overrides?}`` (or no body)."""
    slug = request.match_info["slug"]
    body = parse_object(await request.read())
    if "slug" in body:
        raise InvalidRequest("unknown field slug; this route accepts password, filter_overrides")
    arguments = {**body, "slug": slug}
    if not body.get("password"):
        return await _answer(request, body, arguments)
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
        return await _answer(request, body, arguments)
    except WrongPassword:
        failed = True
        raise
    finally:
        limiter.release(key, failed)


async def _answers_ctx(app: web.Application) -> AsyncIterator[None]:
    """Follow every board's events while the app runs: a change drops its board's answers."""
    unsubscribe = app[WORKSPACE].bus.subscribe(None, app[ANSWERS].on_event)
    try:
        yield
    finally:
        unsubscribe()


def setup_public_routes(app: web.Application) -> None:
    """Add the public dashboard route, its answers' cache and its password limiter to `app`."""
    app[PASSWORD_LIMITER] = AttemptLimiter()
    app[ANSWERS] = Answers()
    app.cleanup_ctx.append(_answers_ctx)
    setup_choices(app)
    app.router.add_post(f"{API}/public/dashboards/{{slug}}", public_dashboard, name="public_dashboard")
