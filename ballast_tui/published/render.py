"""Draw a published board with the TUI's own widgets: the page's SVG, its PNG preview, a summary.

`draw(backend)` runs `PublishedApp` headless at `WIDTH` columns and the
board's full height, waits until every cell has its data, and turns the one
screen it drew into three things: an SVG (Rich's export, without window
chrome, with the font the server serves), a 1200x630 PNG of its top for link
previews, and a one-line description of what the board shows. `draw_text`
takes the same screen as text (plain, or with ANSI colours): `ballast show`
and the `dashboard_render` tool.

A phone gets its own drawing: the board with one block per row
(`BoardView.stacked`) drawn at `NARROW_WIDTH` columns, so that a 390 px wide
screen shows it at a readable size (the widgets size themselves to their
cells: charts are drawn again for the width, not shrunk).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.segment import Segment

from ballast_tui.published.raster import CELL_H, CELL_W, paint
from ballast_tui.published.view_app import PublishedApp, PublishedBackend, board_height
from ballast_tui.render_svg import wait_until_drawn
from ballast_tui.widgets.views import MetricView

WIDTH = 120
"""Columns of the drawing: the TUI's usual width (and 1200 px of preview at 10 px a cell)."""

NARROW_WIDTH = 48
"""Columns of the phone's drawing: 48 cells of 12.2 SVG units fill a 390 px screen with text about
13 px high (the wide drawing, scaled down to that screen, would be about 5 px high)."""

MAX_HEIGHT = 600
PREVIEW_SIZE = (1200, 630)
FONT_URL = "/public/assets/DejaVuSansMono.ttf"
BOLD_FONT_URL = "/public/assets/DejaVuSansMono-Bold.ttf"

FONT_SIZE = 21
"""Rich lays the SVG out for 20 px cells 24.4 px apart; at 21 px DejaVu Sans Mono's block and box
characters fill those cells, so bars and borders are drawn without seams."""

SVG_FORMAT = (
    """<svg class="ballast-board" role="img" viewBox="0 0 {terminal_width} {terminal_height}" \
xmlns="http://www.w3.org/2000/svg">
<style>
@font-face {{ font-family: "Ballast Mono"; src: url("@FONT@") format("truetype"); font-weight: 400; }}
@font-face {{ font-family: "Ballast Mono"; src: url("@BOLD@") format("truetype"); font-weight: 700; }}
.{unique_id}-matrix {{ font-family: "Ballast Mono", "DejaVu Sans Mono", monospace; \
font-size: @SIZE@px; line-height: {line_height}px; font-variant-east-asian: full-width; }}
{styles}
</style>
<defs>
<clipPath id="{unique_id}-clip-terminal"><rect x="0" y="0" width="{terminal_width}" \
height="{terminal_height}" /></clipPath>
{lines}
</defs>
<g clip-path="url(#{unique_id}-clip-terminal)">
{backgrounds}
<g class="{unique_id}-matrix">
{matrix}
</g>
</g>
</svg>
""".replace("@FONT@", FONT_URL)
    .replace("@BOLD@", BOLD_FONT_URL)
    .replace("@SIZE@", str(FONT_SIZE))
)


@dataclass(frozen=True)
class Drawing:
    """One board drawn: the page's SVG, the preview PNG, and what it shows in a sentence."""

    svg: str
    png: bytes
    description: str


def describe(app: PublishedApp) -> str:
    """What the board shows, for a link preview: its metrics with their values, then its other blocks."""
    metrics = [
        f"{view.block.get('config', {}).get('title') or view.block['name']}: {view.text}"
        for view in app.query(MetricView)
    ]
    metric_ids = {view.block["id"] for view in app.query(MetricView)}
    others = [
        str(block.get("config", {}).get("title") or block["name"])
        for block in app.backend.board.blocks
        if block["id"] not in metric_ids and block["type"] not in ("markdown",)
    ]
    parts = metrics + others
    return " · ".join(parts) if parts else "A Ballast dashboard"


@asynccontextmanager
async def _drawn(
    backend: PublishedBackend, width: int, height: int, timeout: float
) -> AsyncIterator[tuple[PublishedApp, Console]]:
    """The board drawn once by `PublishedApp` at `width` x `height`, every cell with its data: the
    app (still running) and a console that recorded the screen it drew."""
    board = backend.board
    app = PublishedApp(backend)
    async with app.run_test(size=(width, height), headless=True, notifications=False) as pilot:
        await wait_until_drawn(
            pilot, timeout, built=lambda a: bool(a.query("PublishedGrid GridRow")) or not board.blocks
        )
        update = app.screen._compositor.render_update(full=True, screen_stack=[], simplify=True)
        console = Console(
            width=width,
            height=height,
            file=io.StringIO(),
            force_terminal=True,
            color_system="truecolor",
            record=True,
            legacy_windows=False,
            safe_box=False,
        )
        console.print(update)
        yield app, console


async def draw(
    backend: PublishedBackend, width: int = WIDTH, timeout: float = 60.0, preview: bool = True
) -> Drawing:
    """The board drawn by the TUI's widgets at `width` columns (see the module's doc); without
    `preview`, no PNG (empty bytes).

    The SVG's ids and classes are named for the width, so a page may hold drawings of two widths."""
    board = backend.board
    height = min(MAX_HEIGHT, board_height(board))
    async with _drawn(backend, width, height, timeout) as (app, console):
        svg = console.export_svg(
            title=board.title, code_format=SVG_FORMAT, clear=False, unique_id=f"ballast-{width}"
        )
        segments = list(Segment.filter_control(console._record_buffer))
        description = describe(app)
    if not preview:
        return Drawing(svg, b"", description)
    lines = list(Segment.split_and_crop_lines(segments, length=width, pad=True))
    rows = (PREVIEW_SIZE[1] - 10) // CELL_H
    png = paint(lines[:rows], PREVIEW_SIZE, padding=((PREVIEW_SIZE[0] - width * CELL_W) // 2, 5))
    return Drawing(svg, png, description)


async def draw_text(
    backend: PublishedBackend,
    width: int = WIDTH,
    height: int | None = None,
    *,
    ansi: bool = False,
    timeout: float = 60.0,
) -> str:
    """The board drawn as `draw` draws it, as text: `height` rows (default: the whole board, up to
    `MAX_HEIGHT`), with ANSI colour sequences when `ansi`, else plain (trailing blanks cut)."""
    height = height or min(MAX_HEIGHT, board_height(backend.board))
    async with _drawn(backend, width, height, timeout) as (_app, console):
        text = console.export_text(clear=False, styles=ansi)
    if ansi:
        return text
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + ("\n" if lines else "")
