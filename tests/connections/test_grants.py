"""Connection grants: a board reads a connection only when its owner holds the grant; otherwise the
connection's tables are unknown sources, in the catalog, in SQL and in push-down. Real SQLite
files, real workspaces."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from ballast_tui.engine.errors import Forbidden, InvalidRequest, NotFound
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage import migrations
from ballast_tui.storage.db import Database
from tests.conftest import ToolClient


@pytest.fixture
def people(make_client: object) -> tuple[ToolClient, ToolClient]:
    make = make_client  # type: ignore[assignment]
    return make("alice"), make("bob")  # type: ignore[operator]


def connected_names(client: ToolClient, board: str) -> set[str]:
    return {
        s["name"] for s in client("catalog_list", dashboard_id=board)["sources"] if s["kind"] == "connection"
    }


def test_a_new_connection_is_read_by_no_board_until_granted(
    admin: ToolClient, people: tuple[ToolClient, ToolClient], sqlite_file: Path
) -> None:
    alice, bob = people
    admin("connection_add", name="app", url=f"sqlite://{sqlite_file}")
    alices = alice("dashboard_create", title="A")["dashboard"]["id"]
    bobs = bob("dashboard_create", title="B")["dashboard"]["id"]
    mine = admin("dashboard_create", title="Admin's")["dashboard"]["id"]
    for client, board in ((alice, alices), (bob, bobs), (admin, mine)):
        assert connected_names(client, board) == set()
        with pytest.raises(InvalidRequest) as refused:
            client(
                "dashboard_add_block", dashboard_id=board, type="sql", config={"sql": "from app.main.users"}
            )
        assert "app.main.users" in refused.value.message

    granted = admin("connection_grant", connection="app", user="alice")["connection"]
    assert granted["grants"] == ["alice"]
    assert "app.main.users" in connected_names(alice, alices)
    assert connected_names(bob, bobs) == set()
    added = alice(
        "dashboard_add_block", dashboard_id=alices, type="sql", config={"sql": "from app.main.users"}
    )
    assert added["block"]["state"] == "success"
    with pytest.raises(InvalidRequest):
        bob("dashboard_add_block", dashboard_id=bobs, type="sql", config={"sql": "from app.main.users"})

    admin("connection_grant", connection="app", user="*")
    assert "app.main.users" in connected_names(bob, bobs)


def test_a_revoked_grant_makes_the_tables_unknown_to_existing_blocks(
    admin: ToolClient, people: tuple[ToolClient, ToolClient], sqlite_file: Path
) -> None:
    alice, _bob = people
    admin("connection_add", name="app", url=f"sqlite://{sqlite_file}", grant=["alice"])
    board = alice("dashboard_create", title="A")["dashboard"]["id"]
    block = alice(
        "dashboard_add_block", dashboard_id=board, type="sql", config={"sql": "from app.main.users"}
    )
    assert block["block"]["state"] == "success"
    revoked = admin("connection_revoke", connection="app", user="alice")
    assert revoked["revoked"] is True and revoked["connection"]["grants"] == []
    ran = alice("dashboard_run_block", dashboard_id=board, block_id=block["block"]["id"])["run"]
    assert ran["status"] == "error" and "not a connection granted to its owner" in ran["error"]
    assert connected_names(alice, board) == set()


def test_grants_follow_the_boards_owner_not_the_caller(
    admin: ToolClient, people: tuple[ToolClient, ToolClient], sqlite_file: Path
) -> None:
    alice, bob = people
    admin("connection_add", name="app", url=f"sqlite://{sqlite_file}", grant=["alice"])
    board = bob("dashboard_create", title="Bob's")["dashboard"]["id"]
    bob("dashboard_grant", dashboard_id=board, user="alice", role="editor")
    # alice holds the grant, but the board is bob's: it may not read the connection, even when she edits.
    with pytest.raises(InvalidRequest):
        alice("dashboard_add_block", dashboard_id=board, type="sql", config={"sql": "from app.main.users"})
    assert connected_names(alice, board) == set()


def test_a_connection_inside_the_workspace_is_refused(admin: ToolClient, ws: Workspace) -> None:
    for url in (
        f"sqlite://{ws.paths.db}",
        f"duckdb://{ws.paths.root / 'data' / 'x.duckdb'}",
        f"sqlite://{ws.paths.root}",
    ):
        with pytest.raises(InvalidRequest) as refused:
            admin("connection_add", name="own", url=url, check=False)
        assert "inside the workspace" in refused.value.message
    assert admin("connection_list")["connections"] == []


def test_bad_grants_change_nothing(
    admin: ToolClient, people: tuple[ToolClient, ToolClient], sqlite_file: Path
) -> None:
    alice, _bob = people
    admin("connection_add", name="app", url=f"sqlite://{sqlite_file}")
    before = admin("connection_list")["connections"]
    with pytest.raises(NotFound):
        admin("connection_grant", connection="app", user="ghost")
    with pytest.raises(NotFound):
        admin("connection_grant", connection="nope", user="alice")
    with pytest.raises(Forbidden):
        alice("connection_grant", connection="app", user="alice")
    with pytest.raises(NotFound):
        admin("connection_add", name="other", url=f"sqlite://{sqlite_file}", grant=["ghost"])
    assert admin("connection_list")["connections"] == before
    events = admin("workspace_audit")["events"]
    assert [e["action"] for e in events][:1] == ["connection_add"]  # nothing refused was recorded


def test_grants_are_audited(
    admin: ToolClient, people: tuple[ToolClient, ToolClient], sqlite_file: Path
) -> None:
    admin("connection_add", name="app", url=f"sqlite://{sqlite_file}", grant=["alice"])
    admin("connection_grant", connection="app", user="*")
    admin("connection_revoke", connection="app", user="alice")
    events = admin("workspace_audit")["events"]
    assert [(e["action"], e["details"].get("user")) for e in events[:4]] == [
        ("connection_revoke", "alice"),
        ("connection_grant", "everyone"),
        ("connection_grant", "alice"),
        ("connection_add", None),
    ]


def test_connections_made_before_grants_are_granted_to_everyone_by_the_upgrade(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "old" / "ballast.db"
    path.parent.mkdir()
    # A workspace as the previous release left it: schema 1 to 3, with one connection.
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)")
    db = sqlite_utils.Database(old)
    for version, name, migrate in migrations.MIGRATIONS[:3]:
        migrate(db)
        old.execute("INSERT INTO schema_migrations VALUES (?, ?, 'then')", [version, name])
    old.execute(
        "INSERT INTO connections (id, name, driver, secret, display, created_at) "
        "VALUES ('con_old000000000', 'legacy', 'sqlite', x'00', '{}', 'then')"
    )
    old.commit()
    old.close()
    with caplog.at_level(logging.WARNING, logger="ballast.workspace"):
        upgraded = Database(path)
    grants = upgraded.rows("SELECT grantee FROM connection_grants WHERE connection_id = 'con_old000000000'")
    upgraded.close()
    assert grants == [{"grantee": "*"}]
    assert any("granted to every user" in r.getMessage() for r in caplog.records)
