"""Run records through the tools: what a run records, the history, immutability, and comparing two runs."""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
from datetime import datetime
from typing import Any

import pytest

from ballast_tui.engine.errors import InvalidRequest, NotFound
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient

Row = dict[str, Any]
RUN_FIELDS = {
    "id",
    "block_id",
    "board_id",
    "status",
    "trigger",
    "actor",
    "inputs",
    "output",
    "error",
    "started_at",
    "finished_at",
    "duration_ms",
}


def add(call: ToolClient, board: str, name: str, block_type: str, config: Row) -> Row:
    block: Row = call("dashboard_add_block", dashboard_id=board, type=block_type, name=name, config=config)[
        "block"
    ]
    return block


def update_sql(call: ToolClient, board: str, block_id: str, sql: str, inputs: list[str] | None = None) -> Row:
    config: Row = {"sql": sql, "inputs": inputs or []}
    block: Row = call("dashboard_update_block", dashboard_id=board, block_id=block_id, config=config)["block"]
    return block


def history(call: ToolClient, board: str, block_id: str, **kwargs: Any) -> list[Row]:
    return list(call("dashboard_runs", dashboard_id=board, block_id=block_id, **kwargs)["runs"])


def at(text: str) -> datetime:
    assert text.endswith("Z")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def sha256_json(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# -- what a run records ------------------------------------------------------------------


def test_run_records_everything_the_contract_lists(call: ToolClient, board: str, owner: Any) -> None:
    call("catalog_push", dashboard_id=board, name="sales", rows=[{"region": "n", "amount": 2.5}])
    control = add(call, board, "region", "param-enum", {"options": ["n", "s"]})
    base = add(call, board, "base", "sql", {"sql": "select region, amount from sales"})
    config = {"sql": "select region, sum(amount) as total from base where region = $region group by 1"}
    config["inputs"] = ["region"]
    block = add(call, board, "totals", "sql", config)

    [run] = history(call, board, block["id"])

    assert set(run) >= RUN_FIELDS
    assert run["id"].startswith("run_") and run["id"] == block["current_run_id"]
    assert run["block_id"] == block["id"] and run["board_id"] == board
    assert run["status"] == "success" and run["error"] is None
    assert run["trigger"] == "edit"
    assert run["actor"] == owner.id and run["actor_name"] == owner.name
    assert run["inputs"]["config_hash"] == sha256_json(block["config"])
    assert run["inputs"]["upstream"] == {"base": base["current_run_id"], "region": control["current_run_id"]}
    assert run["inputs"]["bound"] == {"region": "n"}
    assert run["output"]["row_count"] == 1
    assert run["output"]["columns"] == [
        {"name": "region", "type": "VARCHAR"},
        {"name": "total", "type": "DOUBLE"},
    ]
    assert run["output"]["content_hash"]
    started, finished = at(run["started_at"]), at(run["finished_at"])
    assert started <= finished
    assert 0 <= run["duration_ms"] <= (finished - started).total_seconds() * 1000 + 1
    assert call("dashboard_block_data", dashboard_id=board, block_id=block["id"])["rows"] == [
        {"region": "n", "total": 2.5}
    ]


def test_same_output_has_same_content_hash_and_config_hash_follows_config(
    call: ToolClient, board: str
) -> None:
    one = add(call, board, "one", "sql", {"sql": "select 1 as v, 'x' as s"})
    two = add(call, board, "two", "sql", {"sql": "select 2 - 1 as v, 'x' as s"})
    three = add(call, board, "three", "sql", {"sql": "select 3 as v, 'x' as s"})
    hashes = {b["name"]: history(call, board, b["id"])[0] for b in (one, two, three)}
    assert hashes["one"]["output"]["content_hash"] == hashes["two"]["output"]["content_hash"]
    assert hashes["one"]["output"]["content_hash"] != hashes["three"]["output"]["content_hash"]
    assert hashes["one"]["inputs"]["config_hash"] != hashes["two"]["inputs"]["config_hash"]


def test_error_run_records_the_error_and_no_output(call: ToolClient, board: str) -> None:
    block = add(call, board, "bad", "sql", {"sql": "select 1 / 0 as v, error('it broke') as e"})
    [run] = history(call, board, block["id"])
    assert run["status"] == "error"
    assert "it broke" in run["error"]
    assert run["output"] is None
    assert run["trigger"] == "edit"
    assert at(run["started_at"]) <= at(run["finished_at"])
    assert block["error"] == run["error"]


def test_actor_is_the_user_who_caused_the_run(call: ToolClient, board: str, make_client: Any) -> None:
    editor = make_client("eddie")
    call("dashboard_grant", dashboard_id=board, user="eddie", role="editor")
    block = add(call, board, "a", "sql", {"sql": "select 1 as v"})
    editor("dashboard_run_block", dashboard_id=board, block_id=block["id"])
    newest, first = history(call, board, block["id"])
    assert (newest["actor"], newest["actor_name"], newest["trigger"]) == (editor.user.id, "eddie", "manual")
    assert first["actor"] == call.user.id


# -- history ------------------------------------------------------------------------------------


def test_runs_are_listed_newest_first_with_limit(call: ToolClient, board: str) -> None:
    block = add(call, board, "a", "sql", {"sql": "select 1 as v"})
    ids = [block["current_run_id"]]
    for n in (2, 3, 4):
        ids.append(update_sql(call, board, block["id"], f"select {n} as v")["current_run_id"])
    ids.append(call("dashboard_run_block", dashboard_id=board, block_id=block["id"])["run"]["id"])

    runs = history(call, board, block["id"])
    assert [r["id"] for r in runs] == ids[::-1]
    assert [r["trigger"] for r in runs] == ["manual", "edit", "edit", "edit", "edit"]
    assert runs[0]["output"]["content_hash"] == runs[1]["output"]["content_hash"]
    assert [r["id"] for r in history(call, board, block["id"], limit=2)] == ids[::-1][:2]
    assert all(r["started_at"] >= s["started_at"] for r, s in itertools.pairwise(runs))


def test_runs_are_immutable_in_the_database(ws: Workspace, call: ToolClient, board: str) -> None:
    block = add(call, board, "a", "sql", {"sql": "select 1 as v"})
    before = history(call, board, block["id"])
    con = sqlite3.connect(ws.paths.db)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="immutable"):
            con.execute(
                "UPDATE runs SET status = 'error', error = 'tampered' WHERE block_id = ?", [block["id"]]
            )
        with pytest.raises(sqlite3.DatabaseError, match="never deleted"):
            con.execute("DELETE FROM runs WHERE block_id = ?", [block["id"]])
        con.rollback()
    finally:
        con.close()
    assert history(call, board, block["id"]) == before


