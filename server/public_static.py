"""``GET /public/assets/{name}``: the published page's own files (its CSS, script, fonts and the
generic card of a protected board): nothing a page shows is fetched from anywhere else."""

from __future__ import annotations

import asyncio
import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from ballast_server.middlewares import public
from ballast_server.public_html import problem_page
from ballast_server.public_http import not_modified, security_headers

_ASSET_DIR = Path(__file__).parent / "public_assets"
_FONT_DIR = resources.files("ballast_tui.published").joinpath("fonts")
ASSETS: dict[str, tuple[Any, str]] = {
    "public.css": (_ASSET_DIR / "public.css", "text/css; charset=utf-8"),
    "public.js": (_ASSET_DIR / "public.js", "text/javascript; charset=utf-8"),
    "protected.png": (_ASSET_DIR / "protected.png", "image/png"),
    "DejaVuSansMono.ttf": (_FONT_DIR.joinpath("DejaVuSansMono.ttf"), "font/ttf"),
    "DejaVuSansMono-Bold.ttf": (_FONT_DIR.joinpath("DejaVuSansMono-Bold.ttf"), "font/ttf"),
}


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
    if not_modified(request, etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers={**headers, "Content-Type": content_type})
