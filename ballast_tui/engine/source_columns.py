"""The columns a block's source has now, and the check that a chart names only those.

A chart saved with an `x`, `y` or `series` its source does not have is refused
(400 `invalid_request`, naming the column and the columns there are) instead of
being saved to fail at its first run. The check needs the source's columns: a
catalog source always has them; a block has them while its current run
succeeded (a block that is running or failed is not held against the chart:
the chart's run will say what is wrong), and a connected table is checked by
the run alone.
"""

from __future__ import annotations

from typing import Any

from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.scope import BoardScope
from ballast_tui.storage import repos

Row = dict[str, Any]


def known_columns(board: BoardScope, source: str) -> list[str] | None:
    """The column names `source` (a block or a source of the board, by name) has now; None when
    that is not known."""
    block = repos.block_by_name(board.ws.db, board.id, source)
    if block is not None:
        if block["state"] != "success" or not block["current_run_id"]:
            return None
        run = repos.run(board.ws.db, board.id, block["current_run_id"])
        if run is None or run["status"] != "success" or not run.get("output"):
            return None
        return [str(c["name"]) for c in run["output"].get("columns", [])]
    found = board.find_source(source)
    if found is not None:
        return [str(c["name"]) for c in found.get("columns") or []]
    return None


def check_chart_columns(board: BoardScope, config: Row) -> None:
    """Refuse a chart config whose `x`, `y` or `series` names a column its source does not have."""
    source = str(config["source"])
    columns = known_columns(board, source)
    if columns is None:
        return
    ys = config["y"] if isinstance(config["y"], list) else [config["y"]]
    named = {"x": [config["x"]], "y": ys, "series": [config["series"]] if config.get("series") else []}
    for field, names in named.items():
        missing = [name for name in names if name not in columns]
        if missing:
            raise InvalidRequest(
                f"invalid chart config: config.{field}: {source!r} has no column "
                f"{', '.join(repr(m) for m in missing)} (its columns: {', '.join(columns) or 'none'})",
                field=f"config.{field}",
                accepted=columns,
            )
