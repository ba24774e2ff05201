"""Copying a board's contents into another: blocks, layout, sources and current outputs.

Used by clone and by saving a conversation as a dashboard. Files are
hard-linked where the filesystem allows (they are never modified in place),
copied otherwise; the new rows are written in the caller's transaction.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ballast_tui.engine.ids import new_id
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage import repos
from ballast_tui.storage.connection import Connection
from ballast_tui.storage.db import dumps, utcnow
from ballast_tui.storage.files import fsync_dir
from ballast_tui.storage.private import copy_file, make_dirs

Row = dict[str, Any]


def _link_or_copy(source: Path, target: Path) -> None:
    make_dirs(target.parent)
    if target.exists():
        # Several runs may share one output file (a table block showing its source as it is):
        # files are never modified, so the one already copied is the same.
        return
    try:
        os.link(source, target)
    except OSError:
        copy_file(source, target)


def copy_contents(
    ws: Workspace, tx: Connection, source_id: str, target_id: str, actor: str
) -> dict[str, str]:
    """Copy everything of board `source_id` into the new board `target_id`; return old -> new block ids."""
    source_dir, target_dir = ws.board_dir(source_id), ws.board_dir(target_id)
    for src in repos.sources(ws.db, source_id):
        _link_or_copy(source_dir / src["file"], target_dir / src["file"])
        tx.table("sources").insert(
            {
                **src,
                "id": new_id("src"),
                "board_id": target_id,
                "columns": dumps(src["columns"]),
                "created_by": actor,
                "created_at": utcnow(),
                "updated_at": utcnow(),
            }
        )
    mapping: dict[str, str] = {}
    for block in repos.blocks(ws.db, source_id):
        new_block_id = new_id("blk")
        mapping[block["id"]] = new_block_id
        run_id = _copy_current_run(ws, tx, block, source_dir, target_id, target_dir, new_block_id, actor)
        tx.table("blocks").insert(
            {
                "id": new_block_id,
                "board_id": target_id,
                "name": block["name"],
                "type": block["type"],
                "config": dumps(block["config"]),
                "value": None if block["value"] is None else dumps(block["value"]),
                "displayed": int(block["displayed"]),
                "version": 1,
                "position": block["position"],
                "state": block["state"] if run_id else "pending",
                "current_run_id": run_id,
                "error": block["error"],
                "created_at": utcnow(),
                "updated_at": utcnow(),
            }
        )
    if target_dir.exists():
        fsync_dir(target_dir)
    return mapping


def _copy_current_run(
    ws: Workspace,
    tx: Connection,
    block: Row,
    source_dir: Path,
    target_id: str,
    target_dir: Path,
    new_block_id: str,
    actor: str,
) -> str | None:
    if not block["current_run_id"]:
        return None
    run = repos.run(ws.db, block["board_id"], block["current_run_id"])
    if run is None:
        return None
    if run["file"]:
        _link_or_copy(source_dir / run["file"], target_dir / run["file"])
    copied = {
        **run,
        "id": new_id("run"),
        "board_id": target_id,
        "block_id": new_block_id,
        "actor": actor,
        "inputs": {**run["inputs"], "copied_from": run["id"]},
    }
    repos.insert_run(tx, copied)
    return str(copied["id"])


def remap_layout(layout: Row, mapping: dict[str, str]) -> Row:
    """The layout with block ids replaced by their copies' ids."""
    return {
        "rows": [
            {**row, "blocks": [mapping[b] for b in row["blocks"] if b in mapping]}
            for row in layout.get("rows", [])
        ]
    }
