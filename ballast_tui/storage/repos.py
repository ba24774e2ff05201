"""Row access for boards, blocks, sources, runs, grants, messages and the audit.

Functions take the `Database` (reads) or the connection of an open write
transaction (writes) and return plain dicts with JSON columns decoded.
"""

from __future__ import annotations

from typing import Any

from ballast_tui.engine.ids import new_id
from ballast_tui.storage.connection import Connection
from ballast_tui.storage.db import Database, dumps, loads, utcnow

Row = dict[str, Any]


# -- boards ---------------------------------------------------------------


def board(db: Database, board_id: str) -> Row | None:
    row = db.row("SELECT * FROM boards WHERE id = ?", [board_id])
    if row is not None:
        row["layout"] = loads(row["layout"], {"rows": []})
    return row


def board_by_slug(db: Database, slug: str) -> Row | None:
    found = db.row("SELECT id FROM boards WHERE slug = ?", [slug])
    return board(db, found["id"]) if found else None


def insert_board(tx: Connection, kind: str, title: str, owner_id: str, **extra: Any) -> Row:
    now = utcnow()
    prefix = "dash" if kind == "dashboard" else "conv"
    row = {
        "id": new_id(prefix),
        "kind": kind,
        "title": title,
        "owner_id": owner_id,
        "created_at": now,
        "updated_at": now,
        **extra,
    }
    if "layout" in row:
        row["layout"] = dumps(row["layout"])
    tx.table("boards").insert(row)
    return row


def update_board(tx: Connection, board_id: str, **fields: Any) -> None:
    if "layout" in fields:
        fields["layout"] = dumps(fields["layout"])
    fields["updated_at"] = utcnow()
    assignments = ", ".join(f"{name} = ?" for name in fields)
    tx.execute(f"UPDATE boards SET {assignments} WHERE id = ?", [*fields.values(), board_id])


def touch_board(tx: Connection, board_id: str) -> None:
    tx.execute("UPDATE boards SET updated_at = ? WHERE id = ?", [utcnow(), board_id])


def visible_boards(db: Database, user_id: str, include_conversations: bool) -> list[Row]:
    """Boards the user has a role on, newest change first, with the user's role."""
    kinds = ("dashboard", "conversation") if include_conversations else ("dashboard",)
    rows = db.rows(
        f"""
        SELECT b.*, CASE WHEN b.owner_id = :user THEN 'owner' ELSE g.role END AS role
        FROM boards b LEFT JOIN grants g ON g.board_id = b.id AND g.user_id = :user
        WHERE (b.owner_id = :user OR g.role IS NOT NULL)
          AND b.kind IN ({", ".join("'" + k + "'" for k in kinds)})
        ORDER BY b.updated_at DESC, b.id""",
        {"user": user_id},
    )
    for row in rows:
        row["layout"] = loads(row["layout"], {"rows": []})
    return rows


def grant_role(db: Database, board_id: str, user_id: str) -> str | None:
    row = db.row("SELECT role FROM grants WHERE board_id = ? AND user_id = ?", [board_id, user_id])
    return row["role"] if row else None


def grants(db: Database, board_id: str) -> list[Row]:
    return db.rows(
        "SELECT g.user_id, u.name, u.kind, g.role FROM grants g JOIN users u ON u.id = g.user_id "
        "WHERE g.board_id = ? ORDER BY u.name",
        [board_id],
    )


# -- blocks ---------------------------------------------------------------


def _decode_block(row: Row) -> Row:
    row["config"] = loads(row["config"], {})
    row["value"] = loads(row["value"])
    row["displayed"] = bool(row["displayed"])
    return row


def blocks(db: Database, board_id: str) -> list[Row]:
    """A board's blocks in creation order."""
    return [
        _decode_block(r)
        for r in db.rows("SELECT * FROM blocks WHERE board_id = ? ORDER BY position, id", [board_id])
    ]


def block_states(db: Database, board_id: str) -> list[Row]:
    """A board's blocks without their configs: id, name, type, version, displayed, current run,
    state and value, in creation order (cheap enough for every published-page request)."""
    rows = db.rows(
        "SELECT id, name, type, version, displayed, current_run_id, state, value FROM blocks "
        "WHERE board_id = ? ORDER BY position, id",
        [board_id],
    )
    for row in rows:
        row["value"] = loads(row["value"])
        row["displayed"] = bool(row["displayed"])
    return rows


def block(db: Database, board_id: str, block_id: str) -> Row | None:
    row = db.row("SELECT * FROM blocks WHERE board_id = ? AND id = ?", [board_id, block_id])
    return _decode_block(row) if row else None


