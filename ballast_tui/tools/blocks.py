"""Block tools: add, update, delete (storing values, running and reading: `block_runs`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ballast_tui.engine.blocks import (
    BLOCK_TYPES,
    CONTROL_TYPES,
    default_value,
    validate_config,
    validate_control_value,
    validate_name,
    validate_type,
)
from ballast_tui.engine.changes import cascade, check_unlocked, mark_pending, publish, record
from ballast_tui.engine.connected import check_connected_reads
from ballast_tui.engine.describe import describe_block
from ballast_tui.engine.errors import Conflict, InvalidRequest
from ballast_tui.engine.events import BlockChanged, LayoutChanged
from ballast_tui.engine.layout import with_block_hidden
from ballast_tui.engine.rename import rewrite_readers
from ballast_tui.engine.source_columns import check_chart_columns
from ballast_tui.storage import repos
from ballast_tui.tools.registry import MAX_INT, NAME_SCHEMA, REGISTRY, Args, BoardScope


class AddBlockArgs(Args):
    dashboard_id: str
    type: str = Field(json_schema_extra={"enum": list(BLOCK_TYPES)})
    name: str | None = Field(default=None, json_schema_extra=NAME_SCHEMA)
    config: dict[str, Any]


class UpdateBlockArgs(Args):
    dashboard_id: str
    block_id: str
    name: str | None = Field(default=None, json_schema_extra=NAME_SCHEMA)
    config: dict[str, Any] | None = None
    version: int | None = Field(default=None, le=MAX_INT)


class BlockRefArgs(Args):
    dashboard_id: str
    block_id: str


def _taken_names(board: BoardScope, except_block: str | None = None) -> set[str]:
    names = {b["name"] for b in board.blocks() if b["id"] != except_block}
    return names | {s["name"] for s in board.sources()}


def _free_name(block_type: str, taken: set[str]) -> str:
    stem = block_type.replace("-", "_")
    n = 1
    while f"{stem}_{n}" in taken:
        n += 1
    return f"{stem}_{n}"


@REGISTRY.tool(
    "dashboard_add_block",
    AddBlockArgs,
    refuses=(
        "a config its type does not take: SQL that does not parse or reads a name no "
        "block or source has, a column the source lacks, a cycle; a name another block "
        "has"
    ),
    role="editor",
    writes=True,
    example={
        "type": "sql",
        "name": "daily",
        "config": {
            "sql": "SELECT day, sum(amount) AS revenue FROM sales WHERE region = $region GROUP BY day",
            "inputs": ["region"],
        },
    },
)
def add_block(board: BoardScope, args: AddBlockArgs) -> dict[str, Any]:
    """Add a block (hidden until shown with dashboard_set_displayed); it runs at once.

    Add a block; it runs at once and stays hidden until dashboard_set_displayed shows it. `name` (SQL
    uses it, [a-z_][a-z0-9_]*, unique in the board) defaults to e.g. sql_1. Configs by type:
    sql {sql: one SELECT/WITH/FROM query reading blocks and sources by name, inputs: [control names]
    whose $name it binds; a filter-daterange p also binds $p_start and $p_end as DATEs};
    chart {source, kind: line|bar|scatter|area|histogram, x, y (a column or a list), series? (for
    long-format data such as day, region, revenue: a column whose values each draw one line, bar group
    or area of the one y column; the 12 series with the largest total |y| are drawn, the rest summed
    per x into "other" (a scatter keeps their points); not on a histogram), stacked? (bar and area
    only: true stacks the series or y columns, false sets them side by side or overlapping; left out,
    areas stack and bars do not; stacked: true on a line, scatter or histogram is refused), title?;
    a column the source does not have is refused, listing the ones it has};
    table {source, columns?}; metric {source, column, format?}; markdown {text};
    filter-daterange {default: "7d"|"today"|{start, end}}; param-enum {options: [...], default?}.
    Returns `block` (id, name, version, state, error) and `cascade`.
    """
    ctx = board.ctx
    block_type = validate_type(args.type)
    config = validate_config(block_type, args.config)
    taken = _taken_names(board)
    name = validate_name(args.name) if args.name is not None else _free_name(block_type, taken)
    if name in taken:
        raise InvalidRequest(f"the name {name!r} is already used in this board")
    value = default_value(block_type, config) if block_type in CONTROL_TYPES else None
    proposed = {
        "id": "__new__",
        "name": name,
        "type": block_type,
        "config": config,
        "value": value,
        "state": "pending",
        "current_run_id": None,
    }
    g = board.graph([*board.blocks(), proposed])
    check_connected_reads(board, g, ["__new__"])
    if block_type == "chart":
        check_chart_columns(board, config)
    with ctx.ws.db.write() as tx:
        row = repos.insert_block(tx, board.id, name, block_type, config, value)
        record(tx, ctx, board.id, "block_add", row["id"], name=name, type=block_type, config=config)
        repos.touch_board(tx, board.id)
    block = board.block(row["id"])
    publish(
        ctx,
        BlockChanged(
            dashboard_id=board.id, block_id=block["id"], change="added", block=describe_block(block)
        ),
    )
    result = cascade(board, [block["id"]], "edit")
    return {"block": describe_block(board.block(block["id"])), "cascade": result.describe()}


@REGISTRY.tool(
    "dashboard_update_block",
    UpdateBlockArgs,
    refuses=(
        "a config its type does not take: SQL that does not parse or reads a name no "
        "block or source has, a column the source lacks, a cycle; a name another block "
        "has"
    ),
    role="editor",
    writes=True,
    destructive=True,
    example={
        "block_id": "daily",
        "config": {"sql": "SELECT day, sum(amount) AS revenue FROM sales GROUP BY day"},
        "version": 1,
    },
)
def update_block(board: BoardScope, args: UpdateBlockArgs) -> dict[str, Any]:
    """Change a block's name or config; it and everything downstream re-run.

    Pass `version` (the version the edit was based on) to be refused with 409 if
    someone changed the block since.

    Change a block's `name` (every reader's SQL is rewritten) and/or its whole `config`; it and
    everything downstream re-run. Pass `version` (the block's version you read) to be refused with
    `conflict` if someone changed it since. Refused with `locked` while someone else has it open. Check
    dashboard_get's `explain.affects` first to see what the change reaches.
    Returns `block`, `cascade` and `rewritten` (ids of readers whose SQL changed).
    """
    ctx = board.ctx
    block = board.block(args.block_id)
    check_unlocked(board, block["id"])
    if args.version is not None and args.version != block["version"]:
        raise Conflict(
            f"block {block['name']!r} changed since version {args.version}; it is now version "
            f"{block['version']}",
            current_version=block["version"],
            block=describe_block(block),
        )
    if args.name is None and args.config is None:
        raise InvalidRequest("nothing to change: give `name`, `config` or both")
    config = validate_config(block["type"], args.config) if args.config is not None else block["config"]
    name = block["name"]
    rewritten: dict[str, dict[str, Any]] = {}
    blocks = board.blocks()
    if args.name is not None and args.name != block["name"]:
        name = validate_name(args.name)
        if name in _taken_names(board, except_block=block["id"]):
            raise InvalidRequest(f"the name {name!r} is already used in this board")
        rewritten = rewrite_readers([b for b in blocks if b["id"] != block["id"]], block["name"], name)
    proposed = [
        {**b, "name": name, "config": config}
        if b["id"] == block["id"]
        else {**b, "config": rewritten.get(b["id"], b["config"])}
        for b in blocks
    ]
    g = board.graph(proposed)
    if args.config is not None:
        check_connected_reads(board, g, [block["id"]])
        if block["type"] == "chart":
            check_chart_columns(board, config)
    value = block["value"]
    if block["type"] in CONTROL_TYPES and args.config is not None:
        try:
            value = validate_control_value(block["type"], config, value)
        except InvalidRequest:
            value = default_value(block["type"], config)
    with ctx.ws.db.write() as tx:
        repos.update_block(tx, block["id"], name=name, config=config, value=value)
        for reader_id, reader_config in rewritten.items():
            check_unlocked(board, reader_id)
            repos.update_block(tx, reader_id, config=reader_config)
        mark_pending(tx, g, [block["id"], *rewritten])
        record(
            tx,
            ctx,
            board.id,
            "block_update",
            block["id"],
            name=name,
            config=config,
            previous={"name": block["name"], "config": block["config"]},
            rewritten=sorted(rewritten),
        )
        repos.touch_board(tx, board.id)
    for changed in [block["id"], *rewritten]:
        publish(
            ctx,
            BlockChanged(
                dashboard_id=board.id,
                block_id=changed,
                change="updated",
                block=describe_block(board.block(changed)),
            ),
        )
    result = cascade(board, [block["id"], *rewritten], "edit")
    return {
        "block": describe_block(board.block(block["id"])),
        "cascade": result.describe(),
        "rewritten": sorted(rewritten),
    }


@REGISTRY.tool(
    "dashboard_delete_block",
    BlockRefArgs,
    role="editor",
    writes=True,
    destructive=True,
    example={"block_id": "old_chart"},
)
def delete_block(board: BoardScope, args: BlockRefArgs) -> dict[str, Any]:
    """Delete a block nothing reads any more; its runs stay in the board's history.

    Delete a block that nothing reads any more (refused otherwise, naming its readers); its run history
    stays. Refused with `locked` while someone else has it open.
    Returns `deleted` (the block id).
    """
    ctx = board.ctx
    block = board.block(args.block_id)
    check_unlocked(board, block["id"])
    g = board.graph()
    readers = [g.by_id[r]["name"] for r in g.downstream_of(block["id"])]
    if readers:
        raise InvalidRequest(f"block {block['name']!r} is read by {', '.join(readers)}; change those first")
    layout = with_block_hidden(board.row["layout"], block["id"])
    with ctx.ws.db.write() as tx:
        tx.execute("DELETE FROM blocks WHERE id = ?", [block["id"]])
        repos.update_board(tx, board.id, layout=layout)
        record(tx, ctx, board.id, "block_delete", block["id"], name=block["name"], type=block["type"])
    ctx.ws.sessions.close(board.id, block["id"], ctx.session_key)
    publish(ctx, BlockChanged(dashboard_id=board.id, block_id=block["id"], change="deleted"))
    if layout != board.row["layout"]:
        publish(ctx, LayoutChanged(dashboard_id=board.id, layout=layout))
    return {"deleted": block["id"]}
