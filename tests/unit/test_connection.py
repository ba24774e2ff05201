"""The workspace database's connection (`storage/connection.py`) does what sqlite-utils did for us:
a write outside a transaction is kept, one inside `Database.write` is kept or rolled back with it, a
failed statement leaves no transaction open, rows come back as dicts with repeated names made unique,
and inserts still go through sqlite-utils. A real SQLite file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ballast_tui.storage.db import Database


def fresh(path: Path) -> sqlite3.Connection:
    """Another connection, as a second process would see the file."""
    return sqlite3.connect(path)


def test_a_write_outside_a_transaction_is_kept_and_one_inside_is_rolled_back_with_it(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.db")
    db.conn.execute("CREATE TABLE t (v INTEGER)")
    db.execute("INSERT INTO t VALUES (1)")
    assert not db.conn.conn.in_transaction
    with pytest.raises(RuntimeError), db.write() as tx:
        tx.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("refused half-way")
    with db.write() as tx:
        tx.execute("INSERT INTO t VALUES (3)")
    assert fresh(db.path).execute("SELECT v FROM t ORDER BY v").fetchall() == [(1,), (3,)]
    db.close()


def test_a_failed_statement_leaves_no_transaction_behind(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.db")
    db.conn.execute("CREATE TABLE t (v INTEGER NOT NULL)")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO t VALUES (NULL)")
    assert not db.conn.conn.in_transaction
    db.execute("INSERT INTO t VALUES (4)")  # a later write is not swallowed by a dangling transaction
    assert fresh(db.path).execute("SELECT v FROM t").fetchall() == [(4,)]
    db.close()


def test_rows_are_dicts_and_a_repeated_column_name_is_suffixed(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.db")
    assert db.rows("SELECT 1 AS id, 2 AS id, 3 AS id_2, 4 AS name") == [
        {"id": 1, "id_3": 2, "id_2": 3, "name": 4}
    ]
    assert db.row("SELECT 5 AS v WHERE 0") is None
    with pytest.raises(ValueError, match="returns rows"):
        db.conn.query("CREATE TABLE q (v INTEGER)")
    db.close()


def test_inserts_go_through_sqlite_utils_with_its_conversions(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.db")
    db.conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, tags TEXT)")
    with db.write() as tx:
        tx.table("t").insert({"id": "a", "tags": ["x", "y"]})
    assert db.rows("SELECT * FROM t") == [{"id": "a", "tags": '["x", "y"]'}]
    db.close()


def test_opening_and_reading_a_workspace_does_not_load_sqlite_utils(tmp_path: Path) -> None:
    """sqlite-utils (with click, pluggy and dateutil) loads for an insert, not to open and read."""
    script = (
        "import sys; from pathlib import Path; from ballast_tui.storage.db import Database;"
        "db = Database(Path(sys.argv[1])); db.rows('SELECT * FROM schema_migrations');"
        "print('sqlite_utils' in sys.modules)"
    )
    for expected in ("False", "False"):  # creating the schema, then opening it again
        loaded = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "w.db")], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert loaded == expected


def test_a_write_given_as_a_read_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    """A statement without rows given to `rows` is refused and undone (no row, no transaction left
    open to swallow later writes), alone or inside a write; one that returns rows is kept."""
    db = Database(tmp_path / "t.db")
    db.conn.execute("CREATE TABLE t (v INTEGER)")
    with pytest.raises(ValueError, match="returns rows"):
        db.rows("INSERT INTO t VALUES (1)")
    assert not db.conn.conn.in_transaction
    with db.write() as tx:
        tx.execute("INSERT INTO t VALUES (2)")
        with pytest.raises(ValueError, match="returns rows"):
            list(tx.query("INSERT INTO t VALUES (3)"))
    assert db.rows("INSERT INTO t VALUES (4) RETURNING v") == [{"v": 4}]
    assert fresh(db.path).execute("SELECT v FROM t ORDER BY v").fetchall() == [(2,), (4,)]
    db.close()