def block_by_name(db: Database, board_id: str, name: str) -> Row | None:
    row = db.row("SELECT * FROM blocks WHERE board_id = ? AND name = ?", [board_id, name])
    return _decode_block(row) if row else None


def insert_block(
    tx: Connection,
    board_id: str,
    name: str,
    block_type: str,
    config: dict[str, Any],
    value: Any = None,
    **extra: Any,
) -> Row:
    now = utcnow()
    position = tx.execute(
        "SELECT coalesce(max(position), 0) + 1 FROM blocks WHERE board_id = ?", [board_id]
    ).fetchone()[0]
    row = {
        "id": new_id("blk"),
        "board_id": board_id,
        "name": name,
        "type": block_type,
        "config": dumps(config),
        "value": None if value is None else dumps(value),
        "displayed": 0,
        "version": 1,
        "position": position,
        "state": "pending",
        "created_at": now,
        "updated_at": now,
        **extra,
    }
    tx.table("blocks").insert(row)
    return row


def update_block(tx: Connection, block_id: str, *, bump: bool = True, **fields: Any) -> None:
    """Change a block's columns; `bump` adds 1 to its version (every change a user makes)."""
    for name in ("config", "value"):
        if name in fields:
            fields[name] = None if fields[name] is None else dumps(fields[name])
    if "displayed" in fields:
        fields["displayed"] = int(fields["displayed"])
    fields["updated_at"] = utcnow()
    assignments = ", ".join(f"{name} = ?" for name in fields)
    version = ", version = version + 1" if bump else ""
    tx.execute(f"UPDATE blocks SET {assignments}{version} WHERE id = ?", [*fields.values(), block_id])


def set_block_state(tx: Connection, block_id: str, state: str, run_id: str | None, error: str | None) -> None:
    tx.execute(
        "UPDATE blocks SET state = ?, current_run_id = ?, error = ? WHERE id = ?",
        [state, run_id, error, block_id],
    )


# -- sources --------------------------------------------------------------


def _decode_source(row: Row) -> Row:
    row["columns"] = loads(row["columns"], [])
    return row


def sources(db: Database, board_id: str) -> list[Row]:
    return [
        _decode_source(r)
        for r in db.rows("SELECT * FROM sources WHERE board_id = ? ORDER BY name", [board_id])
    ]


def source(db: Database, board_id: str, name: str) -> Row | None:
    row = db.row("SELECT * FROM sources WHERE board_id = ? AND name = ?", [board_id, name])
    return _decode_source(row) if row else None


# -- runs -----------------------------------------------------------------


def _decode_run(row: Row) -> Row:
    row["inputs"] = loads(row["inputs"], {})
    row["output"] = loads(row["output"])
    row["remote"] = loads(row.get("remote"))
    return row


_RUN_COLUMNS = (
    "id",
    "block_id",
    "board_id",
    "status",
    "trigger",
    "actor",
    "fingerprint",
    "inputs",
    "output",
    "file",
    "error",
    "started_at",
    "finished_at",
    "duration_ms",
    "remote",
)
_INSERT_RUN = f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) VALUES ({', '.join('?' for _ in _RUN_COLUMNS)})"


def insert_run(tx: Connection, run: Row) -> None:
    """Insert one run (a plain INSERT: one statement, no schema lookups, for a cascade's many runs)."""
    row = {
        **run,
        "inputs": dumps(run["inputs"]),
        "output": None if run.get("output") is None else dumps(run["output"]),
        "remote": None if not run.get("remote") else dumps(run["remote"]),
    }
    unknown = set(row) - set(_RUN_COLUMNS)
    if unknown:
        raise ValueError(f"runs has no column {', '.join(sorted(unknown))}")
    tx.execute(_INSERT_RUN, [row.get(column) for column in _RUN_COLUMNS])


def run(db: Database, board_id: str, run_id: str) -> Row | None:
    row = db.row("SELECT * FROM runs WHERE board_id = ? AND id = ?", [board_id, run_id])
    return _decode_run(row) if row else None


def runs_by_id(db: Database, run_ids: list[str]) -> dict[str, Row]:
    if not run_ids:
        return {}
    marks = ", ".join("?" for _ in run_ids)
    return {r["id"]: _decode_run(r) for r in db.rows(f"SELECT * FROM runs WHERE id IN ({marks})", run_ids)}


def block_runs(db: Database, board_id: str, block_id: str, limit: int) -> list[Row]:
    """A block's runs in a board, newest first."""
    return [
        _decode_run(r)
        for r in db.rows(
            "SELECT * FROM runs WHERE board_id = ? AND block_id = ? ORDER BY started_at DESC, rowid DESC "
            "LIMIT ?",
            [board_id, block_id, limit],
        )
    ]


