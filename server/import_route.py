"""``POST /api/v1/dashboards/{id}/imports?name=N&format=F``: a file streamed in as a source.

The body is the file itself (any size up to `Settings.max_upload`, not base64
in JSON): it is written to the workspace's import directory as it arrives,
then imported by the `catalog_import` tool from there, and removed. The
caller's role and the arguments are checked before a byte is read, so a
refused upload stores nothing.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ballast_server.jsonio import json_response
from ballast_server.keys import REGISTRY, WORKSPACE
from ballast_server.routes import API, tool_context
from ballast_tui.engine.errors import InvalidRequest, TooLarge, ToolError
from ballast_tui.engine.staging import CHUNK, UPLOADED, renamed_in, stage_stream

_QUERY = frozenset({"name", "format", "sheet"})


async def upload(request: web.Request) -> web.StreamResponse:
    """Stream the request's body into the catalog of board `id` as source `name` (format `format`)."""
    unknown = sorted(set(request.query) - _QUERY)
    if unknown:
        raise InvalidRequest(
            f"unknown query parameter {', '.join(unknown)}; this route takes name, format and sheet"
        )
    arguments = {
        "dashboard_id": request.match_info["id"],
        "name": request.query.get("name", ""),
        "format": request.query.get("format", ""),
        "path": "(the upload)",
        **({"sheet": request.query["sheet"]} if "sheet" in request.query else {}),
    }
    registry = request.app[REGISTRY]
    ctx = tool_context(request)
    tool, parsed = registry.parse("catalog_import", arguments)
    await asyncio.to_thread(registry.scope, ctx, tool, parsed)  # 404 / 403 before reading anything
    ws = request.app[WORKSPACE]
    try:
        staged = await stage_stream(
            request.content.iter_chunked(CHUNK),
            ws.paths.imports,
            f".{arguments['format']}",
            ws.settings.max_upload,
        )
    except ValueError as too_large:
        raise TooLarge(str(too_large)) from None
    try:
        answer = await registry.acall(ctx, "catalog_import", {**arguments, "path": staged.name})
    except ToolError as error:
        raise renamed_in(error, staged.name, UPLOADED) from None
    finally:
        staged.unlink(missing_ok=True)
    return json_response(answer)


def setup_import_route(app: web.Application) -> None:
    """Add the upload route."""
    app.router.add_post(f"{API}/dashboards/{{id}}/imports", upload, name="source_upload")
