"""The fixed cost of a trivial block (issue 17, item 3): what each block of a cascade asks for.

Real workspaces in tmp_path, everything through the tools. What a user would notice if this went
wrong: an earlier run's reuse not found, or a result handed on in memory that the type check lets
through (or holds back) differently the second time it sees a schema. What the benchmark notices:
a reuse lookup costing three statements (a savepoint begun and released around it) instead of one.
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ballast_tui.config import Settings
from ballast_tui.engine.executor import QUICK_PASSES
from ballast_tui.engine.handoff import survives_parquet
from ballast_tui.engine.ids import new_id
from ballast_tui.engine.output_writer import Journaled, OutputWriter
from ballast_tui.engine.outputs import Output
from ballast_tui.engine.quick_blocks import QUICK_INPUT_BYTES, QUICK_RUN_MS, QuickBlocks
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage.db import Database
from ballast_tui.storage.files import encode_table, file_hash, result_hash
from tests.conftest import ToolClient
from tests.unit.test_cascade import add_sql, rows_of, runs_of, update_sql
from tests.unit.test_group_commit import stored_run


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The statements this thread's connection runs meanwhile."""
    seen: list[str] = []
    conn = db.conn.conn
    conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        conn.set_trace_callback(None)


def test_reuse_is_found_and_its_lookup_is_one_statement(ws: Workspace, call: ToolClient, board: str) -> None:
    root = add_sql(call, board, "t0", "SELECT 1 AS x")
    below = add_sql(call, board, "t1", "SELECT 1 + x AS x FROM t0")
    update_sql(call, board, root, "SELECT 2 AS x")
    with statements(ws.db) as seen:
        answer = update_sql(call, board, root, "SELECT 1 AS x")
    assert answer["cascade"]["reused"] == [root, below]
    assert answer["cascade"]["ran"] == []
    lookups = [s for s in seen if "fingerprint = " in s]
    assert len(lookups) == 2
    assert not [s for s in seen if "sqlite_utils_query" in s]  # the guard of a read, not of a write
    assert len(runs_of(ws, below)) == 2  # reused, nothing new recorded


def test_survives_parquet_answers_by_names_and_types_whatever_was_asked_before() -> None:
    plain = pa.schema([pa.field("x", pa.int32())])
    with_metadata = pa.schema([pa.field("x", pa.int32())], metadata={"k": "v"})
    millis = pa.schema([pa.field("x", pa.timestamp("ms"))])
    twice = pa.schema([pa.field("x", pa.int32()), pa.field("X", pa.int64())])
    for _ in range(2):
        assert survives_parquet(plain)
        assert survives_parquet(with_metadata)
        assert not survives_parquet(millis)
        assert not survives_parquet(twice)


