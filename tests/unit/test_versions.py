"""Board versions: every change to a board's definition makes exactly one, diffs say what changed,
and a restore makes a new version equal to an old one, re-running only what it changed."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from ballast_tui.engine.errors import InvalidRequest, NotFound
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage import migrations
from ballast_tui.storage.db import Database
from tests.conftest import ToolClient


def numbers(call: ToolClient, board: str) -> list[int]:
    return [v["number"] for v in call("dashboard_versions", dashboard_id=board)["versions"]]


@pytest.fixture
def built(call: ToolClient, board: str) -> dict[str, str]:
    """A board with a source, a control, two SQL blocks (one shown), a chart."""
    call(
        "catalog_push",
        dashboard_id=board,
        name="sales",
        rows=[{"region": "eu", "v": 1}, {"region": "us", "v": 2}],
    )
    ids = {}
    ids["region"] = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="param-enum",
        name="region",
        config={"options": ["eu", "us"]},
    )["block"]["id"]
    ids["daily"] = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="daily",
        config={"sql": "select * from sales where region = $region", "inputs": ["region"]},
    )["block"]["id"]
    ids["other"] = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="other",
        config={"sql": "select 42 as answer"},
    )["block"]["id"]
    for block in ("region", "daily"):
        call("dashboard_set_displayed", dashboard_id=board, block_id=ids[block], displayed=True)
    return ids


CHANGES: list[tuple[str, Callable[[ToolClient, str, dict[str, str]], Any], str]] = [
    (
        "sql",
        lambda c, b, i: c(
            "dashboard_update_block",
            dashboard_id=b,
            block_id=i["other"],
            config={"sql": "select 7 as answer"},
        ),
        "changed SQL of other",
    ),
    (
        "add",
        lambda c, b, i: c(
            "dashboard_add_block", dashboard_id=b, type="markdown", name="note", config={"text": "x"}
        ),
        "added markdown block note",
    ),
    (
        "delete",
        lambda c, b, i: c("dashboard_delete_block", dashboard_id=b, block_id=i["other"]),
        "deleted other",
    ),
    (
        "show",
        lambda c, b, i: c("dashboard_set_displayed", dashboard_id=b, block_id=i["other"], displayed=True),
        "showed",
    ),
    (
        "control",
        lambda c, b, i: c("dashboard_set_control", dashboard_id=b, block_id=i["region"], value="us"),
        "set region",
    ),
    (
        "layout",
        lambda c, b, i: c(
            "dashboard_set_layout", dashboard_id=b, rows=[{"blocks": [i["daily"], i["region"]]}]
        ),
        "changed the layout",
    ),
    ("move", lambda c, b, i: c("dashboard_move_block", dashboard_id=b, block_id=i["daily"], row=0), "moved"),
    (
        "resize",
        lambda c, b, i: c("dashboard_resize_block", dashboard_id=b, block_id=i["daily"], height=400),
        "resized",
    ),
    (
        "rename",
        lambda c, b, i: c("catalog_rename", dashboard_id=b, name="sales", new_name="orders"),
        "renamed source",
    ),
    (
        "refresh settings",
        lambda c, b, i: c("dashboard_set_refresh", dashboard_id=b, refreshEnabled=True, refreshInterval=900),
        "auto-refresh",
    ),
]


@pytest.mark.parametrize(("change", "summary"), [(c[1], c[2]) for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_every_kind_of_change_makes_exactly_one_version(
    call: ToolClient, board: str, built: dict[str, str], change: Any, summary: str
) -> None:
    before = numbers(call, board)
    change(call, board, built)
    after = call("dashboard_versions", dashboard_id=board)["versions"]
    assert [v["number"] for v in after] == [before[0] + 1, *before]
    assert summary in after[0]["summary"] and after[0]["summary"].startswith(call.user.name)


def test_what_is_not_the_boards_definition_makes_no_version(
    call: ToolClient, board: str, built: dict[str, str], make_client: Any
) -> None:
    make_client("ann")
    before = numbers(call, board)
    call("catalog_push", dashboard_id=board, name="sales", rows=[{"region": "eu", "v": 9}], mode="append")
    call("dashboard_publish", dashboard_id=board)
    call("dashboard_grant", dashboard_id=board, user="ann", role="viewer")
    call("dashboard_run_block", dashboard_id=board, block_id=built["other"])
    call("dashboard_refresh", dashboard_id=board)
    assert numbers(call, board) == before


def test_a_diff_names_what_was_added_removed_and_changed(
    call: ToolClient, board: str, built: dict[str, str]
) -> None:
    start = numbers(call, board)[0]
    call(
        "dashboard_update_block",
        dashboard_id=board,
        block_id=built["other"],
        config={"sql": "select 7 as answer"},
    )
    call("dashboard_add_block", dashboard_id=board, type="markdown", name="note", config={"text": "x"})
    call("dashboard_set_refresh", dashboard_id=board, refreshEnabled=True)
    end = numbers(call, board)[0]
    diff = call("dashboard_version_diff", dashboard_id=board, version=start, other_version=end)["diff"]
    assert [b["name"] for b in diff["added"]] == ["note"]
    assert diff["removed"] == []
    (changed,) = diff["changed"]
    assert changed["name"] == "other" and changed["fields"] == ["config"]
    assert changed["before"]["config"]["sql"] == "select 42 as answer"
    assert changed["after"]["config"]["sql"] == "select 7 as answer"
    assert diff["settings"]["after"]["refreshEnabled"] is True and diff["layout"] is None


def test_restore_makes_a_new_version_and_reruns_only_what_it_changed(
    call: ToolClient, board: str, built: dict[str, str]
) -> None:
    good = numbers(call, board)[0]
    call(
        "dashboard_update_block",
        dashboard_id=board,
        block_id=built["other"],
        config={"sql": "select 7 as answer"},
    )
    call("dashboard_add_block", dashboard_id=board, type="markdown", name="note", config={"text": "x"})
    call("dashboard_delete_block", dashboard_id=board, block_id=built["daily"])
    blocks = {b["name"]: b for b in call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]}
    untouched = blocks["region"]["current_run_id"]
    history = numbers(call, board)
    answer = call("dashboard_restore", dashboard_id=board, version=good)
    assert answer["version"] == history[0] + 1
    assert numbers(call, board) == [history[0] + 1, *history]  # nothing rewritten
    now = {b["name"]: b for b in call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]}
    assert set(now) == {"region", "daily", "other"}
    assert now["daily"]["id"] == built["daily"]  # it came back with its history
    assert now["region"]["current_run_id"] == untouched  # not re-run
    assert sorted(answer["cascade"]["ran"] + answer["cascade"]["reused"]) == sorted(
        [built["daily"], built["other"]]
    )
    rows = call("dashboard_block_data", dashboard_id=board, block_id="other")["rows"]
    assert rows == [{"answer": 42}]
    runs = call("dashboard_runs", dashboard_id=board, block_id=built["daily"])["runs"]
    assert len(runs) >= 1
    audit = call("dashboard_audit", dashboard_id=board)["events"][0]
    assert audit["action"] == "restore" and audit["details"]["version"] == good
    diff = call("dashboard_version_diff", dashboard_id=board, version=good, other_version=answer["version"])[
        "diff"
    ]
    assert diff["added"] == diff["removed"] == diff["changed"] == [] and diff["layout"] is None


def test_bad_versions_are_refused_and_change_nothing(
    call: ToolClient, board: str, built: dict[str, str]
) -> None:
    other = call("dashboard_create", title="Other")["dashboard"]["id"]
    for _ in range(3):
        call("dashboard_add_block", dashboard_id=other, type="markdown", config={"text": "x"})
    before = call("dashboard_get", dashboard_id=board)["dashboard"], numbers(call, board)
    with pytest.raises(NotFound):
        call("dashboard_restore", dashboard_id=board, version=999)
    with pytest.raises(NotFound):
        call(
            "dashboard_version_diff",
            dashboard_id=board,
            version=1,
            other_version=numbers(call, other)[0] + 50,
        )
    with pytest.raises(InvalidRequest):
        call("dashboard_restore", dashboard_id=board, version=numbers(call, board)[0])  # already as it is
    after = call("dashboard_get", dashboard_id=board)["dashboard"], numbers(call, board)
    assert after[1] == before[1] and after[0]["blocks"] == before[0]["blocks"]


def test_a_version_that_no_longer_fits_the_catalog_is_refused(
    call: ToolClient, board: str, built: dict[str, str]
) -> None:
    old = numbers(call, board)[0]
    call("catalog_rename", dashboard_id=board, name="sales", new_name="orders")
    call(
        "dashboard_update_block",
        dashboard_id=board,
        block_id=built["other"],
        config={"sql": "select 1 as answer"},
    )
    with pytest.raises(InvalidRequest) as refused:
        call("dashboard_restore", dashboard_id=board, version=old)
    assert "sales" in refused.value.message


def test_a_clone_starts_its_own_history_at_the_current_version(
    call: ToolClient, board: str, built: dict[str, str]
) -> None:
    copy = call("dashboard_clone", dashboard_id=board)["dashboard"]["id"]
    versions = call("dashboard_versions", dashboard_id=copy)["versions"]
    assert [v["number"] for v in versions] == [1]
    diff_base = call("dashboard_version_diff", dashboard_id=copy, version=1, other_version=1)["diff"]
    assert diff_base["changed"] == []


def test_boards_made_before_versions_start_at_their_state_on_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "ballast.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)")
    db = sqlite_utils.Database(old)
    for version, name, migrate in migrations.MIGRATIONS[:4]:
        migrate(db)
        old.execute("INSERT INTO schema_migrations VALUES (?, ?, 'then')", [version, name])
    old.execute(
        "INSERT INTO users (id, name, kind, is_admin, created_at) "
        "VALUES ('usr_1', 'olga', 'human', 1, 'then')"
    )
    old.execute(
        "INSERT INTO boards (id, kind, title, owner_id, created_at, updated_at) "
        "VALUES ('dash_old000000000', 'dashboard', 'Old', 'usr_1', 'then', 'then')"
    )
    old.execute(
        "INSERT INTO blocks (id, board_id, name, type, config, position, created_at, updated_at) "
        "VALUES ('blk_old000000000', 'dash_old000000000', 'q', 'sql', '{\"sql\": \"select 1\"}', 1, "
        "'then', 'then')"
    )
    old.commit()
    old.close()
    upgraded = Database(path)
    rows = upgraded.rows("SELECT number, actor, definition FROM board_versions")
    upgraded.close()
    assert len(rows) == 1 and rows[0]["number"] == 1 and rows[0]["actor"] == "usr_1"
    assert '"sql":"select 1"' in rows[0]["definition"]


def test_the_history_cannot_be_rewritten(
    ws: Workspace, call: ToolClient, board: str, built: dict[str, str]
) -> None:
    with pytest.raises(sqlite3.DatabaseError), ws.db.write() as tx:
        tx.execute("UPDATE board_versions SET summary = 'nothing happened' WHERE board_id = ?", [board])
    with pytest.raises(sqlite3.DatabaseError), ws.db.write() as tx:
        tx.execute("DELETE FROM board_versions WHERE board_id = ?", [board])
