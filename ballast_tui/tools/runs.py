"""Run history tools: a block's runs, and two runs compared."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ballast_tui.engine.compare import compare_outputs
from ballast_tui.engine.data import describe_run
from ballast_tui.engine.errors import InvalidRequest, NotFound
from ballast_tui.storage import repos
from ballast_tui.tools.common import load_block, load_board
from ballast_tui.tools.registry import REGISTRY, Args, Context


class RunsArgs(Args):
    dashboard_id: str
    block_id: str
    limit: int = Field(default=50, ge=1, le=10_000)


class CompareArgs(Args):
    dashboard_id: str
    run_id: str
    other_run_id: str


@REGISTRY.tool("dashboard_runs", RunsArgs)
def dashboard_runs(ctx: Context, args: RunsArgs) -> dict[str, Any]:
    """A block's runs, newest first."""
    board = load_board(ctx, args.dashboard_id, "view")
    try:
        block_id = load_block(ctx, board, args.block_id)["id"]
    except NotFound:
        # A deleted block keeps its history: look its runs up by id.
        block_id = args.block_id
        if not repos.block_runs(ctx.ws.db, block_id, 1):
            raise
    runs = repos.block_runs(ctx.ws.db, block_id, args.limit)
    users = {r["actor"] for r in runs if r["actor"]}
    names = {u: ctx.ws.users.get(u).name for u in users}
    return {"runs": [{**describe_run(r), "actor_name": names.get(r["actor"])} for r in runs]}


@REGISTRY.tool("dashboard_compare_runs", CompareArgs)
def dashboard_compare_runs(ctx: Context, args: CompareArgs) -> dict[str, Any]:
    """Two runs of a block side by side: schema changes, row counts, rows only in one, changed values."""
    board = load_board(ctx, args.dashboard_id, "view")
    runs = []
    for run_id in (args.run_id, args.other_run_id):
        run = repos.run(ctx.ws.db, board.id, run_id)
        if run is None:
            raise NotFound(f"no run {run_id!r} in {board.id}")
        if run["status"] != "success" or not run["file"]:
            raise InvalidRequest(f"run {run_id} failed and has no output to compare")
        runs.append(run)
    if runs[0]["block_id"] != runs[1]["block_id"]:
        raise InvalidRequest("both runs must be runs of the same block")
    left, right = (ctx.ws.board_dir(board.id) / r["file"] for r in runs)
    comparison = ctx.ws.executor.with_connection(
        board.id, lambda con: compare_outputs(con, str(left), str(right))
    )
    return {"comparison": {"run_id": args.run_id, "other_run_id": args.other_run_id, **comparison}}
