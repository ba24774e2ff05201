"""Board version tools: the history of a board's definition, two versions compared, a restore."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ballast_tui.engine import versions
from ballast_tui.engine.blocks import CONTROL_TYPES
from ballast_tui.engine.changes import cascade, check_unlocked, mark_pending, publish, record
from ballast_tui.engine.describe import describe_block
from ballast_tui.engine.errors import InvalidRequest, NotFound
from ballast_tui.engine.events import BlockChanged, BoardChanged, ControlChanged, LayoutChanged
from ballast_tui.storage import repos
from ballast_tui.tools.registry import MAX_INT, REGISTRY, Args, BoardScope

Row = dict[str, Any]


class VersionsArgs(Args):
    dashboard_id: str
    limit: int = Field(default=50, ge=1, le=10_000)


class DiffArgs(Args):
    dashboard_id: str
    version: int = Field(ge=1, le=MAX_INT)
    other_version: int = Field(ge=1, le=MAX_INT)


class RestoreArgs(Args):
    dashboard_id: str
    version: int = Field(ge=1, le=MAX_INT)


def _version(board: BoardScope, number: int) -> Row:
    found = versions.version(board.ws.db, board.id, number)
    if found is None:
        raise NotFound(f"no version {number} of {board.id}")
    return found


@REGISTRY.tool("dashboard_versions", VersionsArgs, role="viewer", writes=False, example={"limit": 20})
def dashboard_versions(board: BoardScope, args: VersionsArgs) -> dict[str, Any]:
    """The board's versions, newest first: number, who, when, and a one-line summary of the change.

    Every change to a board's blocks, layout, stored control values or settings made a version; none
    is ever removed. Returns `versions` (number, actor, actor_name, at, summary).
    """
    return {"versions": versions.versions(board.ws.db, board.id, args.limit)}


@REGISTRY.tool(
    "dashboard_version_diff",
    DiffArgs,
    role="viewer",
    writes=False,
    example={"version": 3, "other_version": 5},
)
def dashboard_version_diff(board: BoardScope, args: DiffArgs) -> dict[str, Any]:
    """What changed from `version` to `other_version`: blocks added, removed and changed (config before
    and after), the layout, the title and the settings.

    Use it to see what a restore would change, or what someone did. Returns `diff` with `added`,
    `removed`, `changed` (each changed block's `fields`, `before`, `after`), `layout`, `title`,
    `settings` (null when unchanged).
    """
    before, after = _version(board, args.version), _version(board, args.other_version)
    return {
        "version": args.version,
        "other_version": args.other_version,
        "diff": versions.diff(before["definition"], after["definition"]),
    }


@REGISTRY.tool(
    "dashboard_restore",
    RestoreArgs,
    refuses="a version the board is already at",
    role="editor",
    writes=True,
    destructive=True,
    example={"version": 3},
)
def dashboard_restore(board: BoardScope, args: RestoreArgs) -> dict[str, Any]:
    """Make the board as it was at `version`: a new version equal to that one (the history is never
    rewritten); only what the restore changed re-runs.

    Restore an earlier version: blocks added since are removed, removed ones come back (with their
    run history), configs, layout, stored control values and settings return. Refused with `locked`
    when someone holds a block it would change. Returns `version` (the new version's number), `diff`
    (what it changed) and `cascade`.
    """
    ctx = board.ctx
    wanted = _version(board, args.version)["definition"]
    current = repos.board_definition(ctx.ws.db, board.id)
    change = versions.diff(current, wanted)
    if not any(change[k] for k in ("added", "removed", "changed", "layout", "title", "settings")):
        raise InvalidRequest(f"the board is already as it was at version {args.version}")
    for block in [*change["removed"], *change["changed"]]:
        check_unlocked(board, block["id"])
    live = {b["id"]: b for b in board.blocks()}
    proposed = [
        {**live.get(b["id"], {"state": "pending", "current_run_id": None}), **b} for b in wanted["blocks"]
    ]
    try:
        g = board.graph(proposed)
    except InvalidRequest as error:
        raise InvalidRequest(
            f"version {args.version} cannot be restored as the board is now: {error.message}"
        ) from None
    rerun = [b["id"] for b in change["added"]] + [
        c["id"] for c in change["changed"] if {"config", "value"} & set(c["fields"])
    ]
    with ctx.ws.board_lock(board.id), ctx.ws.db.write() as tx:
        for block in change["removed"]:
            tx.execute("DELETE FROM blocks WHERE id = ?", [block["id"]])
        for block in change["changed"]:  # out of the way first: names may be swapped
            tx.execute("UPDATE blocks SET name = ? WHERE id = ?", [f"__restoring_{block['id']}", block["id"]])
        for block in change["added"]:
            repos.insert_block(
                tx, board.id, block["name"], block["type"], block["config"], block["value"], id=block["id"]
            )
            repos.update_block(tx, block["id"], bump=False, displayed=block["displayed"])
        wanted_by_id = {b["id"]: b for b in wanted["blocks"]}
        for block in change["changed"]:
            target = wanted_by_id[block["id"]]
            repos.update_block(
                tx,
                block["id"],
                name=target["name"],
                config=target["config"],
                value=target["value"],
                displayed=target["displayed"],
            )
        settings = wanted["settings"]
        repos.update_board(
            tx,
            board.id,
            title=wanted["title"],
            layout=wanted["layout"],
            refresh_enabled=int(settings["refreshEnabled"]),
            refresh_interval=settings["refreshInterval"],
        )
        mark_pending(tx, g, rerun)
        record(tx, ctx, board.id, "restore", board.id, version=args.version, rerun=sorted(rerun))
    number = versions.versions(ctx.ws.db, board.id, 1)[0]["number"]
    restored = board.reload()
    for block in change["removed"]:
        publish(ctx, BlockChanged(dashboard_id=board.id, block_id=block["id"], change="deleted"))
    for block in change["added"]:
        publish(
            ctx,
            BlockChanged(
                dashboard_id=board.id,
                block_id=block["id"],
                change="added",
                block=describe_block(restored.block(block["id"])),
            ),
        )
    for block in change["changed"]:
        row = restored.block(block["id"])
        publish(
            ctx,
            BlockChanged(
                dashboard_id=board.id, block_id=row["id"], change="updated", block=describe_block(row)
            ),
        )
        if row["type"] in CONTROL_TYPES and "value" in block["fields"]:
            publish(
                ctx,
                ControlChanged(
                    dashboard_id=board.id, block_id=row["id"], block_name=row["name"], value=row["value"]
                ),
            )
    if change["layout"]:
        publish(ctx, LayoutChanged(dashboard_id=board.id, layout=restored.row["layout"]))
    if change["settings"] or change["title"]:
        publish(ctx, BoardChanged(dashboard_id=board.id, change="restore"))
    result = cascade(restored, rerun, "edit")
    return {"version": number, "restored": args.version, "diff": change, "cascade": result.describe()}
