"""Block tools: add, update, delete, set a control, run, read data."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ballast_tui.engine import data
from ballast_tui.engine.blocks import (
    CONTROL_TYPES,
    default_value,
    validate_config,
    validate_control_value,
    validate_name,
    validate_type,
)
from ballast_tui.engine.cascade import Cascade
from ballast_tui.engine.errors import Conflict, InvalidRequest
from ballast_tui.engine.layout import with_block_hidden
from ballast_tui.engine.rename import rewrite_readers
from ballast_tui.storage import repos
from ballast_tui.tools.common import (
    Board,
    board_graph,
    cascade,
    check_unlocked,
    describe_block,
    load_block,
    load_board,
    mark_pending,
    publish,
    record,
)
from ballast_tui.tools.connections import check_connected_reads
from ballast_tui.tools.registry import REGISTRY, Args, Context

MAX_RUN_ROWS = 1000


class AddBlockArgs(Args):
    dashboard_id: str
    type: str
    name: str | None = None
    config: dict[str, Any]


class UpdateBlockArgs(Args):
    dashboard_id: str
    block_id: str
    name: str | None = None
    config: dict[str, Any] | None = None
    version: int | None = None


class BlockRefArgs(Args):
    dashboard_id: str
    block_id: str


class SetControlArgs(Args):
    dashboard_id: str
    block_id: str
    value: Any


class RunBlockArgs(Args):
    dashboard_id: str
    block_id: str
    filter_overrides: dict[str, Any] | None = None
    config: dict[str, Any] | None = None


class BlockDataArgs(Args):
    dashboard_id: str
    block_id: str
    run_id: str | None = None
    limit: int = Field(default=100, ge=0, le=100_000)
    offset: int = Field(default=0, ge=0)
    max_points: int | None = Field(default=None, ge=2, le=100_000)


def _taken_names(ctx: Context, board_id: str, except_block: str | None = None) -> set[str]:
    names = {b["name"] for b in repos.blocks(ctx.ws.db, board_id) if b["id"] != except_block}
    return names | {s["name"] for s in repos.sources(ctx.ws.db, board_id)}


def _free_name(block_type: str, taken: set[str]) -> str:
    stem = block_type.replace("-", "_")
    n = 1
    while f"{stem}_{n}" in taken:
        n += 1
    return f"{stem}_{n}"


@REGISTRY.tool("dashboard_add_block", AddBlockArgs)
def add_block(ctx: Context, args: AddBlockArgs) -> dict[str, Any]:
    """Add a block (hidden until shown with dashboard_set_displayed); it runs at once."""
    board = load_board(ctx, args.dashboard_id, "edit")
    block_type = validate_type(args.type)
    config = validate_config(block_type, args.config)
    taken = _taken_names(ctx, board.id)
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
    g = board_graph(ctx, board.id, [*repos.blocks(ctx.ws.db, board.id), proposed])
    check_connected_reads(ctx, g, ["__new__"])
    with ctx.ws.db.write() as tx:
        row = repos.insert_block(tx, board.id, name, block_type, config, value)
        record(tx, ctx, board.id, "block_add", row["id"], name=name, type=block_type, config=config)
        repos.touch_board(tx, board.id)
    block = load_block(ctx, board, row["id"])
    publish(ctx, board.id, "block_changed", block_id=block["id"], change="added", block=describe_block(block))
    result = cascade(ctx, board.id, [block["id"]], "edit")
    return {"block": describe_block(load_block(ctx, board, block["id"])), "cascade": result.describe()}


@REGISTRY.tool("dashboard_update_block", UpdateBlockArgs)
def update_block(ctx: Context, args: UpdateBlockArgs) -> dict[str, Any]:
    """Change a block's name or config; it and everything downstream re-run.

    Pass `version` (the version the edit was based on) to be refused with 409 if
    someone changed the block since.
    """
    board = load_board(ctx, args.dashboard_id, "edit")
    block = load_block(ctx, board, args.block_id)
    check_unlocked(ctx, board.id, block["id"])
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
    blocks = repos.blocks(ctx.ws.db, board.id)
    if args.name is not None and args.name != block["name"]:
        name = validate_name(args.name)
        if name in _taken_names(ctx, board.id, except_block=block["id"]):
            raise InvalidRequest(f"the name {name!r} is already used in this board")
        rewritten = rewrite_readers([b for b in blocks if b["id"] != block["id"]], block["name"], name)
    proposed = [
        {**b, "name": name, "config": config}
        if b["id"] == block["id"]
        else {**b, "config": rewritten.get(b["id"], b["config"])}
        for b in blocks
    ]
    g = board_graph(ctx, board.id, proposed)
    if args.config is not None:
        check_connected_reads(ctx, g, [block["id"]])
    value = block["value"]
    if block["type"] in CONTROL_TYPES and args.config is not None:
        try:
            value = validate_control_value(block["type"], config, value)
        except InvalidRequest:
            value = default_value(block["type"], config)
    with ctx.ws.db.write() as tx:
        repos.update_block(tx, block["id"], name=name, config=config, value=value)
        for reader_id, reader_config in rewritten.items():
            check_unlocked(ctx, board.id, reader_id)
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
            board.id,
            "block_changed",
            block_id=changed,
            change="updated",
            block=describe_block(load_block(ctx, board, changed)),
        )
    result = cascade(ctx, board.id, [block["id"], *rewritten], "edit")
    return {
        "block": describe_block(load_block(ctx, board, block["id"])),
        "cascade": result.describe(),
        "rewritten": sorted(rewritten),
    }


@REGISTRY.tool("dashboard_delete_block", BlockRefArgs)
def delete_block(ctx: Context, args: BlockRefArgs) -> dict[str, Any]:
    """Delete a block nothing reads any more; its runs stay in the board's history."""
    board = load_board(ctx, args.dashboard_id, "edit")
    block = load_block(ctx, board, args.block_id)
    check_unlocked(ctx, board.id, block["id"])
    g = board_graph(ctx, board.id)
    readers = [g.by_id[r]["name"] for r in g.downstream_of(block["id"])]
    if readers:
        raise InvalidRequest(f"block {block['name']!r} is read by {', '.join(readers)}; change those first")
    layout = with_block_hidden(board.row["layout"], block["id"])
    with ctx.ws.db.write() as tx:
        tx.execute("DELETE FROM blocks WHERE id = ?", [block["id"]])
        repos.update_board(tx, board.id, layout=layout)
        record(tx, ctx, board.id, "block_delete", block["id"], name=block["name"], type=block["type"])
    ctx.ws.sessions.close(board.id, block["id"], ctx.session_key)
    publish(ctx, board.id, "block_changed", block_id=block["id"], change="deleted")
    if layout != board.row["layout"]:
        publish(ctx, board.id, "layout_changed", layout=layout)
    return {"deleted": block["id"]}


