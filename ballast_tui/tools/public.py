"""Published-link tools: what anyone with a `link_view` board's URL may read (role `link`).

The registry loads the board by `slug` and checks its password (or the access
cookie the right password earned) before any of these runs; each answer holds
displayed blocks only, never SQL, hidden blocks or the catalog. Choices
(`filter_overrides`, keyed by a displayed control's name or id, with values the
control allows) bind for that call alone: nothing is stored.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ballast_tui.engine import overrides
from ballast_tui.engine.errors import NotFound
from ballast_tui.engine.exports import write_output
from ballast_tui.engine.link_access import ACCESS_MAX_AGE_S, access_value
from ballast_tui.published import board as published
from ballast_tui.published.downloads import csv_path, downloadable_block
from ballast_tui.published.page import answer_key, choices_from_query, choices_query, page_state
from ballast_tui.tools.registry import MAX_INT, REGISTRY, Args, BoardScope

PASSWORD_MAX = 1024
SLUG_MAX = 200


class PublicArgs(Args):
    slug: str = Field(min_length=1, max_length=SLUG_MAX)
    password: str | None = Field(default=None, max_length=PASSWORD_MAX)
    filter_overrides: dict[str, Any] | None = None


class PageArgs(Args):
    slug: str = Field(min_length=1, max_length=SLUG_MAX)
    choices: dict[str, str] = Field(default_factory=dict)


class UnlockArgs(Args):
    slug: str = Field(min_length=1, max_length=SLUG_MAX)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class ViewArgs(Args):
    slug: str = Field(min_length=1, max_length=SLUG_MAX)
    filter_overrides: dict[str, Any] | None = None


class BlockCsvArgs(Args):
    slug: str = Field(min_length=1, max_length=SLUG_MAX)
    block_id: str
    choices: dict[str, str] = Field(default_factory=dict)


class BlockDataArgs(ViewArgs):
    block_id: str
    limit: int = Field(default=100, ge=0, le=100_000)
    offset: int = Field(default=0, ge=0, le=MAX_INT)
    max_points: int | None = Field(default=None, ge=2, le=100_000)


@REGISTRY.tool(
    "public_dashboard",
    PublicArgs,
    refuses="a `filter_overrides` naming no control of the board, or a value the control does not allow",
    role="link",
    writes=False,
    example={"slug": "sales-overview-k3j9x0a1b2c3", "filter_overrides": {"region": "North"}},
)
def public_dashboard(board: BoardScope, args: PublicArgs) -> dict[str, Any]:
    """A published board's title, layout and displayed blocks with their data, as anyone with its
    link sees them (`password` for a protected board; `filter_overrides` for this call alone).

    What the link's reader sees, with no account: use it to check what a published link shows.
    Returns `dashboard` with `title`, `layout` and the displayed `blocks`, each with `name`, `type`,
    `columns`, `rows` (the first 1,000) and `row_count`; a chart's `series`, a control's `options`
    and `value`.
    """
    values = overrides.resolve(board, args.filter_overrides or {})
    return published.public_answer(board, values)


@REGISTRY.tool(
    "public_answer_key",
    PublicArgs,
    role="link",
    writes=False,
    example={"slug": "sales-overview-k3j9x0a1b2c3", "filter_overrides": {"region": "North"}},
)
def public_answer_key(board: BoardScope, args: PublicArgs) -> dict[str, Any]:
    """The key of public_dashboard's answer for the same arguments: equal keys, equal answers.

    What the server's cache of public answers is keyed by: the blocks, their current runs, the
    layout, the choices, the slug and the password's version (the password is checked first, as for
    public_dashboard). Reads no data. Returns `board_id`, `protected` and `key`.
    """
    values = overrides.resolve(board, args.filter_overrides or {})
    return {
        "board_id": board.id,
        "protected": bool(board.row["password_hash"]),
        "key": answer_key(board, values),
    }


@REGISTRY.tool(
    "public_page",
    PageArgs,
    refuses="a choice naming no control, or a value the control does not allow",
    role="link",
    writes=False,
    example={"slug": "sales-overview-k3j9x0a1b2c3", "choices": {"region": "North", "period": "30d"}},
)
def public_page(board: BoardScope, args: PageArgs) -> dict[str, Any]:
    """A published page's state for a viewer's choices (the page's query string): the board's public
    fields, the resolved choices, the page's key, the form's controls.

    What the server's HTML page is built from. Returns `board`, `overrides`, `key` (the page's ETag),
    `drawing_key` (names its drawings), `default_key` (the drawing without choices: the preview),
    `controls`, `downloads` (the CSV links, when the owner turned them on), `embed_origins` (who may
    frame the page) and `empty`.
    """
    return page_state(board, args.choices)


@REGISTRY.tool(
    "public_unlock",
    UnlockArgs,
    role="link",
    writes=False,
    example={"slug": "k3j9x0a1b2c3d4e5f6g7", "password": "the-password"},
)
def public_unlock(board: BoardScope, args: UnlockArgs) -> dict[str, Any]:
    """Check a protected board's password; answers the value of the access cookie it earns.

    A wrong password is refused with `password_required` (and counts towards the rate limit).
    Returns `access` (the cookie's value; null for an open board) and `maxAge` (seconds).
    """
    if not board.row["password_hash"]:
        return {"access": None, "maxAge": 0}
    return {"access": access_value(board.ws.secret, board.row), "maxAge": ACCESS_MAX_AGE_S}


@REGISTRY.tool(
    "public_board_view",
    ViewArgs,
    role="link",
    writes=False,
    example={"slug": "sales-overview-k3j9x0a1b2c3", "filter_overrides": {"region": "North"}},
)
def public_board_view(board: BoardScope, args: ViewArgs) -> dict[str, Any]:
    """What a published page draws: the title, the layout and the displayed blocks (their drawing
    config, a control's value, each block's status), for the viewer's choices.

    The drawing process reads each block's data with public_block_data. Returns `board` (id, title,
    layout) and `blocks` (name, type, drawing config, state; a control's value).
    """
    values = overrides.resolve(board, args.filter_overrides or {})
    view = published.load(board, values)
    return {
        "board": {
            "id": view.board_id,
            "title": view.title,
            "layout": view.layout,
            "lastRefreshedAt": view.last_refreshed_at,
        },
        "blocks": [{**shown.block, "state": shown.status} for shown in view.blocks],
    }


@REGISTRY.tool(
    "public_block_data",
    BlockDataArgs,
    refuses="a `filter_overrides` naming no control of the board, or a value the control does not allow",
    role="link",
    writes=False,
    example={"slug": "sales-overview-k3j9x0a1b2c3", "block_id": "daily", "limit": 100},
)
def public_block_data(board: BoardScope, args: BlockDataArgs) -> dict[str, Any]:
    """One displayed block's data on a published board, for the viewer's choices: a page of rows, and
    a chart's series reduced to `max_points`.

    Hidden blocks are not found. Returns `columns`, `rows`, `row_count`, `status` (and `series`).
    """
    block = board.block(args.block_id)
    values = overrides.resolve(board, args.filter_overrides or {})
    shown = published.load_block(board, values, block)
    return published.block_data(board, shown, args.limit, args.offset, args.max_points)


@REGISTRY.tool(
    "public_block_csv",
    BlockCsvArgs,
    refuses="a choice naming no control, or a value the control does not allow",
    role="link",
    writes=False,
    example={"slug": "sales-overview-k3j9x0a1b2c3", "block_id": "daily", "choices": {"region": "North"}},
)
def public_block_csv(board: BoardScope, args: BlockCsvArgs) -> dict[str, Any]:
    """A displayed table or chart's whole data as CSV, for a published page's choices (its query
    string), when the board's owner turned downloads on.

    Not found when downloads are off, or for a hidden block or one that is no table or chart. The
    server's route streams the file; over the JSON door and MCP it answers what the file holds and
    `download`, the link's path. Returns `block` (name), `format`, `columns`, `row_count` (and
    `download`).
    """
    block = downloadable_block(board, args.block_id)
    values = choices_from_query(board, args.choices) if args.choices else {}
    shown = published.load_block(board, values, block)
    output = shown.output
    if output is None or (output.path is None and output.table is None):
        # Never why: the error may quote SQL or name hidden blocks.
        raise NotFound(f"{block['name']!r} has no data to download: it could not be computed")
    answer: dict[str, Any] = {
        "block": {"name": block["name"]},
        "format": "csv",
        "columns": output.columns,
        "row_count": output.row_count,
    }
    sink = board.ctx.export_sink
    if sink is None:
        return {**answer, "download": csv_path(args.slug, block["name"], choices_query(board, values))}
    write_output(output, "csv", sink.begin(str(block["name"]), "csv", output.row_count))
    return answer