# -- quick blocks: the board's single-threaded instance ----------------------


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A workspace whose DuckDB runs 2 threads, whatever the machine (so one thread shows)."""
    workspace = Workspace(tmp_path / "ws", Settings(duckdb_threads=2))
    yield workspace
    workspace.close()


def quick_threads(ws: Workspace, block_id: str) -> int:
    """The threads the block's next run has over a small input: 1 if its last run was quick (it is,
    but for a machine too busy to run a one-row query in `QUICK_RUN_MS`)."""
    return 1 if runs_of(ws, block_id)[-1]["duration_ms"] < QUICK_RUN_MS else 2


def threads_seen(call: ToolClient, board: str, block_id: str) -> int:
    rows = call("dashboard_block_data", dashboard_id=board, block_id=block_id)["rows"]
    return int(rows[0]["threads"])


def test_a_quick_block_over_a_small_input_runs_on_one_thread(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    root = add_sql(call, board, "t0", "SELECT 1 AS x")
    below = add_sql(call, board, "t1", "SELECT x + 1 AS x, current_setting('threads') AS threads FROM t0")
    assert threads_seen(call, board, below) == 2  # its first run: no earlier run says it is quick
    expected = quick_threads(ws, below)
    answer = update_sql(call, board, root, "SELECT 2 AS x")
    assert answer["cascade"]["ran"] == [root, below]
    assert threads_seen(call, board, below) == expected
    assert call("dashboard_block_data", dashboard_id=board, block_id=below)["rows"][0]["x"] == 3


def test_a_block_slow_last_time_keeps_every_thread(ws: Workspace, call: ToolClient, board: str) -> None:
    root = add_sql(call, board, "t0", "SELECT 1 AS x")
    slow = add_sql(
        call,
        board,
        "t1",
        "SELECT x, current_setting('threads') AS threads, "
        "(SELECT count(*) FROM range(300000000) WHERE range % 7 = 3) AS n FROM t0",
    )
    assert runs_of(ws, slow)[-1]["duration_ms"] >= QUICK_RUN_MS
    update_sql(call, board, root, "SELECT 2 AS x")
    assert threads_seen(call, board, slow) == 2


def test_quick_needs_small_inputs_in_memory_and_a_quick_last_run(
    ws: Workspace, call: ToolClient, board: str, tmp_path: Path
) -> None:
    with ws.db.write() as tx:
        for run_id, duration_ms in (("run_fast", 1.5), ("run_slow", QUICK_RUN_MS * 10)):
            tx.execute(
                "INSERT INTO runs (id, block_id, board_id, status, trigger, fingerprint, inputs, "
                "started_at, finished_at, duration_ms) VALUES (?, ?, ?, 'success', 'edit', 'f', '{}', "
                "'t', 't', ?)",
                [run_id, f"blk_{run_id}", board, duration_ms],
            )
    fast, slow = "blk_run_fast", "blk_run_slow"
    blocks = [
        {"id": fast, "current_run_id": "run_fast"},
        {"id": slow, "current_run_id": "run_slow"},
        {"id": "blk_new", "current_run_id": None},
    ]
    quick = QuickBlocks(ws.db, blocks)
    small = pa.table({"x": [1, 2, 3]})
    large = pa.table({"x": list(range(QUICK_INPUT_BYTES // 8 + 1))})
    in_memory = Output("h", 3, [], table=small)
    assert quick.quick(fast, {"t0": in_memory})
    assert quick.quick(fast, {})
    assert not quick.quick(slow, {"t0": in_memory})  # slow last time
    assert not quick.quick("blk_new", {"t0": in_memory})  # never ran
    assert not quick.quick(fast, {"t0": Output("h", 3, [], path=tmp_path / "f.parquet")})  # a file
    assert not quick.quick(fast, {"t0": Output("h", len(large), [], table=large)})
    assert not quick.quick(fast, {"t0": in_memory, "t1": Output("h", len(large), [], table=large)})


# -- the quick instance's optimizer passes (`executor.QUICK_PASSES`) ------------

QUICK_QUERIES = [
    # a comma join, its condition in WHERE: a join only through the optimizer
    "SELECT a.k, b.v FROM t0 a, t1 b WHERE a.k = b.k ORDER BY a.k",
    # small integer groups and no ORDER BY: the key order the perfect hash aggregate gives (it
    # needs the statistics of a generator; a table handed on in memory has none)
    "SELECT (i * 7919) % 13 AS g, count(*) AS n FROM range(200) r(i) GROUP BY g",
    "SELECT k % 13 AS g, count(*) AS n, sum(k) AS s FROM t0 GROUP BY g",
    "SELECT k, sum(k) OVER (ORDER BY k ROWS 2 PRECEDING) AS s FROM t0 ORDER BY k",
    "SELECT k FROM t0 ORDER BY k DESC LIMIT 5",
    "SELECT k FROM t0 WHERE k IN (1, 3, 5, 7, 11, 13) ORDER BY k",
    "SELECT k, (SELECT max(v) FROM t1 WHERE t1.k <= t0.k) AS m FROM t0 ORDER BY k",
    "WITH w AS (SELECT k * 2 AS k2 FROM t0) SELECT count(*) AS n, sum(k2) AS s FROM w",
    "SELECT unnest([k, k + 1]) AS u FROM t0 WHERE k < 3 ORDER BY u",
    "SELECT DISTINCT v % 4 AS r FROM t1 ORDER BY r",
]


@pytest.mark.parametrize("sql", QUICK_QUERIES)
def test_a_quick_query_answers_as_on_the_board_s_main_instance(
    ws: Workspace, call: ToolClient, board: str, tmp_path: Path, sql: str
) -> None:
    add_sql(call, board, "t0", "SELECT 1 AS k")
    inputs = {
        "t0": pa.table({"k": list(range(200))}),
        "t1": pa.table({"k": list(range(0, 200, 3)), "v": [k * 10 for k in range(0, 200, 3)]}),
    }
    answers = []
    for single in (False, True):
        target = ws.board_dir(board) / f"answer_{single}.parquet"
        ws.executor.query_to_file(board, sql, inputs, None, target, single=single)
        answers.append(pq.read_table(target).to_pylist())
    assert answers[0] == answers[1] and answers[0]


def test_the_quick_instance_keeps_the_passes_that_make_joins(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    """What a quick block loses is only the optimizer's work for large inputs: a filtered cross
    product still becomes a hash join (else a comma join over two inputs of thousands of rows
    compares every pair), and the board's main instance keeps every pass."""
    add_sql(call, board, "t0", "SELECT 1 AS x")
    ws.executor.query_to_file(
        board,
        "SELECT x FROM t0",
        {"t0": pa.table({"x": [1]})},
        None,
        ws.board_dir(board) / "p.parquet",
        single=True,
    )
    main, quick = ws.executor._instances[board], ws.executor._instances[board].single
    assert quick is not None
    join = "EXPLAIN SELECT * FROM range(10) a(k), range(10) b(k) WHERE a.k = b.k"
    plan = "\n".join(str(row[1]) for row in quick.con.execute(join).fetchall())
    assert "Hash Join" in plan and "Cross Product" not in plan
    setting = "SELECT current_setting('disabled_optimizers')"
    disabled = set(quick.con.execute(setting).fetchone()[0].split(","))  # type: ignore[index]
    assert "expression_rewriter" in disabled and not disabled & QUICK_PASSES
    assert main.con.execute(setting).fetchone() == ("",)


