"""The published page's HTML: the page itself (built once per page key, gzipped once), the password
form, and an error as the page's reader gets it.

A protected board's form and its link preview are a generic card: no title,
no data. The templates are in `server/templates`.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
from aiohttp import web
from markupsafe import Markup

from ballast_server import public_auth
from ballast_server.jsonio import json_response
from ballast_server.keys import WORKSPACE
from ballast_server.middlewares import error_body
from ballast_server.public_http import Resolved, base_url, security_headers, wants_json
from ballast_server.public_render import Drawing

PRESET_LABELS = {"7d": "Last 7 days", "30d": "Last 30 days", "90d": "Last 90 days", "today": "Today"}
PROTECTED_TITLE = "Protected dashboard"
PROTECTED_DESCRIPTION = "A Ballast dashboard behind a password."

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


def _style_hashes(svg: str) -> tuple[str, ...]:
    return tuple(
        base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() for style in _STYLE.findall(svg)
    )


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
    if wants_json(request):
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


def not_found_page(request: web.Request) -> web.Response:
    """The 404 of a slug that names no published board."""
    return problem_page(request, 404, "not_found", "There is no published dashboard at this address.")


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
