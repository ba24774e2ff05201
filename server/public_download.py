"""``GET /public/dashboards/{slug}/blocks/{name}.csv``: a published page's CSV downloads.

When the board's owner turned `downloads` on, the page links each displayed
table and chart's whole data as CSV, for the page's choices (its own query
string, ``?region=EU``). The route is thin:

- the `public_page` tool checks the link (an unknown slug is a 404; a protected
  board needs the access cookie its password earned, which its path covers)
  and reads the choices, so this is the page's door with the page's rules;
- a block the page offers no CSV of (downloads off, a hidden block, another
  board's, one that is no table or chart) is a 404 before anything is computed;
- a new choice costs a computation, so it goes through the page's own limits
  (`server.public_choices`: a few at a time per board, more than 30 new a
  minute from one client answer 429);
- the `public_block_csv` tool writes the file, streamed like any export
  (`server.export_route.ExportStream`: never whole in memory; a failure after
  the headers breaks the transfer off).

A browser (a client that asks for HTML) reads a refusal as a page, and the
password form when it lacks the cookie; any other client reads the contract's
JSON (403 `password_required`, 404 `not_found`, 400, 429).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ballast_server import public_auth
from ballast_server.export_route import ExportStream, Started
from ballast_server.jsonio import json_response
from ballast_server.keys import REGISTRY, WORKSPACE
from ballast_server.middlewares import public
from ballast_server.public_choices import CHOICES
from ballast_server.public_html import password_page, problem_page
from ballast_server.public_http import security_headers
from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import NotFound, PasswordRequired, ToolError

CSV_ROUTE = "/public/dashboards/{slug}/blocks/{name}.csv"


def _browser(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def _refusal(request: web.Request, slug: str, error: ToolError) -> web.StreamResponse:
    """A refused download, as a page for a browser (the password form when it lacks the cookie),
    else as the contract's JSON."""
    headers = {"Cache-Control": "no-store"}
    retry = error.extra.get("retry_after")
    if retry is not None:
        headers["Retry-After"] = str(retry)
    if _browser(request):
        if isinstance(error, PasswordRequired):
            return password_page(request, slug, 403, "Enter the dashboard's password to download its data.")
        return problem_page(request, error.status, error.code, error.message, **headers)
    body = {"success": False, "error": error.code, "message": error.message}
    return json_response(body, status=error.status, headers={**security_headers(), **headers})


def _link_context(request: web.Request) -> Context:
    cookie = request.cookies.get(public_auth.ACCESS_COOKIE) or None
    return Context.anonymous(request.app[WORKSPACE], link_access=cookie)


@public
async def block_csv(request: web.Request) -> web.StreamResponse:
    """``GET /public/dashboards/{slug}/blocks/{name}.csv``: a displayed table or chart's data as CSV,
    for the page's choices (its query string), when the owner turned downloads on."""
    slug, name = request.match_info["slug"], request.match_info["name"]
    query = request.rel_url.query
    choices = {key: query[key] for key in query}
    registry = request.app[REGISTRY]
    export: ExportStream | None = None

    async def begin() -> Started:
        nonlocal export
        arguments: dict[str, Any] = {"slug": slug, "block_id": name, "choices": choices}
        export = ExportStream(request, _link_context(request), "public_block_csv", arguments)
        return await export.started()

    try:
        page = {"slug": slug, "choices": choices}
        state = await registry.acall(_link_context(request), "public_page", page)
        if name not in {download["name"] for download in state["downloads"]}:
            raise NotFound(f"this published dashboard offers no CSV of {name!r}")
        if state["overrides"]:  # a new choice is limited as the page's are
            board_id = state["board"]["id"]
            started = await request.app[CHOICES].answer(request, board_id, f"{state['key']}.csv", begin)
        else:
            started = await begin()
    except ToolError as error:
        if export is not None:
            export.close()
        return _refusal(request, slug, error)
    assert export is not None
    headers = {
        **security_headers(),
        "Cache-Control": "private, no-store" if state["board"]["protected"] else "no-store",
        "Vary": "Cookie",
    }
    try:
        return await export.send(request, started, "csv", headers)
    finally:
        export.close()


def setup_public_download(app: web.Application) -> None:
    """Add the published page's CSV route (its streaming workers come with the export route's)."""
    app.router.add_get(CSV_ROUTE, block_csv, name="public_block_csv", allow_head=False)
