"""Cross-cutting concerns of every request: the access log, errors in the contract's shape, auth.

Errors always answer ``{"success": false, "error": CODE, "message": TEXT}``:
a `ToolError` with its own status and code, aiohttp's HTTP errors (unknown
route, wrong method, body too large, …) mapped onto the contract's codes, and
anything unexpected as a bare 500 ``internal`` whose details go to the log only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ballast_server.auth import identify
from ballast_server.jsonio import json_response
from ballast_server.keys import USER, WORKSPACE
from ballast_tui.engine.errors import ToolError, Unauthorized

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger("ballast.server")
access_log = logging.getLogger("ballast.server.access")

_PUBLIC_ATTR = "__ballast_public__"

# aiohttp's own HTTP errors onto the contract's codes; other 4xx are `invalid_request`.
_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "too_large",
    423: "locked",
    429: "rate_limited",
}
# Headers of an aiohttp HTTP error worth keeping on the JSON answer (e.g. `Allow` on a 405).
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def public(handler: Handler) -> Handler:
    """Mark a route handler as answering without authentication."""
    setattr(handler, _PUBLIC_ATTR, True)
    return handler


def is_public(request: web.Request) -> bool:
    """Whether the matched route is public, or no route matched (its 404/405 needs no user)."""
    match = request.match_info
    if match.http_exception is not None:
        return True
    return bool(getattr(match.handler, _PUBLIC_ATTR, False))


def error_body(code: str, message: str) -> dict[str, Any]:
    """The contract's error shape."""
    return {"success": False, "error": code, "message": message}


def _http_error_message(request: web.Request, error: web.HTTPException) -> str:
    """A human sentence for one of aiohttp's own HTTP errors."""
    if error.status == 404:
        return f"no route {request.method} {request.path}"
    if error.status == 405:
        allowed = error.headers.get("Allow")
        suffix = f"; allowed: {allowed}" if allowed else ""
        return f"{request.method} is not allowed on {request.path}{suffix}"
    if error.status == 413:
        limit = request.app[WORKSPACE].settings.max_body
        return f"the request body is larger than the limit of {limit} bytes"
    return error.reason or f"HTTP error {error.status}"


def _http_error_response(request: web.Request, error: web.HTTPException) -> web.Response:
    code = _CODES.get(error.status, "invalid_request" if error.status < 500 else "internal")
    headers = {name: error.headers[name] for name in _KEPT_HEADERS if name in error.headers}
    body = error_body(code, _http_error_message(request, error))
    return json_response(body, status=error.status, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure as the contract's JSON error; internals are logged, never sent."""
    try:
        return await handler(request)
    except ToolError as error:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
        retry = error.extra.get("retry_after")
        if error.status == 429 and retry is not None:
            headers["Retry-After"] = str(retry)
        return json_response(error.to_dict(), status=error.status, headers=headers or None)
    except web.HTTPException as error:
        if error.status < 400:  # redirects and the like pass through untouched
            raise
        return _http_error_response(request, error)
    except Exception:
        log.exception("internal error on %s %s", request.method, request.path)
        return json_response(error_body("internal", "internal error"), status=500)


def bearer_token(request: web.Request) -> str:
    """The token of an ``Authorization: Bearer <token>`` header, or 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if not header:
        raise Unauthorized("a bearer token is required: send 'Authorization: Bearer <token>'")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the bearer token to a user (`server.auth.identify`: from memory when it can)."""
    if not is_public(request):
        request[USER] = (await identify(request, bearer_token(request))).user
    return await handler(request)


@web.middleware
async def access_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One structured line per request: method, path, status, duration, user id."""
    started = time.perf_counter()
    status: int | None = None
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away before the answer
        raise
    except Exception:
        status = 500
        raise
    finally:
        duration_ms = (time.perf_counter() - started) * 1000
        user = request.get(USER)
        user_id = user.id if user is not None else None
        access_log.info(
            "%s %s %s %.1fms user=%s",
            request.method,
            request.path,
            status,
            duration_ms,
            user_id or "-",
            extra={
                "method": request.method,
                "path": request.path,
                "status": status,
                "duration_ms": round(duration_ms, 1),
                "user_id": user_id,
                "remote": request.remote,
            },
        )
