"""A writer for tests/unit/test_durability.py: changes a board in a loop until it is killed.

    python tests/durability_child.py WORKSPACE BOARD_ID CONTROL_ID

Each change goes through the real tools; only after a tool has returned is the change printed
(one JSON object a line, flushed), so every printed line is an acknowledged change.
"""

from __future__ import annotations

import json
import sys
from itertools import count
from pathlib import Path
from typing import Any

from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Context, load_registry


def main() -> None:
    root, board, control = sys.argv[1:4]
    ws = Workspace(Path(root))
    registry = load_registry()
    ctx = Context(ws, ws.users.local())

    def call(tool: str, **arguments: Any) -> dict[str, Any]:
        return registry.call(ctx, tool, {"dashboard_id": board, **arguments})

    def ack(**change: Any) -> None:
        print(json.dumps(change), flush=True)

    for i in count():
        sql = f"select range as v, {i} as k, repeat('x', 50) as pad from range(200000)"
        block = call("dashboard_add_block", type="sql", name=f"b{i}", config={"sql": sql})["block"]
        ack(kind="block", id=block["id"], version=block["version"], sql=sql)
        sql = sql.replace(f"{i} as k", f"{i} * 2 as k")
        block = call("dashboard_update_block", block_id=block["id"], config={"sql": sql})["block"]
        ack(kind="block", id=block["id"], version=block["version"], sql=sql)
        source = call("catalog_push", name="log", rows=[{"i": i, "text": "row " * 20}], mode="append")[
            "source"
        ]
        ack(kind="source", name="log", row_count=source["row_count"])
        call("catalog_push", name=f"s{i}", rows=[{"i": i}] * 1000)
        ack(kind="source", name=f"s{i}", row_count=1000)
        call("dashboard_set_control", block_id=control, value=i % 500)
        ack(kind="control", id=control, value=i % 500, i=i)


if __name__ == "__main__":
    main()