def reusable_run(db: Database, block_id: str, fingerprint: str) -> Row | None:
    """The newest successful run of a block with this input fingerprint."""
    # Looked up in the index alone (`runs_by_fingerprint` holds the rowid): a cascade asks this of
    # every block, and mostly finds none.
    found = db.first(
        "SELECT rowid FROM runs WHERE block_id = ? AND fingerprint = ? AND status = 'success' "
        "ORDER BY started_at DESC LIMIT 1",
        [block_id, fingerprint],
    )
    if found is None:
        return None
    row = db.row("SELECT * FROM runs WHERE rowid = ?", [found[0]])
    return _decode_run(row) if row else None


REFERENCED_FILES_SQL = (
    "SELECT board_id, file FROM runs WHERE file IS NOT NULL UNION SELECT board_id, file FROM sources"
)
"""Every (board id, data file) a row names; a backup reads its copy of the database with it too."""


def referenced_files(db: Database) -> set[str]:
    """Every data file a row names, as ``<board_id>/<file>``."""
    return {f"{r['board_id']}/{r['file']}" for r in db.rows(REFERENCED_FILES_SQL)}


# -- audit and messages ---------------------------------------------------


def append_audit(
    tx: Connection,
    board_id: str | None,
    actor: str | None,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> Row:
    event = {
        "id": new_id("aud"),
        "board_id": board_id,
        "actor": actor,
        "action": action,
        "target": target,
        "details": dumps(details or {}),
        "at": utcnow(),
    }
    tx.table("audit").insert(event)
    return {**event, "details": details or {}}


def audit(db: Database, board_id: str | None, limit: int) -> list[Row]:
    """A board's audit events (None: the workspace's own, about users, tokens and connections), newest
    first, each naming its actor; an agent's also names the person who created that agent
    (`actor_created_by`)."""
    rows = db.rows(
        "SELECT a.id, a.board_id, a.actor, u.name AS actor_name, u.kind AS actor_kind, "
        "c.id AS creator_id, c.name AS creator_name, a.action, a.target, a.details, a.at "
        "FROM audit a LEFT JOIN users u ON u.id = a.actor LEFT JOIN users c ON c.id = u.created_by "
        "WHERE a.board_id IS ? ORDER BY a.seq DESC LIMIT ?",
        [board_id, limit],
    )
    for row in rows:
        row["details"] = loads(row["details"], {})
        creator_id, creator_name = row.pop("creator_id"), row.pop("creator_name")
        row["actor_created_by"] = (
            {"id": creator_id, "name": creator_name}
            if row["actor_kind"] == "agent" and creator_id is not None
            else None
        )
    return rows


def board_origin(db: Database, board_id: str) -> Row | None:
    """Where a board came from, as its audit recorded it: the conversation it was saved from or the
    board it was cloned from (None for a board created from scratch)."""
    row = db.row(
        "SELECT a.actor, u.name AS actor_name, a.action, a.details, a.at "
        "FROM audit a LEFT JOIN users u ON u.id = a.actor "
        "WHERE a.board_id = ? AND a.target = ? AND a.action IN ('save', 'clone') ORDER BY a.seq LIMIT 1",
        [board_id, board_id],
    )
    if row is None:
        return None
    details = loads(row["details"], {})
    return {
        "action": row["action"],
        "source_id": details.get("source"),
        "source_kind": details.get("source_kind"),
        "source_title": details.get("source_title"),
        "by": {"id": row["actor"], "name": row["actor_name"]},
        "at": row["at"],
    }


def messages(db: Database, board_id: str) -> list[Row]:
    return db.rows("SELECT * FROM messages WHERE board_id = ? ORDER BY created_at, rowid", [board_id])


def board_definition(tx: Connection | Database, board_id: str) -> Row:
    """A board's definition (title, blocks, layout, refresh settings; not data) as the transaction
    sees it now: what a board version stores."""
    board = tx.execute(
        "SELECT title, layout, refresh_enabled, refresh_interval FROM boards WHERE id = ?", [board_id]
    ).fetchone()
    blocks = tx.execute(
        "SELECT id, name, type, config, displayed, value FROM blocks WHERE board_id = ? "
        "ORDER BY position, id",
        [board_id],
    ).fetchall()
    return {
        "title": board[0],
        "layout": loads(board[1], {"rows": []}),
        "settings": {"refreshEnabled": bool(board[2]), "refreshInterval": board[3]},
        "blocks": [
            {
                "id": b[0],
                "name": b[1],
                "type": b[2],
                "config": loads(b[3], {}),
                "displayed": bool(b[4]),
                "value": loads(b[5]),
            }
            for b in blocks
        ],
    }
