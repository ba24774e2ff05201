"""The cascade, through the tools: what re-runs after a change, in which order, what is reused,
what an error does downstream, overrides, refresh, manual runs and date-range binding.

Everything runs on a real workspace (SQLite + DuckDB in tmp_path); the event bus is observed
with a plain subscriber to see the order in which blocks started and finished.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.events import Event
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient

Row = dict[str, Any]


# -- helpers ------------------------------------------------------------------------


def add(call: ToolClient, board: str, name: str, block_type: str, config: Row) -> Row:
    return call("dashboard_add_block", dashboard_id=board, type=block_type, name=name, config=config)


def add_sql(call: ToolClient, board: str, name: str, sql: str, inputs: list[str] | None = None) -> str:
    config: Row = {"sql": sql}
    if inputs:
        config["inputs"] = inputs
    answer = add(call, board, name, "sql", config)
    assert answer["block"]["state"] == "success", answer["block"]["error"]
    return str(answer["block"]["id"])


def update_sql(call: ToolClient, board: str, block_id: str, sql: str, **extra: Any) -> Row:
    config = {"sql": sql, **extra}
    return call("dashboard_update_block", dashboard_id=board, block_id=block_id, config=config)


def runs_of(ws: Workspace, block_id: str) -> list[Row]:
    return ws.db.rows("SELECT * FROM runs WHERE block_id = ? ORDER BY rowid", [block_id])


def run_count(ws: Workspace, board: str) -> int:
    row = ws.db.row("SELECT count(*) AS n FROM runs WHERE board_id = ?", [board])
    assert row is not None
    return int(row["n"])


def block_row(call: ToolClient, board: str, block_id: str) -> Row:
    blocks = call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]
    return next(b for b in blocks if b["id"] == block_id)


def rows_of(call: ToolClient, board: str, block_id: str) -> list[Row]:
    return list(call("dashboard_block_data", dashboard_id=board, block_id=block_id)["rows"])


class Events:
    """Every event the bus publishes for one board, in delivery order."""

    def __init__(self, ws: Workspace, board: str) -> None:
        self.items: list[Row] = []
        self._lock = threading.Lock()
        self.unsubscribe = ws.bus.subscribe(board, self._take)

    def _take(self, event: Event) -> None:
        with self._lock:
            self.items.append(event.to_dict())

    def clear(self) -> None:
        with self._lock:
            self.items.clear()

    def of(self, event_type: str) -> list[Row]:
        with self._lock:
            return [e for e in self.items if e["type"] == event_type]


@pytest.fixture
def events(ws: Workspace, board: str) -> Iterator[Events]:
    recorder = Events(ws, board)
    yield recorder
    recorder.unsubscribe()


def files_of(ws: Workspace, board: str) -> set[str]:
    return {p.name for p in ws.board_dir(board).iterdir()} if ws.board_dir(board).exists() else set()


# -- what re-runs, and in which order --------------------------------------------------


def test_change_reruns_block_and_downstream_in_order_and_nothing_else(
    ws: Workspace, call: ToolClient, board: str, events: Events
) -> None:
    a = add_sql(call, board, "a", "select 1 as v")
    b = add_sql(call, board, "b", "select v + 1 as v from a")
    c = add_sql(call, board, "c", "select v * 2 as v from b")
    d = add_sql(call, board, "d", "select 5 as v")
    e = add_sql(call, board, "e", "select v from d")
    f = add_sql(call, board, "f", "select a.v + d.v as v from a, d")
    before = {x: len(runs_of(ws, x)) for x in (a, b, c, d, e, f)}
    events.clear()

    answer = update_sql(call, board, a, "select 10 as v")

    ran = answer["cascade"]["ran"]
    assert sorted(ran) == sorted([a, b, c, f])
    assert ran.index(a) < ran.index(b) < ran.index(c)
    assert ran.index(a) < ran.index(f)
    assert answer["cascade"]["failed"] == [] and answer["cascade"]["reused"] == []
    after = {x: len(runs_of(ws, x)) for x in (a, b, c, d, e, f)}
    assert {x: after[x] - before[x] for x in after} == {a: 1, b: 1, c: 1, d: 0, e: 0, f: 1}
    for block_id in (a, b, c, f):
        assert runs_of(ws, block_id)[-1]["trigger"] == "edit"
    started = [ev["block_id"] for ev in events.of("run_started")]
    assert sorted(started) == sorted([a, b, c, f])
    assert rows_of(call, board, c) == [{"v": 22}]
    assert rows_of(call, board, f) == [{"v": 15}]
    assert rows_of(call, board, e) == [{"v": 5}]


def test_source_push_reruns_its_readers_only(ws: Workspace, call: ToolClient, board: str) -> None:
    call("catalog_push", dashboard_id=board, name="sales", rows=[{"x": 1}, {"x": 2}])
    reader = add_sql(call, board, "total", "select sum(x) as s from sales")
    other = add_sql(call, board, "other", "select 1 as one")
    before_other = len(runs_of(ws, other))

    answer = call("catalog_push", dashboard_id=board, name="sales", rows=[{"x": 5}])

    assert answer["cascade"]["ran"] == [reader]
    assert len(runs_of(ws, other)) == before_other
    assert rows_of(call, board, reader) == [{"s": 5}]


def _dag_blocks(draw: st.DrawFn) -> list[list[int]]:
    size = draw(st.integers(min_value=1, max_value=8))
    return [
        sorted(draw(st.sets(st.integers(min_value=0, max_value=i - 1), max_size=3))) if i else []
        for i in range(size)
    ]


@st.composite
def dag_and_change(draw: st.DrawFn) -> tuple[list[list[int]], int]:
    ups = _dag_blocks(draw)
    return ups, draw(st.integers(min_value=0, max_value=len(ups) - 1))


def _dag_sql(i: int, ups: list[int], k: int) -> str:
    # The sum of the upstreams' values plus k: any change upstream changes this output too.
    if not ups:
        return f"select {k} as v"
    union = " union all ".join(f"select v from n{u}" for u in ups)
    return f"select sum(v) + {k} as v from ({union})"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=dag_and_change())
def test_random_dag_change_runs_exactly_downstream_closure_in_topological_order(
    ws: Workspace, call: ToolClient, case: tuple[list[list[int]], int]
) -> None:
    ups, changed = case
    board = call("dashboard_create", title="dag")["dashboard"]["id"]
    ids = [add_sql(call, board, f"n{i}", _dag_sql(i, up, i + 1)) for i, up in enumerate(ups)]
    downstream = {changed}
    for i in range(changed + 1, len(ups)):
        if downstream & set(ups[i]):
            downstream.add(i)
    expected = {ids[i] for i in downstream}
    runs_before = {x: len(runs_of(ws, x)) for x in ids}
    recorder = Events(ws, board)
    try:
        answer = update_sql(call, board, ids[changed], _dag_sql(changed, ups[changed], 1000 + changed))
    finally:
        recorder.unsubscribe()

    assert sorted(answer["cascade"]["ran"]) == sorted(expected)
    assert answer["cascade"]["reused"] == [] and answer["cascade"]["failed"] == []
    started = recorder.of("run_started")
    finished = recorder.of("run_finished")
    assert sorted(e["block_id"] for e in started) == sorted(expected)  # once each
    assert sorted(e["block_id"] for e in finished) == sorted(expected)
    start_seq = {e["block_id"]: e["seq"] for e in started}
    finish_seq = {e["block_id"]: e["seq"] for e in finished}
    for i in downstream:
        for u in ups[i]:
            if u in downstream:
                assert start_seq[ids[i]] > finish_seq[ids[u]], f"n{i} started before its upstream n{u}"
    for i, block_id in enumerate(ids):
        assert len(runs_of(ws, block_id)) - runs_before[block_id] == (1 if i in downstream else 0)


# -- reuse by fingerprint ----------------------------------------------------------------


def test_edit_with_unchanged_output_reuses_downstream(ws: Workspace, call: ToolClient, board: str) -> None:
    a = add_sql(call, board, "a", "select 1 as v")
    b = add_sql(call, board, "b", "select v + 1 as w from a")
    b_run = block_row(call, board, b)["current_run_id"]
    b_runs = len(runs_of(ws, b))

    answer = update_sql(call, board, a, "SELECT 1 AS v")

    assert answer["cascade"]["ran"] == [a]
    assert answer["cascade"]["reused"] == [b]
    assert len(runs_of(ws, b)) == b_runs
    assert block_row(call, board, b)["current_run_id"] == b_run
    assert rows_of(call, board, b) == [{"w": 2}]


def test_control_back_to_earlier_value_reuses_earlier_runs_without_executing(
    ws: Workspace, call: ToolClient, board: str, events: Events
) -> None:
    control = add(call, board, "region", "param-enum", {"options": ["north", "south"]})["block"]["id"]
    query = add_sql(call, board, "q", "select $region as r", inputs=["region"])
    first = {x: block_row(call, board, x)["current_run_id"] for x in (control, query)}

    changed = call("dashboard_set_control", dashboard_id=board, block_id=control, value="south")
    assert sorted(changed["cascade"]["ran"]) == sorted([control, query])
    assert rows_of(call, board, query) == [{"r": "south"}]
    assert runs_of(ws, query)[-1]["trigger"] == "control"
    total = run_count(ws, board)
    events.clear()

    back = call("dashboard_set_control", dashboard_id=board, block_id=control, value="north")

    assert back["cascade"]["ran"] == []
    assert sorted(back["cascade"]["reused"]) == sorted([control, query])
    assert run_count(ws, board) == total
    assert events.of("run_started") == []
    assert {x: block_row(call, board, x)["current_run_id"] for x in (control, query)} == first
    assert rows_of(call, board, query) == [{"r": "north"}]


# -- parallel branches ---------------------------------------------------------------------

HEAVY = "select sum(hash(i + r.v)) as h from range(60000000) t(i), r"


def test_independent_branches_run_in_parallel(ws: Workspace, call: ToolClient, board: str) -> None:
    root = add_sql(call, board, "r", "select 1 as v")
    left = add_sql(call, board, "left_branch", HEAVY)
    right = add_sql(call, board, "right_branch", HEAVY.replace("hash(", "hash(7 * "))

    answer = update_sql(call, board, root, "select 2 as v")

    assert sorted(answer["cascade"]["ran"]) == sorted([root, left, right])
    l_run, r_run = runs_of(ws, left)[-1], runs_of(ws, right)[-1]
    # Each took a while on its own; run one after the other, one would start after the other ended.
    assert l_run["duration_ms"] > 100 and r_run["duration_ms"] > 100
    assert max(l_run["started_at"], r_run["started_at"]) < min(l_run["finished_at"], r_run["finished_at"])


# -- errors ------------------------------------------------------------------------------------


def test_error_marks_downstream_upstream_error(ws: Workspace, call: ToolClient, board: str) -> None:
    a = add_sql(call, board, "a", "select 1 as v")
    b = add_sql(call, board, "b", "select v from a")
    c = add_sql(call, board, "c", "select v from b")
    side = add_sql(call, board, "side", "select 2 as v")
    runs_before = {x: len(runs_of(ws, x)) for x in (b, c, side)}

    answer = update_sql(call, board, a, "select error('boom') as v")

    assert answer["cascade"]["failed"] == [a]
    assert answer["cascade"]["ran"] == []
    assert sorted(answer["cascade"]["upstream_error"]) == sorted([b, c])
    failed_run = runs_of(ws, a)[-1]
    assert failed_run["status"] == "error"
    assert "boom" in failed_run["error"]
    assert failed_run["file"] is None and failed_run["output"] is None
    assert block_row(call, board, a)["state"] == "error"
    assert "boom" in block_row(call, board, a)["error"]
    for downstream in (b, c):
        assert block_row(call, board, downstream)["state"] == "upstream_error"
    assert {x: len(runs_of(ws, x)) for x in (b, c, side)} == runs_before

    fixed = update_sql(call, board, a, "select 3 as v")
    assert sorted(fixed["cascade"]["ran"]) == sorted([a, b, c])
    assert rows_of(call, board, c) == [{"v": 3}]


def test_block_added_under_a_failed_block_is_upstream_error(call: ToolClient, board: str) -> None:
    add(call, board, "bad", "sql", {"sql": "select error('nope') as v"})
    answer = add(call, board, "reader", "sql", {"sql": "select v from bad"})
    assert answer["block"]["state"] == "upstream_error"
    assert answer["cascade"]["upstream_error"] == [answer["block"]["id"]]
    assert answer["block"]["current_run_id"] is None


def test_result_type_parquet_cannot_store_is_an_error_run(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    answer = add(call, board, "span", "sql", {"sql": "select interval '1 day' as d"})
    block = answer["block"]
    assert block["state"] == "error"
    assert answer["cascade"]["failed"] == [block["id"]]
    run = runs_of(ws, block["id"])[-1]
    assert run["status"] == "error" and "INTERVAL" in run["error"].upper()
    assert not [p for p in ws.board_dir(board).iterdir() if p.name.endswith(".tmp")]
    reader = add(call, board, "reader", "sql", {"sql": "select * from span"})
    assert reader["block"]["state"] == "upstream_error"
    # A cast the user is told about works.
    fixed = update_sql(call, board, block["id"], "select (interval '1 day')::varchar as d")
    assert fixed["block"]["state"] == "success"


# -- filter_overrides ------------------------------------------------------------------------


@pytest.fixture
def regional(call: ToolClient, board: str) -> dict[str, str]:
    call(
        "catalog_push",
        dashboard_id=board,
        name="sales",
        rows=[
            {"region": "north", "amount": 1},
            {"region": "north", "amount": 2},
            {"region": "south", "amount": 10},
        ],
    )
    control = add(call, board, "region", "param-enum", {"options": ["north", "south", "west"]})
    total = add_sql(
        call, board, "total", "select sum(amount) as s from sales where region = $region", ["region"]
    )
    shown = add(call, board, "shown", "table", {"source": "total"})["block"]["id"]
    return {"control": control["block"]["id"], "total": total, "shown": shown}


def test_filter_overrides_answer_reflects_override_and_persist_nothing(
    ws: Workspace, call: ToolClient, board: str, regional: dict[str, str]
) -> None:
    blocks_before = call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]
    runs_before = run_count(ws, board)
    files_before = files_of(ws, board)

    answer = call(
        "dashboard_run_block",
        dashboard_id=board,
        block_id=regional["shown"],
        filter_overrides={regional["control"]: "south"},
    )

    assert answer["run"]["rows"] == [{"s": 10}]
    assert answer["run"]["id"] is None and answer["run"]["persisted"] is False
    assert run_count(ws, board) == runs_before
    assert files_of(ws, board) == files_before
    blocks_after = call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]
    assert [(b["id"], b["current_run_id"], b.get("value"), b["version"]) for b in blocks_after] == [
        (b["id"], b["current_run_id"], b.get("value"), b["version"]) for b in blocks_before
    ]
    assert rows_of(call, board, regional["shown"]) == [{"s": 3}]
    # Control names work as keys too.
    by_name = call(
        "dashboard_run_block",
        dashboard_id=board,
        block_id=regional["total"],
        filter_overrides={"region": "west"},
    )
    assert by_name["run"]["rows"] == [{"s": None}]
    assert run_count(ws, board) == runs_before


def test_filter_overrides_with_value_not_allowed_is_refused(
    ws: Workspace, call: ToolClient, board: str, regional: dict[str, str]
) -> None:
    runs_before = run_count(ws, board)
    with pytest.raises(InvalidRequest):
        call(
            "dashboard_run_block",
            dashboard_id=board,
            block_id=regional["total"],
            filter_overrides={regional["control"]: "east"},
        )
    with pytest.raises(InvalidRequest):
        call(
            "dashboard_run_block",
            dashboard_id=board,
            block_id=regional["total"],
            filter_overrides={regional["total"]: "north"},
        )
    assert run_count(ws, board) == runs_before


# -- refresh and manual runs -----------------------------------------------------------------


def test_refresh_reruns_displayed_blocks_and_their_upstream_only(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    base = add_sql(call, board, "base", "select 1 as v")
    shown = add_sql(call, board, "shown", "select v + 1 as v from base")
    hidden_reader = add_sql(call, board, "hidden_reader", "select v * 10 as v from base")
    lonely = add_sql(call, board, "lonely", "select 42 as v")
    call("dashboard_set_displayed", dashboard_id=board, block_id=shown, displayed=True)
    before = {x: len(runs_of(ws, x)) for x in (base, shown, hidden_reader, lonely)}

    answer = call("dashboard_refresh", dashboard_id=board)

    assert sorted(answer["cascade"]["ran"]) == sorted([base, shown])
    after = {x: len(runs_of(ws, x)) for x in before}
    assert {x: after[x] - before[x] for x in after} == {base: 1, shown: 1, hidden_reader: 0, lonely: 0}
    assert runs_of(ws, base)[-1]["trigger"] == "refresh"
    assert runs_of(ws, shown)[-1]["trigger"] == "refresh"
    assert answer["lastRefreshedAt"] is not None


def test_refresh_reads_sources_anew(ws: Workspace, call: ToolClient, board: str) -> None:
    call("catalog_push", dashboard_id=board, name="src", rows=[{"x": 1}])
    total = add_sql(call, board, "total", "select sum(x) as s from src")
    call("dashboard_set_displayed", dashboard_id=board, block_id=total, displayed=True)
    answer = call("dashboard_refresh", dashboard_id=board)
    assert answer["cascade"]["ran"] == [total]
    assert runs_of(ws, total)[-1]["trigger"] == "refresh"
    assert rows_of(call, board, total) == [{"s": 1}]


def test_manual_run_records_manual_run(ws: Workspace, call: ToolClient, board: str) -> None:
    a = add_sql(call, board, "a", "select 1 as v")
    b = add_sql(call, board, "b", "select v from a")
    before = {x: len(runs_of(ws, x)) for x in (a, b)}

    answer = call("dashboard_run_block", dashboard_id=board, block_id=a)

    run = answer["run"]
    assert run["id"] and run["trigger"] == "manual" and run["status"] == "success"
    assert run["rows"] == [{"v": 1}]
    assert runs_of(ws, a)[-1]["id"] == run["id"]
    assert runs_of(ws, a)[-1]["trigger"] == "manual"
    assert len(runs_of(ws, a)) == before[a] + 1
    assert block_row(call, board, a)["current_run_id"] == run["id"]
    # Same output: the reader's fingerprint is unchanged, so it is reused, not re-executed.
    assert len(runs_of(ws, b)) == before[b]


# -- date ranges --------------------------------------------------------------------------------


@pytest.fixture
def dated(tmp_path: Path) -> Iterator[tuple[Workspace, ToolClient, str]]:
    workspace = Workspace(tmp_path / "dated", today=lambda: date(2026, 1, 10))
    client = ToolClient(workspace, workspace.users.local())
    board = client("dashboard_create", title="dates")["dashboard"]["id"]
    yield workspace, client, board
    workspace.close()


@pytest.mark.parametrize(
    ("value", "start", "end", "days"),
    [
        ("7d", "2026-01-04", "2026-01-10", 7),
        ("1d", "2026-01-10", "2026-01-10", 1),
        ("today", "2026-01-10", "2026-01-10", 1),
        ({"start": "2026-01-02", "end": "2026-01-05"}, "2026-01-02", "2026-01-05", 4),
    ],
)
def test_daterange_binds_inclusive_date_ends(
    dated: tuple[Workspace, ToolClient, str], value: Any, start: str, end: str, days: int
) -> None:
    _ws, call, board = dated
    call(
        "catalog_push",
        dashboard_id=board,
        name="daily",
        rows=[{"day": f"2026-01-{d:02d}", "n": 1} for d in range(1, 13)],
    )
    period = add(call, board, "period", "filter-daterange", {"default": "7d"})["block"]["id"]
    query = add_sql(
        call,
        board,
        "q",
        "select $period_start as s, $period_end as e, typeof($period_start) as t, "
        "(select count(*) from daily where day::date between $period_start and $period_end) as days",
        inputs=["period"],
    )
    if value != "7d":
        call("dashboard_set_control", dashboard_id=board, block_id=period, value=value)
    data = call("dashboard_block_data", dashboard_id=board, block_id=query)
    assert data["rows"] == [{"s": start, "e": end, "t": "DATE", "days": days}]
    assert [c["type"] for c in data["columns"][:2]] == ["DATE", "DATE"]


def test_a_pass_through_table_keeps_its_upstream_run_identity(call: ToolClient, board: str) -> None:
    call("dashboard_add_block", dashboard_id=board, type="sql", name="base", config={"sql": "select 1 as v"})
    call("dashboard_add_block", dashboard_id=board, type="table", name="shown", config={"source": "base"})
    call(
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="reader",
        config={"sql": "select v from base"},
    )
    base_id = next(
        b["id"]
        for b in call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]
        if b["name"] == "base"
    )
    call("dashboard_update_block", dashboard_id=board, block_id=base_id, config={"sql": "select 2 as v"})
    blocks = {b["name"]: b for b in call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]}
    runs = {
        n: call("dashboard_runs", dashboard_id=board, block_id=blocks[n]["id"], limit=1)["runs"][0]
        for n in ("base", "shown", "reader")
    }
    assert runs["shown"]["inputs"]["upstream"] == {"base": runs["base"]["id"]}
    assert runs["reader"]["inputs"]["upstream"] == {"base": runs["base"]["id"]}
