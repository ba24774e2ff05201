"""A published page's CSV downloads: which blocks offer one, and the link that carries the choices.

With the board's `downloads` option on, every displayed block drawn as a table
or a chart offers its data (its whole output, for the page's choices) at
``/public/dashboards/{slug}/blocks/{name}.csv?{the page's choices}``. The
query is the page's own (`page.choices_query`), so the CSV holds what the page
showed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from ballast_tui.engine.errors import NotFound
from ballast_tui.engine.public_options import PublicOptions
from ballast_tui.engine.scope import BoardScope
from ballast_tui.published.board import displayed_in_order

Row = dict[str, Any]

DOWNLOADABLE = frozenset({"table", "chart", "sql"})
"""Block types drawn as a table or a chart (a displayed SQL block is drawn as a table of its rows)."""


def board_path(slug: str) -> str:
    """The published page's path."""
    return f"/public/dashboards/{slug}"


def csv_path(slug: str, name: str, query: Mapping[str, str]) -> str:
    """The path (and query) of one block's CSV for the page's choices."""
    path = f"{board_path(slug)}/blocks/{quote(name, safe='')}.csv"
    return f"{path}?{urlencode(dict(query))}" if query else path


def download_links(board: BoardScope, query: Mapping[str, str]) -> list[Row]:
    """The page's CSV links (name, title, href) carrying the page's choices (`query`, as
    `page.choices_query` writes them), in layout order; none when the board's downloads are off."""
    if not PublicOptions.of(board.row).downloads:
        return []
    _layout, order = displayed_in_order(board.row, board.blocks())
    return [
        {
            "name": block["name"],
            "title": str(block["config"].get("title") or block["name"]),
            "href": csv_path(str(board.row["slug"]), block["name"], query),
        }
        for block in order
        if block["type"] in DOWNLOADABLE
    ]


def downloadable_block(board: BoardScope, ref: str) -> Row:
    """The displayed table or chart `ref` (id or name) whose CSV a link's reader asks for: 404 when
    the board's downloads are off, or it is no displayed table or chart of this board."""
    if not PublicOptions.of(board.row).downloads:
        raise NotFound("this published dashboard offers no downloads")
    block = board.block(ref)  # a hidden block, or another board's, is not found
    if block["type"] not in DOWNLOADABLE:
        raise NotFound(f"{block['name']!r} is not a table or a chart: it has no CSV")
    return block