def test_deleted_block_keeps_its_runs_listed(ws: Workspace, call: ToolClient, board: str) -> None:
    block = add(call, board, "gone", "sql", {"sql": "select 1 as v"})
    update_sql(call, board, block["id"], "select 2 as v")
    before = history(call, board, block["id"])
    call("dashboard_delete_block", dashboard_id=board, block_id=block["id"])

    assert history(call, board, block["id"]) == before
    assert len(before) == 2
    for run in before:
        file = ws.db.row("SELECT file FROM runs WHERE id = ?", [run["id"]])
        assert file is not None and (ws.board_dir(board) / file["file"]).exists()
    with pytest.raises(NotFound):
        history(call, board, "blk_doesnotexist0000")


# -- comparing two runs --------------------------------------------------------------------------------

FIRST = (
    "select * from (values (1, 'a', 10, 'x'), (2, 'b', 20, 'y'), (3, 'c', 30, 'z')) t(id, name, score, extra)"
)
SECOND = "select * from (values (1, 'a', 10), (2, 'b', 25), (4, 'd', 40)) t(id, name, score)"


def test_compare_runs_shows_schema_counts_only_in_one_and_changed_values(
    call: ToolClient, board: str
) -> None:
    block = add(call, board, "people", "sql", {"sql": FIRST})
    first = block["current_run_id"]
    second = update_sql(call, board, block["id"], SECOND)["current_run_id"]

    comparison = call("dashboard_compare_runs", dashboard_id=board, run_id=first, other_run_id=second)[
        "comparison"
    ]

    assert (comparison["run_id"], comparison["other_run_id"]) == (first, second)
    assert comparison["schema"]["removed"] == [{"name": "extra", "type": "VARCHAR"}]
    assert comparison["schema"]["added"] == [] and comparison["schema"]["same"] is False
    assert comparison["row_counts"] == {"left": 3, "right": 3, "delta": 0}
    assert comparison["only_left"]["count"] == 1
    assert comparison["only_left"]["rows"] == [{"id": 3, "name": "c", "score": 30}]
    assert comparison["only_right"]["count"] == 1
    assert comparison["only_right"]["rows"] == [{"id": 4, "name": "d", "score": 40}]
    assert comparison["changed"]["count"] == 1
    assert comparison["changed"]["rows"] == [
        {"key": {"id": 2}, "changes": {"score": {"left": 20, "right": 25}}}
    ]

    # Either way round, the other side.
    back = call("dashboard_compare_runs", dashboard_id=board, run_id=second, other_run_id=first)["comparison"]
    assert back["schema"]["added"] == [{"name": "extra", "type": "VARCHAR"}]
    assert back["only_left"]["rows"] == [{"id": 4, "name": "d", "score": 40}]


