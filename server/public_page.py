"""``/public/dashboards/{slug}``: the published dashboard as a web page, its preview, its password form.

- ``GET`` (and ``HEAD``, for link unfurlers) answers the page: the board drawn
  as the terminal draws it (two SVGs from the drawing worker, inline: the
  wide drawing, and one block per row for narrow screens; the stylesheet's
  media query shows one), link-preview tags, a plain form for its displayed
  controls (``?region=EU``; the choices are computed for this page alone,
  nothing is stored), and, when the owner turned downloads on, a CSV link per
  displayed table and chart carrying the choices (`server.public_download`).
  It works without JavaScript; `public.js` only applies a choice as soon as
  it is picked. A protected board without a valid access cookie answers the
  password form, whose preview is a generic card: no title, no data. Only
  the page itself may be framed, and only by the owner's `embed_origins`.
- ``POST`` takes the password form (CSRF-checked, rate limited with the JSON
  route's limiter) and sets the access cookie.
- ``GET /public/dashboards/{slug}/preview.png`` is the `og:image`: the top of
  the default drawing, 1200x630.
- ``GET /public/assets/{name}`` serves the page's own CSS, script, fonts and
  the generic card: nothing is fetched from anywhere else.

Pages carry an ETag (the page key: the blocks' current runs, the layout, the
choices, the link's options; it covers both drawings, made together), so a
repeat view is a 304, and a page already built is served from memory.
Unpublishing or deleting makes the URL a 404 at the next request, and cookies
given before an unpublish or a password change stop working.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import InvalidRequest, NotFound, PasswordRequired, RateLimited
from server import public_auth
from server.auth import client_address
from server.jsonio import json_response
from server.keys import REGISTRY, WORKSPACE
from server.middlewares import error_body, public
from server.public_choices import CHOICES
from server.public_render import DRAWINGS, Drawing, DrawingFailed, drawings_ctx
from server.public_routes import PASSWORD_LIMITER

log = logging.getLogger("ballast.server.public")

PAGE_CACHE_SIZE = 128
PASSWORD_MAX = 1024
PAGES: web.AppKey[OrderedDict[str, CachedPage]] = web.AppKey("public_pages")

PRESET_LABELS = {"7d": "Last 7 days", "30d": "Last 30 days", "90d": "Last 90 days", "today": "Today"}
PROTECTED_TITLE = "Protected dashboard"
PROTECTED_DESCRIPTION = "A Ballast dashboard behind a password."

_ASSET_DIR = Path(__file__).parent / "public_assets"
_FONT_DIR = resources.files("ballast_tui.published").joinpath("fonts")
ASSETS: dict[str, tuple[Any, str]] = {
    "public.css": (_ASSET_DIR / "public.css", "text/css; charset=utf-8"),
    "public.js": (_ASSET_DIR / "public.js", "text/javascript; charset=utf-8"),
    "protected.png": (_ASSET_DIR / "protected.png", "image/png"),
    "DejaVuSansMono.ttf": (_FONT_DIR.joinpath("DejaVuSansMono.ttf"), "font/ttf"),
    "DejaVuSansMono-Bold.ttf": (_FONT_DIR.joinpath("DejaVuSansMono-Bold.ttf"), "font/ttf"),
}

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


@dataclass(frozen=True)
class CachedPage:
    """A built page (also gzipped once, for every client that takes it) and the hashes of the
    inline styles its CSP must allow."""

    body: bytes
    gzipped: bytes
    style_hashes: tuple[str, ...]


@dataclass(frozen=True)
class Resolved:
    """A request's published board: its page state (the `public_page` tool's answer), or None when
    the viewer must give the password first."""

    slug: str
    state: dict[str, Any] | None

    @property
    def protected(self) -> bool:
        return self.state is None or bool(self.state["board"]["protected"])


# -- headers ------------------------------------------------------------------


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


def _style_hashes(svg: str) -> tuple[str, ...]:
    return tuple(
        base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() for style in _STYLE.findall(svg)
    )


def _wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def base_url(request: web.Request) -> str:
    """The public base URL: `--public-url` or the server's announced address, else the request's."""
    announced = request.app[WORKSPACE].settings.public_url
    return (announced or f"{request.scheme}://{request.host}").rstrip("/")


# -- pages ----------------------------------------------------------------------


def _generic_card(request: web.Request, slug: str) -> dict[str, str]:
    return {
        "title": PROTECTED_TITLE,
        "description": PROTECTED_DESCRIPTION,
        "url": f"{base_url(request)}{public_auth.board_path(slug)}",
        "image": f"{base_url(request)}/public/assets/protected.png",
        "image_alt": PROTECTED_TITLE,
    }


def problem_page(request: web.Request, status: int, code: str, message: str, **headers: str) -> web.Response:
    """An error as the page's reader gets it: HTML, or the contract's JSON to an API client."""
    all_headers = {**security_headers(), "Cache-Control": "no-store", **headers}
    if _wants_json(request):
        return json_response(error_body(code, message), status=status, headers=all_headers)
    headings = {404: "Not found", 400: "That choice is not available", 429: "Too many attempts"}
    body = _templates.get_template("error.html").render(
        title=headings.get(status, "Something went wrong"),
        heading=headings.get(status, "Something went wrong"),
        message=message,
        code=code,
        description=message,
        url=f"{base_url(request)}{request.path}",
        image=f"{base_url(request)}/public/assets/protected.png",
        image_alt="Ballast",
    )
    return web.Response(text=body, status=status, content_type="text/html", headers=all_headers)


def password_page(request: web.Request, slug: str, status: int = 200, error: str = "") -> web.Response:
    """The form a protected board shows: a generic card, nothing of the board."""
    response = web.Response(status=status, content_type="text/html")
    token = public_auth.csrf_token(request, response, request.app[WORKSPACE].secret, slug)
    response.text = _templates.get_template("password.html").render(
        **_generic_card(request, slug), path=public_auth.board_path(slug), csrf=token, error=error
    )
    response.headers.update({**security_headers(), "Cache-Control": "no-store"})
    return response


def build_page(base: str, resolved: Resolved, drawing: Drawing) -> CachedPage:
    """The page's HTML for one drawing, gzipped too (run off the loop: it reads the drawings and
    compresses a few hundred KB)."""
    state = resolved.state
    assert state is not None
    board = state["board"]
    slug = resolved.slug
    svg, narrow = drawing.svg.read_text(), drawing.narrow.read_text()
    refreshed = board["lastRefreshedAt"]
    body = _templates.get_template("page.html").render(
        title=board["title"],
        description=drawing.description,
        url=f"{base}{public_auth.board_path(slug)}",
        image=f"{base}{public_auth.board_path(slug)}/preview.png?v={state['default_key']}",
        image_alt=f"{board['title']}, as drawn in the terminal",
        path=public_auth.board_path(slug),
        refreshed=refreshed or "",
        refreshed_text=(refreshed or "").replace("T", " ")[:16] + (" UTC" if refreshed else ""),
        controls=state["controls"],
        option_labels=PRESET_LABELS,
        changed=bool(state["overrides"]),
        empty=state["empty"],
        downloads=state["downloads"],
        svg=Markup(svg),
        narrow_svg=Markup(narrow),
    )
    encoded = body.encode()
    return CachedPage(encoded, gzip.compress(encoded, 6, mtime=0), _style_hashes(svg + narrow))


async def _resolve_request(request: web.Request, query: Mapping[str, str]) -> Resolved:
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


def _cache_headers(resolved: Resolved, etag: str) -> dict[str, str]:
    private = resolved.protected
    return {
        "ETag": f'"{etag}"',
        "Cache-Control": "private, no-cache" if private else "public, no-cache",
        "Vary": "Cookie, Accept-Encoding",
    }


def _not_modified(request: web.Request, etag: str) -> bool:
    return any(tag.value == etag for tag in request.if_none_match or ())


def _choices(request: web.Request) -> dict[str, str]:
    """The query's first value of each parameter."""
    query = request.rel_url.query
    return {name: query[name] for name in query}


