"""Run history tools: a block's runs, and two runs compared."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ballast_tui.engine.compare import compare_outputs
from ballast_tui.engine.data import describe_run
from ballast_tui.engine.errors import InvalidRequest, NotFound
from ballast_tui.tools.registry import REGISTRY, Args, BoardScope


class RunsArgs(Args):
    dashboard_id: str
    block_id: str
    limit: int = Field(default=50, ge=1, le=10_000)


class CompareArgs(Args):
    dashboard_id: str
    run_id: str
    other_run_id: str


@REGISTRY.tool(
    "dashboard_runs",
    RunsArgs,
    role="viewer",
    writes=False,
    example={"block_id": "daily", "limit": 5},
)
def dashboard_runs(board: BoardScope, args: RunsArgs) -> dict[str, Any]:
    """A block's runs, newest first.

    List a block's recorded runs, newest first: status, trigger (edit, control, refresh, schedule,
    manual), who ran it, row counts, durations. Use it to find two runs to compare.
    Returns `runs`.
    """
    ctx = board.ctx
    try:
        block_id = board.block(args.block_id)["id"]
    except NotFound:
        # A deleted block keeps its history: look its runs up by id, in this board only.
        block_id = args.block_id
        if not board.runs_of(block_id, 1):
            raise
    runs = board.runs_of(block_id, args.limit)
    users = {r["actor"] for r in runs if r["actor"]}
    names = {u: ctx.ws.users.get(u).name for u in users}
    return {"runs": [{**describe_run(r), "actor_name": names.get(r["actor"])} for r in runs]}


@REGISTRY.tool(
    "dashboard_compare_runs",
    CompareArgs,
    role="viewer",
    writes=False,
    example={"run_id": "run_a1b2c3d4e5f6", "other_run_id": "run_f6e5d4c3b2a1"},
)
def dashboard_compare_runs(board: BoardScope, args: CompareArgs) -> dict[str, Any]:
    """Two runs of a block side by side: schema changes, row counts, rows only in one, changed values.

    Compare two runs of one block: schema changes, row counts, rows only in one, changed values. Use it
    to explain what an edit or new data changed.
    Returns `comparison`.
    """
    ctx = board.ctx
    runs = []
    for run_id in (args.run_id, args.other_run_id):
        run = board.run(run_id)
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