@REGISTRY.tool("dashboard_set_control", SetControlArgs)
def set_control(ctx: Context, args: SetControlArgs) -> dict[str, Any]:
    """Store a control's value; everything downstream of it re-runs."""
    board = load_board(ctx, args.dashboard_id, "edit")
    block = load_block(ctx, board, args.block_id)
    if block["type"] not in CONTROL_TYPES:
        raise InvalidRequest(f"block {block['name']!r} is a {block['type']} block, not a control")
    check_unlocked(ctx, board.id, block["id"])
    value = validate_control_value(block["type"], block["config"], args.value)
    g = board_graph(ctx, board.id)
    with ctx.ws.db.write() as tx:
        repos.update_block(tx, block["id"], value=value)
        mark_pending(tx, g, [block["id"]])
        record(
            tx,
            ctx,
            board.id,
            "control_set",
            block["id"],
            name=block["name"],
            value=value,
            previous=block["value"],
        )
        repos.touch_board(tx, board.id)
    publish(ctx, board.id, "control_changed", block_id=block["id"], block_name=block["name"], value=value)
    result = cascade(ctx, board.id, [block["id"]], "control")
    return {"value": value, "cascade": result.describe()}


def _resolve_overrides(ctx: Context, board: Board, overrides: dict[str, Any]) -> dict[str, Any]:
    """Override values keyed by control block id (names accepted), each one the control allows."""
    resolved: dict[str, Any] = {}
    for key, value in overrides.items():
        control = load_block(ctx, board, key)
        if control["type"] not in CONTROL_TYPES:
            raise InvalidRequest(f"filter_overrides: {control['name']!r} is not a control")
        resolved[control["id"]] = validate_control_value(control["type"], control["config"], value)
    return resolved


@REGISTRY.tool("dashboard_run_block", RunBlockArgs)
def run_block(ctx: Context, args: RunBlockArgs) -> dict[str, Any]:
    """Run one block now. With `filter_overrides` ({control id: value}) the values are bound for
    this call alone, and with `config` a draft config runs instead of the saved one (an editor's
    preview); either way nothing is stored. Without them, a `manual` run is recorded."""
    ephemeral = args.filter_overrides is not None or args.config is not None
    action = "edit" if args.config is not None or not ephemeral else "view"
    board = load_board(ctx, args.dashboard_id, action)
    block = load_block(ctx, board, args.block_id)
    if ephemeral:
        overrides = _resolve_overrides(ctx, board, args.filter_overrides or {})
        blocks = repos.blocks(ctx.ws.db, board.id)
        if args.config is not None:
            draft = validate_config(block["type"], args.config)
            blocks = [{**b, "config": draft} if b["id"] == block["id"] else b for b in blocks]
        g = board_graph(ctx, board.id, blocks)
        if args.config is not None:
            check_connected_reads(ctx, g, [block["id"]])
        needed = (g.downstream(overrides) & g.upstream([block["id"]])) | {block["id"]}
        result = Cascade(
            ctx.ws, g, board.id, trigger="manual", actor=ctx.user.id, persist=False, overrides=overrides
        ).run(needed, force=needed)
        return {"run": data.unpersisted_run(ctx.ws, board.id, g.by_id[block["id"]], result, MAX_RUN_ROWS)}
    result = cascade(ctx, board.id, [block["id"]], "manual", force=[block["id"]])
    return {
        "run": data.persisted_run(ctx.ws, board.id, block, result, MAX_RUN_ROWS),
        "cascade": result.describe(),
    }


@REGISTRY.tool("dashboard_block_data", BlockDataArgs)
def block_data(ctx: Context, args: BlockDataArgs) -> dict[str, Any]:
    """A block's current output (or, with `run_id`, that earlier run's): rows by `limit`/`offset`;
    for a chart, its series reduced in the database to at most `max_points` points that keep the shape."""
    board = load_board(ctx, args.dashboard_id, "view")
    block = load_block(ctx, board, args.block_id)
    return data.block_data(ctx.ws, board.id, block, args.limit, args.offset, args.max_points, args.run_id)
