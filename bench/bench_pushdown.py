"""Push-down benchmark: an aggregate over a 5-million-row PostgreSQL table, run in PostgreSQL
(pushed down) versus pulled into the board's DuckDB, in the same run.

    python bench/bench_pushdown.py [--rows 5000000] [--repeat 5] [--keep-going]

Starts its own PostgreSQL (initdb in a temporary directory, a free port; the server binaries
must be installed: `apt-get install -y postgresql`), fills `public.events` with generated rows,
connects it to two workspaces (one with push-down, one with `Settings(pushdown=False)`, which
pulls the table's used columns into DuckDB instead), and times the same SQL block re-run by
`dashboard_run_block` (a manual run: the connection is read anew each time). Beside them, the
baselines without Ballast: the pushed SQL sent straight through ADBC, and the pull done by hand
(ADBC fetch of the four columns, then the aggregate in a plain DuckDB), on one ADBC connection
kept open. Medians of --repeat runs, after a warm-up of each; runs of the four alternate.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ballast_tui.config import Settings  # noqa: E402
from ballast_tui.engine.remote.arrow import normalize  # noqa: E402
from ballast_tui.engine.workspace import Workspace  # noqa: E402
from ballast_tui.tools.registry import Context, load_registry  # noqa: E402
from tests.pg_server import PostgresServer  # noqa: E402

PASSWORD = "bench-password"
AGGREGATE = """SELECT region, CAST(date_trunc('month', day) AS DATE) AS month,
       count(*) AS orders, sum(amount) AS revenue, avg(qty) AS avg_qty
FROM wh.public.events{where}
GROUP BY ALL ORDER BY ALL"""
# (name, the block's SQL, the hand-made pull of the raw baseline)
QUERIES = [
    (
        "whole table",
        AGGREGATE.format(where=""),
        "SELECT region, day, amount, qty FROM public.events",
    ),
    (
        "filtered (60%)",
        AGGREGATE.format(where="\nWHERE day >= DATE '2024-01-01'"),
        "SELECT region, day, amount, qty FROM public.events WHERE day >= DATE '2024-01-01'",
    ),
]


def fill(server: PostgresServer, rows: int) -> float:
    started = time.perf_counter()
    server.execute(
        "CREATE TABLE public.events (id bigint, day date, region text, amount numeric(12, 2), qty integer)",
        f"""INSERT INTO public.events
            SELECT g, DATE '2023-01-01' + (g % 900),
                   (ARRAY['north', 'south', 'east', 'west', 'central'])[1 + g % 5],
                   ((g::bigint * 7919) % 100000) / 100.0, 1 + g % 9
            FROM generate_series(1, {rows}) AS g""",
        "VACUUM ANALYZE public.events",
    )
    return time.perf_counter() - started


def board_with_blocks(ws: Workspace, url: str) -> Callable[[str], dict[str, Any]]:
    """A board with one block per query; a function re-running one by name (a manual run)."""
    registry = load_registry()
    ctx = Context(ws, ws.users.local())

    def call(tool: str, **arguments: Any) -> dict[str, Any]:
        return registry.call(ctx, tool, arguments)

    call("connection_add", name="wh", url=url, grant=["*"])
    board = call("dashboard_create", title="bench")["dashboard"]["id"]
    for index, (_name, sql, _pull) in enumerate(QUERIES):
        block = call(
            "dashboard_add_block", dashboard_id=board, type="sql", name=f"q{index}", config={"sql": sql}
        )
        assert block["block"]["state"] == "success", block["block"]["error"]

    def run(block: str) -> dict[str, Any]:
        answer = call("dashboard_run_block", dashboard_id=board, block_id=block)
        assert answer["run"]["status"] == "success", answer["run"]["error"]
        return answer["run"]  # type: ignore[no-any-return]

    return run


def raw_pushdown(connection: Any, sql: str) -> Callable[[], Any]:
    def run() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return normalize(cursor.fetch_arrow_table())

    return run


def raw_pull(connection: Any, pull_sql: str, local_sql: str) -> Callable[[], Any]:
    def run() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(pull_sql)
            pulled = normalize(cursor.fetch_arrow_table())
        local = duckdb.connect()
        local.register("pulled", pulled)
        return local.sql(local_sql).to_arrow_table()

    return run


def timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def report(times: dict[str, list[float]]) -> None:
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{'case':<30}{'median s':>10}{'min s':>10}{'max s':>10}")
    for name, values in times.items():
        print(f"{name:<30}{median[name]:>10.3f}{min(values):>10.3f}{max(values):>10.3f}")
    pushed, pulled = median["ballast, pushed down"], median["ballast, pulled into DuckDB"]
    raw_pushed, raw_pulled = median["raw ADBC, same SQL"], median["raw ADBC fetch + DuckDB"]
    print(f"pulled / pushed: Ballast {pulled / pushed:.1f}x, raw baselines {raw_pulled / raw_pushed:.1f}x")
    print(f"Ballast / raw: pushed {pushed / raw_pushed:.2f}, pulled {pulled / raw_pulled:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, DuckDB {duckdb.__version__}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    server = PostgresServer().start(shared_buffers="256MB", work_mem="64MB")
    scratch = Path(tempfile.mkdtemp(prefix="ballast-bench-"))
    workspaces: list[Workspace] = []
    try:
        server.create_role("bench", PASSWORD)
        seconds = fill(server, args.rows)
        print(f"PostgreSQL on port {server.port}: generated {args.rows:,} rows in {seconds:.1f} s")
        url = server.url("bench", PASSWORD)
        pushed_ws = Workspace(scratch / "pushed", Settings(query_timeout_s=600))
        pulled_ws = Workspace(scratch / "pulled", Settings(query_timeout_s=600, pushdown=False))
        workspaces += [pushed_ws, pulled_ws]
        run_pushed, run_pulled = board_with_blocks(pushed_ws, url), board_with_blocks(pulled_ws, url)
        import adbc_driver_postgresql.dbapi as postgresql

        raw = postgresql.connect(url, autocommit=True)  # kept open, as Ballast keeps its sessions
        for index, (name, sql, pull_sql) in enumerate(QUERIES):
            block = f"q{index}"
            print(f"\n== {name}: {' '.join(sql.split())}")
            [trace] = run_pushed(block)["remote"]
            assert trace["mode"] == "pushdown" and "fallback" not in trace, trace
            [pulled_trace] = run_pulled(block)["remote"]
            print(f"sent when pushed: {trace['sql']}")
            print(f"sent when pulled: {pulled_trace['sql']}  ({pulled_trace['rows']:,} rows came back)")
            cases: dict[str, Callable[[], Any]] = {
                "ballast, pushed down": functools.partial(run_pushed, block),
                "raw ADBC, same SQL": raw_pushdown(raw, trace["sql"]),
                "ballast, pulled into DuckDB": functools.partial(run_pulled, block),
                "raw ADBC fetch + DuckDB": raw_pull(raw, pull_sql, sql.replace("wh.public.events", "pulled")),
            }
            if run_pushed(block)["rows"] != run_pulled(block)["rows"]:
                raise AssertionError("pushed and pulled answers differ")
            times: dict[str, list[float]] = {case: [] for case in cases}
            for _ in range(args.repeat):
                for case, work in cases.items():
                    times[case].append(timed(work))
            report(times)
        raw.close()
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return 0
    finally:
        for ws in workspaces:
            ws.close()
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
