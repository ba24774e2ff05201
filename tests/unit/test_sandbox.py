"""The SQL sandbox, through the tools: no files outside the board, no statements but one query,
a time limit and a memory limit that end in error runs while the engine stays responsive,
and values bound as parameters."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ballast_tui.config import Settings
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.events import RunStarted
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient

Row = dict[str, Any]
ACCESS_REFUSED = re.compile(r"(?i)permission error: cannot access")


def add_sql(call: ToolClient, board: str, name: str, sql: str, inputs: list[str] | None = None) -> Row:
    config: Row = {"sql": sql}
    if inputs:
        config["inputs"] = inputs
    block: Row = call("dashboard_add_block", dashboard_id=board, type="sql", name=name, config=config)[
        "block"
    ]
    return block


def runs_of(ws: Workspace, block_id: str) -> list[Row]:
    return ws.db.rows("SELECT * FROM runs WHERE block_id = ? ORDER BY rowid", [block_id])


def run_count(ws: Workspace, board: str) -> int:
    row = ws.db.row("SELECT count(*) AS n FROM runs WHERE board_id = ?", [board])
    assert row is not None
    return int(row["n"])


def assert_error_run(ws: Workspace, block: Row, pattern: re.Pattern[str] | str) -> Row:
    assert block["state"] == "error"
    run = runs_of(ws, block["id"])[-1]
    assert run["status"] == "error"
    assert run["file"] is None
    assert re.search(pattern, run["error"]), run["error"]
    return run


@pytest.fixture
def workspace_with(tmp_path: Path) -> Iterator[Any]:
    """Factory: a workspace with custom settings, and a client of its first user."""
    opened: list[Workspace] = []

    def make(**settings: Any) -> tuple[Workspace, ToolClient]:
        workspace = Workspace(tmp_path / f"ws{len(opened)}", settings=Settings(**settings))
        opened.append(workspace)
        return workspace, ToolClient(workspace, workspace.users.local())

    yield make
    for workspace in opened:
        workspace.close()


# -- files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "select * from read_csv('/etc/passwd')",
        "select * from read_blob('/etc/passwd')",
        "select content from read_text('/etc/hostname')",
        "select * from glob('/*')",
    ],
)
def test_sql_cannot_read_files_outside_the_board(
    ws: Workspace, call: ToolClient, board: str, sql: str
) -> None:
    block = add_sql(call, board, "peek", sql)
    run = assert_error_run(ws, block, ACCESS_REFUSED)
    assert "disabled" in run["error"]
    assert call("dashboard_block_data", dashboard_id=board, block_id=block["id"])["rows"] == []


def test_sql_cannot_read_another_boards_data(ws: Workspace, call: ToolClient, board: str) -> None:
    other = call("dashboard_create", title="Other")["dashboard"]["id"]
    secret = add_sql(call, other, "secret", "select 'classified' as s")
    call("catalog_push", dashboard_id=other, name="hidden", rows=[{"s": "also classified"}])
    run_file = ws.board_dir(other) / runs_of(ws, secret["id"])[-1]["file"]
    source_row = ws.db.row("SELECT file FROM sources WHERE board_id = ?", [other])
    assert source_row is not None
    source_file = ws.board_dir(other) / source_row["file"]
    assert run_file.exists() and source_file.exists()
    mine = ws.board_dir(board)
    attempts = [
        f"select * from read_parquet('{run_file}')",
        f"select * from '{source_file}'",
        f"select * from read_parquet('{mine}/../{other}/{run_file.name}')",
        f"select * from read_parquet('{ws.board_dir(other)}/*.parquet')",
        # Nor the workspace's own database (users, token hashes, every board).
        f"select * from read_blob('{ws.paths.db}')",
    ]
    for i, sql in enumerate(attempts):
        block = add_sql(call, board, f"steal_{i}", sql)
        assert_error_run(ws, block, ACCESS_REFUSED)
    # The other board itself still reads its own data.
    reader = add_sql(call, other, "reader", "select s from secret union all select s from hidden")
    assert reader["state"] == "success"


def test_sql_reads_its_own_blocks_and_sources_by_name(ws: Workspace, call: ToolClient, board: str) -> None:
    call("catalog_push", dashboard_id=board, name="src", rows=[{"x": 1}, {"x": 2}])
    add_sql(call, board, "doubled", "select x * 2 as y from src")
    total = add_sql(call, board, "total", "select sum(y) as s from doubled")
    assert call("dashboard_block_data", dashboard_id=board, block_id=total["id"])["rows"] == [{"s": 6}]


# -- statements ----------------------------------------------------------------------------

REFUSED_STATEMENTS = [
    ("install httpfs", "INSTALL"),
    ("load httpfs", "LOAD"),
    ("attach '/tmp/evil.db' as evil", "ATTACH"),
    ("copy (select 1) to '/tmp/evil.csv'", "COPY"),
    ("set enable_external_access = true", "SET"),
    ("pragma enable_profiling", "PRAGMA"),
    ("create table t as select 1 as v", "CREATE"),
    ("select 1 as v; select 2 as v", "2 statements"),
    ("select 1 as v; drop table x", "2 statements"),
]


@pytest.mark.parametrize(("sql", "named"), REFUSED_STATEMENTS)
def test_statement_refused_at_save_and_nothing_saved(
    ws: Workspace, call: ToolClient, board: str, sql: str, named: str
) -> None:
    block = add_sql(call, board, "good", "select 1 as v")
    runs_before = run_count(ws, board)

    with pytest.raises(InvalidRequest) as refused:
        call("dashboard_update_block", dashboard_id=board, block_id=block["id"], config={"sql": sql})
    assert named in refused.value.message

    with pytest.raises(InvalidRequest):
        call("dashboard_add_block", dashboard_id=board, type="sql", name="evil", config={"sql": sql})

    blocks = call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]
    assert [(b["name"], b["version"], b["config"]["sql"]) for b in blocks] == [("good", 1, "select 1 as v")]
    assert run_count(ws, board) == runs_before


# -- time limit -------------------------------------------------------------------------------

SLOW = "select count(*) as n from range(100000000000) t(i) where i % 7 = 3"


def test_time_limit_makes_an_error_run_and_engine_stays_responsive(workspace_with: Any) -> None:
    ws, call = workspace_with(query_timeout_s=1)
    slow_board = call("dashboard_create", title="slow")["dashboard"]["id"]
    quick_board = call("dashboard_create", title="quick")["dashboard"]["id"]
    outcome: dict[str, Any] = {}
    slow_started = threading.Event()
    unsubscribe = ws.bus.subscribe(
        slow_board, lambda e: slow_started.set() if isinstance(e, RunStarted) else None
    )

    def run_slow() -> None:
        started = time.monotonic()
        outcome["block"] = add_sql(call, slow_board, "slow", SLOW)
        outcome["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=run_slow)
    worker.start()
    try:
        assert slow_started.wait(timeout=10)
        time.sleep(0.1)  # well inside DuckDB by now
        quick = add_sql(call, quick_board, "quick", "select 41 + 1 as v")
        still_running = worker.is_alive()
    finally:
        worker.join(timeout=30)
        unsubscribe()
    assert not worker.is_alive()

    assert quick["state"] == "success"
    assert call("dashboard_block_data", dashboard_id=quick_board, block_id=quick["id"])["rows"] == [{"v": 42}]
    assert still_running, "the quick query should have finished while the slow one still ran"
    assert outcome["seconds"] < 5
    run = assert_error_run(ws, outcome["block"], r"time limit of 1 s")
    assert run["duration_ms"] >= 900
    # The slow board itself keeps working.
    after = add_sql(call, slow_board, "after", "select 1 as v")
    assert after["state"] == "success"


# -- memory limit -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        # One huge string: cannot spill.
        "select string_agg(i::varchar, ',') as s from range(50000000) t(i)",
        # A huge hash aggregate: DuckDB would spill it to a `.tmp` directory in the process's
        # working directory if spilling were on; the sandbox turns that off, so it hits the limit.
        "select count(*) as n from (select i % 20000000 as k, count(*) from range(50000000) t(i) group by k)",
    ],
)
def test_memory_limit_makes_an_error_run_without_writing_anywhere(
    workspace_with: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sql: str
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    ws, call = workspace_with(memory_limit="100MB", query_timeout_s=20)
    board = call("dashboard_create", title="big")["dashboard"]["id"]

    block = add_sql(call, board, "huge", sql)

    assert_error_run(ws, block, r"(?i)out of memory")
    assert list(cwd.iterdir()) == []
    assert not [p for p in ws.paths.root.rglob("*") if p.name.startswith("duckdb_temp")]
    small = add_sql(call, board, "small", "select 1 as v")
    assert small["state"] == "success"


# -- values are parameters ------------------------------------------------------------------------

NASTY = "x'; drop table y; --"


def test_control_values_are_bound_as_data_not_sql(ws: Workspace, call: ToolClient, board: str) -> None:
    call("catalog_push", dashboard_id=board, name="y", rows=[{"name": NASTY, "n": 1}, {"name": "x", "n": 2}])
    control = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="param-enum",
        name="pick",
        config={"options": ["x", NASTY, 'a"b\\c']},
    )["block"]
    echo = add_sql(call, board, "echo", "select $pick as picked, length($pick) as len", ["pick"])
    matched = add_sql(call, board, "matched", "select n from y where name = $pick", ["pick"])
    assert call("dashboard_block_data", dashboard_id=board, block_id=echo["id"])["rows"] == [
        {"picked": "x", "len": 1}
    ]

    for value in (NASTY, 'a"b\\c'):
        answer = call("dashboard_set_control", dashboard_id=board, block_id=control["id"], value=value)
        assert answer["cascade"]["failed"] == []
        rows = call("dashboard_block_data", dashboard_id=board, block_id=echo["id"])["rows"]
        assert rows == [{"picked": value, "len": len(value)}]
    call("dashboard_set_control", dashboard_id=board, block_id=control["id"], value=NASTY)
    assert call("dashboard_block_data", dashboard_id=board, block_id=matched["id"])["rows"] == [{"n": 1}]
    # The source is still there, untouched.
    assert [
        s["row_count"] for s in call("catalog_list", dashboard_id=board)["sources"] if s["name"] == "y"
    ] == [2]
    # The recorded run keeps the bound value as data too.
    current = call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"][1]["current_run_id"]
    run = call("dashboard_runs", dashboard_id=board, block_id=echo["id"])["runs"]
    assert next(r for r in run if r["id"] == current)["inputs"]["bound"] == {"pick": NASTY}
