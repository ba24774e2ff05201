"""The schema, as an ordered list of migrations recorded in the database itself.

Never edit a migration that has shipped: append a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from ballast_tui.storage.connection import Connection

log = logging.getLogger("ballast.workspace")


def _v1_initial(db: Connection) -> None:
    db.execute(
        """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('human', 'agent')),
            is_admin INTEGER NOT NULL DEFAULT 0,
            created_by TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            hash TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE boards (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('dashboard', 'conversation')),
            title TEXT NOT NULL,
            owner_id TEXT NOT NULL REFERENCES users(id),
            visibility TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'link_view')),
            slug TEXT UNIQUE,
            password_hash TEXT,
            password_version INTEGER NOT NULL DEFAULT 0,
            layout TEXT NOT NULL DEFAULT '{"rows":[]}',
            refresh_enabled INTEGER NOT NULL DEFAULT 0,
            refresh_interval INTEGER NOT NULL DEFAULT 3600,
            last_refreshed_at TEXT,
            saved_as TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE grants (
            board_id TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id),
            role TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
            PRIMARY KEY (board_id, user_id)
        )"""
    )
    db.execute(
        """
        CREATE TABLE blocks (
            id TEXT PRIMARY KEY,
            board_id TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            config TEXT NOT NULL,
            value TEXT,
            displayed INTEGER NOT NULL DEFAULT 0,
            version INTEGER NOT NULL DEFAULT 1,
            position INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            current_run_id TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (board_id, name)
        )"""
    )
    db.execute(
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            block_id TEXT NOT NULL,
            board_id TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
            status TEXT NOT NULL CHECK (status IN ('success', 'error')),
            trigger TEXT NOT NULL,
            actor TEXT,
            fingerprint TEXT NOT NULL,
            inputs TEXT NOT NULL,
            output TEXT,
            file TEXT,
            error TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            duration_ms REAL NOT NULL
        )"""
    )
    db.execute("CREATE INDEX runs_by_block ON runs (block_id, started_at)")
    db.execute("CREATE INDEX runs_by_fingerprint ON runs (block_id, fingerprint, status)")
    db.execute(
        """
        CREATE TABLE sources (
            id TEXT PRIMARY KEY,
            board_id TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            format TEXT NOT NULL,
            file TEXT NOT NULL,
            row_count INTEGER NOT NULL,
            columns TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            created_by TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (board_id, name)
        )"""
    )
    db.execute(
        """
        CREATE TABLE messages (
            id TEXT PRIMARY KEY,
            board_id TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            author TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    # No foreign key: the audit outlives the boards it speaks of.
    db.execute(
        """
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            board_id TEXT,
            actor TEXT,
            action TEXT NOT NULL,
            target TEXT,
            details TEXT NOT NULL,
            at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX audit_by_board ON audit (board_id, seq)")
    for statement in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER audit_no_{statement.lower()} BEFORE {statement} ON audit "
            "BEGIN SELECT RAISE(ABORT, 'audit events are never changed'); END"
        )
    db.execute(
        """
        CREATE TRIGGER runs_no_update BEFORE UPDATE ON runs
        BEGIN SELECT RAISE(ABORT, 'runs are immutable'); END"""
    )


def _v2_runs_never_deleted(db: Connection) -> None:
    # The board's own deletion still removes them (ON DELETE CASCADE runs after the board row is gone).
    db.execute(
        """
        CREATE TRIGGER runs_no_delete BEFORE DELETE ON runs
        WHEN EXISTS (SELECT 1 FROM boards WHERE id = OLD.board_id)
        BEGIN SELECT RAISE(ABORT, 'runs are never deleted while their board exists'); END"""
    )


