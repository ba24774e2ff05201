"""``/public/dashboards/{slug}``: the published dashboard as a web page, and its preview.

- ``GET`` (and ``HEAD``, for link unfurlers) answers the page: the board drawn
  as the terminal draws it (two SVGs from the drawing worker, inline: the
  wide drawing, and one block per row for narrow screens; the stylesheet's
  media query shows one), link-preview tags, a plain form for its displayed
  controls (``?region=EU``; the choices are computed for this page alone,
  nothing is stored), and, when the owner turned downloads on, a CSV link per
  displayed table and chart carrying the choices (`server.public_download`).
  It works without JavaScript; `public.js` only applies a choice as soon as
  it is picked. A protected board without a valid access cookie answers the
  password form (`server.public_password` takes it), whose preview is a
  generic card: no title, no data. Only the page itself may be framed, and
  only by the owner's `embed_origins`.
- ``GET /public/dashboards/{slug}/preview.png`` is the `og:image`: the top of
  the default drawing, 1200x630.

Pages carry an ETag (the page key: the blocks' current runs, the layout, the
choices, the link's options; it covers both drawings, made together), so a
repeat view is a 304, and a page already built is served from memory.
Unpublishing or deleting makes the URL a 404 at the next request, and cookies
given before an unpublish or a password change stop working.

The page's parts live beside it: its HTML (`server.public_html`), what its
answers share (`server.public_http`), its password form
(`server.public_password`), its files (`server.public_static`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator

from aiohttp import web

from ballast_server.keys import WORKSPACE
from ballast_server.middlewares import public
from ballast_server.public_choices import CHOICES
from ballast_server.public_html import CachedPage, build_page, not_found_page, password_page, problem_page
from ballast_server.public_http import (
    base_url,
    cache_headers,
    not_modified,
    resolve_request,
    security_headers,
)
from ballast_server.public_password import password_post
from ballast_server.public_render import DRAWINGS, DrawingFailed, drawings_ctx
from ballast_server.public_static import asset
from ballast_tui.engine.errors import InvalidRequest, NotFound, RateLimited

log = logging.getLogger("ballast.server.public")

PAGE_CACHE_SIZE = 128
PAGES: web.AppKey[OrderedDict[str, CachedPage]] = web.AppKey("public_pages")


def _choices(request: web.Request) -> dict[str, str]:
    """The query's first value of each parameter."""
    query = request.rel_url.query
    return {name: query[name] for name in query}


@public
async def page(request: web.Request) -> web.StreamResponse:
    """``GET``/``HEAD /public/dashboards/{slug}``."""
    slug = request.match_info["slug"]
    try:
        resolved = await resolve_request(request, _choices(request))
    except NotFound:
        return not_found_page(request)
    except InvalidRequest as error:
        return problem_page(request, 400, "invalid_request", error.message)
    state = resolved.state
    if state is None:
        return password_page(request, slug)
    key, board_id = state["key"], state["board"]["id"]
    headers = cache_headers(resolved, key)
    framing = tuple(state["embed_origins"])
    pages = request.app[PAGES]
    cached = pages.get(key)
    if not_modified(request, key):
        # A 304's headers replace the stored ones: keep the page's style hashes when it is at hand.
        hashes = cached.style_hashes if cached is not None else ()
        return web.Response(status=304, headers={**headers, **security_headers(hashes, framing)})
    if cached is None and request.method == "HEAD":
        # Unfurlers ask HEAD first: answer the headers without drawing.
        return web.Response(content_type="text/html", headers={**headers, **security_headers((), framing)})
    if cached is None:

        async def draw() -> CachedPage:
            drawing = await request.app[DRAWINGS].get(
                board_id, slug, state["drawing_key"], state["overrides"]
            )
            return await asyncio.to_thread(build_page, base_url(request), resolved, drawing)

        try:
            if state["overrides"]:  # a viewer's choice: limited, a few at a time (`server.public_choices`)
                cached = await request.app[CHOICES].answer(request, board_id, key, draw)
            else:
                cached = await draw()
        except RateLimited as limited:
            wait = str(limited.extra.get("retry_after", 60))
            return problem_page(request, 429, "rate_limited", limited.message, **{"Retry-After": wait})
        except DrawingFailed as error:
            log.error("could not draw %s: %s", board_id, error)
            return problem_page(request, 503, "unavailable", "The dashboard could not be drawn; try again.")
        pages[key] = cached
        while len(pages) > PAGE_CACHE_SIZE:
            pages.popitem(last=False)
    else:
        pages.move_to_end(key)
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = cached.gzipped
    else:
        body = cached.body
    return web.Response(
        body=body,
        content_type="text/html",
        charset="utf-8",
        headers={**headers, **security_headers(cached.style_hashes, framing)},
    )


@public
async def preview(request: web.Request) -> web.StreamResponse:
    """``GET /public/dashboards/{slug}/preview.png``: the default drawing's top, 1200x630."""
    slug = request.match_info["slug"]
    try:
        resolved = await resolve_request(request, {})
    except NotFound:
        return not_found_page(request)
    state = resolved.state
    if state is None:  # protected: the page's preview is the generic card, not this
        return not_found_page(request)
    key, board_id = state["drawing_key"], state["board"]["id"]
    headers = cache_headers(resolved, key)
    if request.rel_url.query.get("v") == key and not resolved.protected:
        headers["Cache-Control"] = "public, max-age=31536000, immutable"
    if not_modified(request, key):
        return web.Response(status=304, headers={**headers, **security_headers()})
    try:
        drawing = await request.app[DRAWINGS].get(board_id, slug, key, {})
    except DrawingFailed as error:
        log.error("could not draw the preview of %s: %s", board_id, error)
        return problem_page(request, 503, "unavailable", "The preview could not be drawn; try again.")
    png = await asyncio.to_thread(drawing.png.read_bytes)
    return web.Response(body=png, content_type="image/png", headers={**headers, **security_headers()})


async def _secret_ctx(app: web.Application) -> AsyncIterator[None]:
    """Read (or make) the workspace's signing key once, off the loop, before the first request."""
    await asyncio.to_thread(lambda: app[WORKSPACE].secret)
    yield


def setup_public_page(app: web.Application) -> None:
    """Add the public page's routes, its signing key, its page cache and its drawings."""
    app[PAGES] = OrderedDict()
    app.cleanup_ctx.append(_secret_ctx)
    app.cleanup_ctx.append(drawings_ctx)
    app.router.add_get("/public/dashboards/{slug}", page, name="public_page")
    app.router.add_post("/public/dashboards/{slug}", password_post, name="public_password")
    app.router.add_get("/public/dashboards/{slug}/preview.png", preview, name="public_preview")
    app.router.add_get("/public/assets/{name}", asset, name="public_asset")
