"""Who a request is: its bearer token checked cheaply, bad tokens limited, revocations followed.

- A token checked before (and not revoked since) is answered from memory on
  the event loop: no thread hop, no I/O (`Users.identify_cached`).
- Otherwise it is checked on the auth pool (one HMAC and one indexed read).
  Bad tokens are counted per client: more than `BAD_TOKENS_PER_MINUTE` a
  minute answer 429 `rate_limited` with `Retry-After`, before any work, after
  a short wait (`TARPIT_S`) that keeps a flooding client from taking the
  server's time.
- `access_watch` reads the workspace's `access` counter every `WATCH_EVERY_S`:
  a token revoked (or a user removed) by another process is forgotten, and
  every live session re-checks its access, within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from ballast_server.keys import AUTH_POOL, WORKSPACE
from ballast_server.ratelimit import AttemptLimiter
from ballast_tui.engine.errors import RateLimited, Unauthorized
from ballast_tui.engine.live import recheck_all
from ballast_tui.engine.users import Identity

log = logging.getLogger("ballast.server.auth")

BAD_TOKENS_PER_MINUTE = 30
WATCH_EVERY_S = 0.5
TARPIT_S = 1.0
"""How long a client over its bad-token limit waits for its 429: a flood of bad tokens then costs
the server a sleeping task per connection, not its event loop's time."""
BAD_TOKENS = web.AppKey("bad_tokens", AttemptLimiter)


def client_address(request: web.Request) -> str:
    """The client a limit counts for: the peer's address, or behind a trusted proxy the client it names
    (`server.forwarded` hands the request on with that `remote`)."""
    return request.remote or "unknown"


async def identify(request: web.Request, token: str) -> Identity:
    """The user and token of a request's bearer token, or 401; 429 for a client sending bad ones."""
    users = request.app[WORKSPACE].users
    found = users.identify_cached(token)
    if found is not None:
        return found
    limiter = request.app[BAD_TOKENS]
    key = client_address(request)
    wait = limiter.acquire(key)
    if wait is not None:
        await asyncio.sleep(min(TARPIT_S, wait))
        raise RateLimited(f"too many bad tokens from this address; try again in {wait} s", retry_after=wait)
    failed = False
    try:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(request.app[AUTH_POOL], users.identify, token)
    except Unauthorized:
        failed = True
        raise
    finally:
        limiter.release(key, failed)


async def access_watch(app: web.Application) -> AsyncIterator[None]:
    """`cleanup_ctx`: follow revocations made anywhere (see the module's doc)."""
    ws = app[WORKSPACE]
    app[BAD_TOKENS] = AttemptLimiter(BAD_TOKENS_PER_MINUTE)

    def look() -> None:
        if ws.users.watch():
            recheck_all(ws)

    async def watch_forever() -> None:
        while True:
            try:
                await asyncio.get_running_loop().run_in_executor(app[AUTH_POOL], look)
            except Exception:
                log.exception("could not read the workspace's access counter")
            await asyncio.sleep(WATCH_EVERY_S)

    task = asyncio.create_task(watch_forever())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
