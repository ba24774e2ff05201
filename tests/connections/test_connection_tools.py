"""Connections at workspace level: administrators only, URLs stored encrypted and never shown."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from ballast_tui.engine.errors import ToolError
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient
from tests.connections.conftest import SECRET
from tests.pg_server import PostgresServer, free_port

SECRET_SPELLINGS = (SECRET, quote(SECRET, safe=""), "s3cr3t")


def assert_no_secret(text: str) -> None:
    for spelling in SECRET_SPELLINGS:
        assert spelling not in text, f"{spelling!r} leaked"


def database_bytes(ws: Workspace) -> str:
    files = [ws.paths.db, ws.paths.db.with_name("ballast.db-wal")]
    return b"".join(p.read_bytes() for p in files if p.exists()).decode("latin-1")


def test_admin_adds_a_connection_and_sees_where_it_points_never_the_password(
    ws: Workspace, admin: ToolClient, pg_url: str
) -> None:
    added = admin("connection_add", name="wh", url=pg_url, grant=["*"])["connection"]
    assert added["name"] == "wh" and added["driver"] == "postgresql"
    assert added["host"] == "127.0.0.1" and added["user"] == "reader" and added["database"] == "postgres"
    assert added["tables"] >= 1 and added["created_by_name"] == admin.user.name
    listed = admin("connection_list")["connections"]
    assert [c["name"] for c in listed] == ["wh"]
    for answer in (added, listed):
        assert_no_secret(json.dumps(answer))
        assert pg_url not in json.dumps(answer)
    # Encrypted at rest: neither the password nor the URL is in the database file, and the key
    # lives apart from it, readable by its owner only.
    assert_no_secret(database_bytes(ws))
    key = ws.paths.root / "connections.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # Reopening the workspace (a restart) still opens the connection with the stored secret.
    reopened = Workspace(ws.paths.root)
    try:
        connection = reopened.connections.get("wh")
        assert reopened.connections.tables(connection, refresh=True)
    finally:
        reopened.close()


def test_only_administrators_manage_connections(ws: Workspace, admin: ToolClient, pg_url: str) -> None:
    admin("connection_add", name="wh", url=pg_url, grant=["*"])
    someone, _ = ws.users.create("someone")
    boss, _ = ws.users.create("boss", admin=True)
    outsider, promoted = ToolClient(ws, someone), ToolClient(ws, boss)
    for tool, arguments in [
        ("connection_add", {"name": "other", "url": pg_url}),
        ("connection_list", {}),
        ("connection_remove", {"name": "wh"}),
    ]:
        with pytest.raises(ToolError) as refused:
            outsider(tool, **arguments)
        assert refused.value.status == 403 and refused.value.code == "forbidden"
        assert "administrators" in refused.value.message
    assert [c["name"] for c in promoted("connection_list")["connections"]] == ["wh"]
    promoted("connection_add", name="other", url=pg_url, grant=["*"])
    assert promoted("connection_remove", name="other") == {"success": True, "removed": "other"}


def test_wrong_password_is_refused_at_add_naming_the_connection_and_nothing_is_stored(
    ws: Workspace, admin: ToolClient, postgres: PostgresServer
) -> None:
    wrong = postgres.url("reader", SECRET + "-wrong")
    with pytest.raises(ToolError) as refused:
        admin("connection_add", name="wh", url=wrong, grant=["*"])
    message = refused.value.message
    assert refused.value.code == "invalid_request"
    assert message.startswith("connection 'wh': could not connect")
    assert 'password authentication failed for user "reader"' in message
    assert_no_secret(message)
    assert admin("connection_list")["connections"] == []


def test_unreachable_database_is_refused_unless_added_without_check(ws: Workspace, admin: ToolClient) -> None:
    url = f"postgresql://reader:{quote(SECRET, safe='')}@127.0.0.1:{free_port()}/postgres"
    with pytest.raises(ToolError) as refused:
        admin("connection_add", name="down", url=url, grant=["*"])
    assert refused.value.message.startswith("connection 'down': could not connect")
    assert "Connection refused" in refused.value.message
    assert_no_secret(refused.value.message)
    added = admin("connection_add", name="down", url=url, check=False, grant=["*"])["connection"]
    assert added["tables"] is None  # not looked up yet: lazily, at first need


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://u:Sup3r-s3cr3t@h/db", "starts with postgresql://"),
        ("Sup3r-s3cr3t", "starts with postgresql://"),
        ("sqlite:relative/app.db", "absolute"),
        ("postgresql://u:Sup3r-s3cr3t@h:notaport/db", "malformed"),
    ],
)
def test_malformed_urls_are_refused_without_echoing_them(admin: ToolClient, url: str, expected: str) -> None:
    with pytest.raises(ToolError) as refused:
        admin("connection_add", name="bad", url=url, check=False, grant=["*"])
    assert expected in refused.value.message
    assert "s3cr3t" not in refused.value.message


def test_connection_names_are_sql_names_and_unique(admin: ToolClient, sqlite_file: Path) -> None:
    url = f"sqlite://{sqlite_file}"
    admin("connection_add", name="app", url=url, grant=["*"])
    with pytest.raises(ToolError) as duplicate:
        admin("connection_add", name="app", url=url, grant=["*"])
    assert duplicate.value.code == "conflict"
    with pytest.raises(ToolError) as invalid:
        admin("connection_add", name="My App", url=url, grant=["*"])
    assert invalid.value.code == "invalid_request"


def test_adding_and_removing_is_audited_without_the_url(
    ws: Workspace, admin: ToolClient, pg_url: str
) -> None:
    admin("connection_add", name="wh", url=pg_url, grant=["*"])
    admin("connection_remove", name="wh")
    events = ws.db.rows(
        "SELECT action, target, details, actor FROM audit WHERE board_id IS NULL ORDER BY seq"
    )
    assert [(e["action"], e["target"]) for e in events] == [
        ("connection_add", "wh"),
        ("connection_grant", "wh"),
        ("connection_remove", "wh"),
    ]
    assert all(e["actor"] == admin.user.id for e in events)
    assert json.loads(events[0]["details"])["host"] == "127.0.0.1"
    assert_no_secret(json.dumps(events))
    assert admin("connection_list")["connections"] == []


def run_cli(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ballast_tui.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def test_cli_adds_lists_and_removes_reading_the_url_from_stdin(tmp_path: Path, pg_url: str) -> None:
    workspace = str(tmp_path / "cli-ws")
    run_cli("init", workspace)
    added = run_cli("--workspace", workspace, "connection", "add", "wh", stdin=pg_url + "\n")
    assert "connected wh (postgresql reader@127.0.0.1:" in added.stdout
    assert "wh.schema.table" in added.stdout
    listed = run_cli("--workspace", workspace, "connection", "list")
    assert listed.stdout.startswith("wh ") and "tables" in listed.stdout
    for output in (added, listed):
        assert_no_secret(output.stdout + output.stderr)
    removed = run_cli("--workspace", workspace, "connection", "remove", "wh")
    assert removed.stdout.strip() == "removed wh"


def test_cli_makes_a_relative_file_path_absolute(tmp_path: Path, sqlite_file: Path) -> None:
    workspace = str(tmp_path / "cli-ws")
    run_cli("init", workspace)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ballast_tui.cli",
            "--workspace",
            workspace,
            "connection",
            "add",
            "app",
            "sqlite:app.db",
        ],
        cwd=sqlite_file.parent,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert f"sqlite {sqlite_file}" in result.stdout and ": 1 tables" in result.stdout
