"""Renaming a block or source: the new configs of every block that reads it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ballast_tui.engine.blocks import SOURCE_READERS
from ballast_tui.engine.board_graph import parsed
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.sql_rewrite import rename_table

Row = dict[str, Any]


def rewrite_readers(blocks: Sequence[Row], old: str, new: str) -> dict[str, dict[str, Any]]:
    """block id -> rewritten config, for each block whose references to `old` change to `new`."""
    rewritten: dict[str, dict[str, Any]] = {}
    for block in blocks:
        config = dict(block["config"])
        if block["type"] in SOURCE_READERS and config.get("source") == old:
            config["source"] = new
        if block["type"] == "sql":
            if old in config.get("inputs", []):
                raise InvalidRequest(
                    f"{old!r} is a control bound by block {block['name']!r}; "
                    "rename its $parameters in that SQL first, then rename the control"
                )
            if old in parsed(config["sql"]).tables:
                config["sql"] = rename_table(config["sql"], old, new)
                if new.lower() not in parsed(config["sql"]).tables:
                    # A CTE of that name in this query would take the renamed table's place.
                    raise InvalidRequest(
                        f"block {block['name']!r} already uses {new!r} for something else in its SQL, "
                        f"so it would no longer read {old!r}; pick another name"
                    )
        if config != block["config"]:
            rewritten[block["id"]] = config
    return rewritten