def _v3_connections(db: Connection) -> None:
    # A connected warehouse or app database. `secret` is the URL encrypted with the workspace key
    # (never stored in clear); `display` is what may be shown: driver, host, port, database, user.
    db.execute(
        """
        CREATE TABLE connections (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            driver TEXT NOT NULL,
            secret BLOB NOT NULL,
            display TEXT NOT NULL,
            listed_at TEXT,
            created_by TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    # The tables a connection exposes, with their columns: looked up lazily, cached here.
    db.execute(
        """
        CREATE TABLE connection_tables (
            connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
            schema_name TEXT NOT NULL,
            table_name TEXT NOT NULL,
            table_type TEXT,
            columns TEXT NOT NULL,
            PRIMARY KEY (connection_id, schema_name, table_name)
        )"""
    )
    # What a run sent to connected databases (the SQL, the names of its bound parameters).
    db.execute("ALTER TABLE runs ADD COLUMN remote TEXT")
    # Bumped by every refresh: connected data read before it is not reused after it.
    db.execute("ALTER TABLE boards ADD COLUMN remote_epoch INTEGER NOT NULL DEFAULT 0")


def _v4_tokens_and_grants(db: Connection) -> None:
    # Tokens: a name, when last used, when revoked (revoked tokens stay listed), and how `hash` was
    # made: `scrypt` (tokens made before this release, re-hashed on their first use) or `hmac`
    # (HMAC-SHA-256 of the random secret under the workspace's key).
    db.execute("ALTER TABLE tokens ADD COLUMN name TEXT")
    db.execute("ALTER TABLE tokens ADD COLUMN last_used_at TEXT")
    db.execute("ALTER TABLE tokens ADD COLUMN revoked_at TEXT")
    db.execute("ALTER TABLE tokens ADD COLUMN scheme TEXT NOT NULL DEFAULT 'scrypt'")
    # A removed user keeps its row (runs and the audit name it), but no token of it works any more.
    db.execute("ALTER TABLE users ADD COLUMN removed_at TEXT")
    # Counters every process watches: `access` moves with every revocation, so a running server
    # drops what it remembered within a second of another process's change.
    db.execute("CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    db.execute("INSERT INTO counters (name, value) VALUES ('access', 0)")
    # Who may read a connection's tables: a user id, or '*' for every user.
    db.execute(
        """
        CREATE TABLE connection_grants (
            connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
            grantee TEXT NOT NULL,
            granted_by TEXT,
            granted_at TEXT NOT NULL,
            PRIMARY KEY (connection_id, grantee)
        )"""
    )
    # Connections made before grants existed stay readable by every board (nothing breaks on upgrade).
    existing = [row["id"] for row in db.query("SELECT id FROM connections")]
    for connection_id in existing:
        db.execute(
            "INSERT INTO connection_grants (connection_id, grantee, granted_by, granted_at) "
            "VALUES (?, '*', NULL, ?)",
            [connection_id, datetime.now(UTC).isoformat()],
        )
    if existing:
        log.warning(
            "upgrade: %d connection(s) made before connection grants are granted to every user; narrow "
            "them with `ballast connection revoke NAME --all` and `ballast connection grant NAME USER`",
            len(existing),
        )


def _v5_board_versions(db: Connection) -> None:
    # Every change to a board's definition stores it whole, as the board's next version.
    db.execute(
        """
        CREATE TABLE board_versions (
            board_id TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            actor TEXT,
            at TEXT NOT NULL,
            summary TEXT NOT NULL,
            definition TEXT NOT NULL,
            PRIMARY KEY (board_id, number)
        )"""
    )
    for statement in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER board_versions_no_{statement.lower()} BEFORE {statement} ON board_versions "
            "WHEN EXISTS (SELECT 1 FROM boards WHERE id = OLD.board_id) "
            "BEGIN SELECT RAISE(ABORT, 'board versions are never changed'); END"
        )
    # The history of a board made before versions starts at its state at the upgrade.
    from ballast_tui.storage.db import dumps
    from ballast_tui.storage.repos import board_definition

    now = datetime.now(UTC).isoformat()
    for board_id, owner in db.execute("SELECT id, owner_id FROM boards").fetchall():
        db.execute(
            "INSERT INTO board_versions (board_id, number, actor, at, summary, definition) "
            "VALUES (?, 1, ?, ?, 'the board as it was when versions began', ?)",
            [board_id, owner, now, dumps(board_definition(db, board_id))],
        )


def _v6_public_options(db: Connection) -> None:
    # A published link's options (`dashboard_set_public_options`): whether its page offers the
    # displayed tables and charts as CSV, and the origins allowed to frame it (a JSON list of
    # `scheme://host[:port]`; none by default).
    db.execute("ALTER TABLE boards ADD COLUMN public_downloads INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE boards ADD COLUMN embed_origins TEXT NOT NULL DEFAULT '[]'")


def _v7_reuse_lookup_index(db: Connection) -> None:
    # A cascade looks each block's fingerprint up among its earlier runs, newest first
    # (`repos.reusable_run`). With the index on (block_id, fingerprint, status) alone, SQLite chose
    # `runs_by_block` to avoid the sort and read every run of the block: a lookup grew with the
    # block's history. This index answers the filter and the order together.
    db.execute("DROP INDEX IF EXISTS runs_by_fingerprint")
    db.execute("CREATE INDEX runs_by_fingerprint ON runs (block_id, fingerprint, status, started_at)")


def _v8_output_journal(db: Connection) -> None:
    # A group commit's small output files, their bytes kept with the rows that name them until each
    # file is fsynced on its own (`storage.journal`). `created_at` is seconds since the epoch.
    db.execute(
        """
        CREATE TABLE output_journal (
            grp TEXT NOT NULL,
            file TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            data BLOB NOT NULL,
            created_at REAL NOT NULL
        )"""
    )
    db.execute("CREATE INDEX output_journal_by_group ON output_journal (grp)")


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial schema", _v1_initial),
    (2, "runs are never deleted while their board exists", _v2_runs_never_deleted),
    (3, "connected warehouses and app databases", _v3_connections),
    (4, "token names, use and revocation; connection grants", _v4_tokens_and_grants),
    (5, "board versions", _v5_board_versions),
    (6, "published links: CSV downloads and embedding origins", _v6_public_options),
    (7, "reuse lookups from one index", _v7_reuse_lookup_index),
    (8, "small output files journaled with their rows", _v8_output_journal),
]


def apply_migrations(db: Connection) -> int:
    """Apply every migration not yet recorded; return the schema version. Call inside a write transaction."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    done = {row["version"] for row in db.query("SELECT version FROM schema_migrations")}
    for version, name, migrate in MIGRATIONS:
        if version in done:
            continue
        migrate(db)
        db.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            [version, name, datetime.now(UTC).isoformat()],
        )
    return max(v for v, _, _ in MIGRATIONS)