def test_compare_added_row(call: ToolClient, board: str) -> None:
    block = add(call, board, "n", "sql", {"sql": "select * from range(3) t(i)"})
    first = block["current_run_id"]
    second = update_sql(call, board, block["id"], "select * from range(4) t(i)")["current_run_id"]
    comparison = call("dashboard_compare_runs", dashboard_id=board, run_id=first, other_run_id=second)[
        "comparison"
    ]
    assert comparison["schema"]["same"] is True
    assert comparison["row_counts"] == {"left": 3, "right": 4, "delta": 1}
    assert comparison["only_right"] == {"count": 1, "rows": [{"i": 3}]}
    assert comparison["only_left"]["count"] == 0 and comparison["changed"]["count"] == 0


def test_compare_refuses_runs_of_different_blocks_error_runs_and_unknown_runs(
    call: ToolClient, board: str
) -> None:
    a = add(call, board, "a", "sql", {"sql": "select 1 as v"})
    b = add(call, board, "b", "sql", {"sql": "select 2 as v"})
    broken = update_sql(call, board, a["id"], "select error('no') as v")
    with pytest.raises(InvalidRequest, match="same block"):
        call(
            "dashboard_compare_runs",
            dashboard_id=board,
            run_id=a["current_run_id"],
            other_run_id=b["current_run_id"],
        )
    with pytest.raises(InvalidRequest, match="failed"):
        call(
            "dashboard_compare_runs",
            dashboard_id=board,
            run_id=a["current_run_id"],
            other_run_id=broken["current_run_id"],
        )
    with pytest.raises(NotFound):
        call(
            "dashboard_compare_runs",
            dashboard_id=board,
            run_id=a["current_run_id"],
            other_run_id="run_nope00000000",
        )
    # A run of another board is not found here either.
    other = call("dashboard_create", title="Other")["dashboard"]["id"]
    foreign = add(call, other, "a", "sql", {"sql": "select 1 as v"})
    with pytest.raises(NotFound):
        call(
            "dashboard_compare_runs",
            dashboard_id=board,
            run_id=a["current_run_id"],
            other_run_id=foreign["current_run_id"],
        )