# -- small files held back until a query lets go of the GIL --------------------


def test_a_small_file_held_back_is_written_once_waited_for_with_the_same_bytes(tmp_path: Path) -> None:
    writer = OutputWriter()
    table = pa.table({"x": [1, 2, 3], "name": ["a", "b", None]})
    encoded, encoded_hash = encode_table(table)
    try:
        first = writer(table, tmp_path / "first.parquet")
        assert first.content_hash.result(timeout=0) == result_hash(table)  # known at once
        assert not (tmp_path / "first.parquet").exists()  # held back, not even encoded yet
        first.durable.result(timeout=10)  # waiting starts it
        assert (tmp_path / "first.parquet").read_bytes() == encoded.to_pybytes()
        assert isinstance(first.durable, Journaled) and first.durable.entry is not None
        assert first.durable.entry.content_hash == encoded_hash == file_hash(tmp_path / "first.parquet")

        second = writer(table, tmp_path / "second.parquet")
        writer.start_held()  # what a cascade does before its next query
        assert second.durable.exception(timeout=10) is None
        assert (tmp_path / "second.parquet").read_bytes() == encoded.to_pybytes()

        writer(table, tmp_path / "third.parquet")
    finally:
        writer.close()  # writes what is still held
    assert (tmp_path / "third.parquet").read_bytes() == encoded.to_pybytes()
    assert not list(tmp_path.glob("*.tmp"))


def test_a_chain_of_small_results_is_stored_complete_when_the_cascade_answers(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    ids = [add_sql(call, board, "t0", "SELECT 1 AS x")]
    for i in range(1, 6):
        ids.append(add_sql(call, board, f"t{i}", f"SELECT {i} + x AS x FROM t{i - 1}"))
    answer = update_sql(call, board, ids[0], "SELECT 7 AS x")
    assert answer["cascade"]["ran"] == ids
    for block_id in ids:
        run = stored_run(ws.db.path, runs_of(ws, block_id)[-1]["id"])
        assert run is not None
        path = ws.board_dir(board) / run["file"]
        assert result_hash(pq.read_table(path)) == json.loads(run["output"])["content_hash"]
        assert encode_table(pq.read_table(path))[1] == file_hash(path)  # the bytes a table encodes to
    assert rows_of(call, board, ids[-1]) == [{"x": 7 + 1 + 2 + 3 + 4 + 5}]


# -- ids ------------------------------------------------------------------------


def test_ids_are_unique_base36_and_a_forked_child_draws_other_ones() -> None:
    made = {new_id("run") for _ in range(20_000)}
    assert len(made) == 20_000
    assert all(len(i) == 20 and set(i[4:]) <= set(string.digits + string.ascii_lowercase) for i in made)
    new_id("run")  # randomness read ahead, held by this process
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        os.write(write, new_id("run").encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read, "rb") as pipe:
        childs = pipe.read().decode()
    assert childs.startswith("run_")
    assert childs != new_id("run")


def test_the_single_threaded_instance_is_sandboxed_and_locked(
    ws: Workspace, call: ToolClient, board: str, tmp_path: Path
) -> None:
    """Asked of the single-threaded instance itself (which a block reaches only when its last run
    was quick), so that a busy machine cannot send the attempt elsewhere."""
    add_sql(call, board, "t0", "SELECT 1 AS x")
    small = {"t0": pa.table({"x": [1]})}
    target = ws.board_dir(board) / "probe.parquet"
    shown = ws.executor.query_to_file(
        board, "SELECT x, current_setting('threads') AS threads FROM t0", small, None, target, single=True
    )
    assert pq.read_table(target).to_pylist() == [{"x": 1, "threads": 1}] and shown.rows == 1
    for sql in (
        "SELECT x, content AS threads FROM t0, read_text('/etc/hostname')",
        f"SELECT x, '1' AS threads FROM t0, read_blob('{ws.paths.db}')",
    ):
        with pytest.raises(Exception, match="disabled"):
            ws.executor.query_to_file(board, sql, small, None, tmp_path / "out.parquet", single=True)
        assert not (tmp_path / "out.parquet").exists()
    instance = ws.executor._instances[board].single
    assert instance is not None
    with pytest.raises(Exception, match="locked"):
        instance.con.execute("SET threads = 4")