@public
async def page(request: web.Request) -> web.StreamResponse:
    """``GET``/``HEAD /public/dashboards/{slug}``."""
    slug = request.match_info["slug"]
    try:
        resolved = await _resolve_request(request, _choices(request))
    except NotFound:
        return problem_page(request, 404, "not_found", "There is no published dashboard at this address.")
    except InvalidRequest as error:
        return problem_page(request, 400, "invalid_request", error.message)
    state = resolved.state
    if state is None:
        return password_page(request, slug)
    key, board_id = state["key"], state["board"]["id"]
    headers = _cache_headers(resolved, key)
    framing = tuple(state["embed_origins"])
    pages = request.app[PAGES]
    cached = pages.get(key)
    if _not_modified(request, key):
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
        resolved = await _resolve_request(request, {})
    except NotFound:
        return problem_page(request, 404, "not_found", "There is no published dashboard at this address.")
    state = resolved.state
    if state is None:  # protected: the page's preview is the generic card, not this
        return problem_page(request, 404, "not_found", "There is no published dashboard at this address.")
    key, board_id = state["drawing_key"], state["board"]["id"]
    headers = _cache_headers(resolved, key)
    if request.rel_url.query.get("v") == key and not resolved.protected:
        headers["Cache-Control"] = "public, max-age=31536000, immutable"
    if _not_modified(request, key):
        return web.Response(status=304, headers={**headers, **security_headers()})
    try:
        drawing = await request.app[DRAWINGS].get(board_id, slug, key, {})
    except DrawingFailed as error:
        log.error("could not draw the preview of %s: %s", board_id, error)
        return problem_page(request, 503, "unavailable", "The preview could not be drawn; try again.")
    png = await asyncio.to_thread(drawing.png.read_bytes)
    return web.Response(body=png, content_type="image/png", headers={**headers, **security_headers()})


@public
async def password_post(request: web.Request) -> web.StreamResponse:
    """``POST /public/dashboards/{slug}``: the password form."""
    slug = request.match_info["slug"]
    form = await _form(request)
    password, token = form.get("password"), form.get("csrf")
    try:
        resolved = await _resolve_request(request, {})
    except NotFound:
        return problem_page(request, 404, "not_found", "There is no published dashboard at this address.")
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


@public
async def asset(request: web.Request) -> web.StreamResponse:
    """``GET /public/assets/{name}``: the page's own files."""
    found = ASSETS.get(request.match_info["name"])
    if found is None:
        return problem_page(request, 404, "not_found", "No such file.")
    path, content_type = found
    body = await asyncio.to_thread(path.read_bytes)
    etag = hashlib.sha256(body).hexdigest()[:32]
    headers = {
        **security_headers(),
        "ETag": f'"{etag}"',
        "Cache-Control": "public, max-age=86400",
    }
    if _not_modified(request, etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers={**headers, "Content-Type": content_type})


async def _secret_ctx(app: web.Application) -> Any:
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
