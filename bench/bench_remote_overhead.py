"""The cost Ballast adds to one query on a connected database, the session already open (warm).

    python bench/bench_remote_overhead.py [--repeat 200] [--rows 100000]

Starts its own PostgreSQL (the server binaries must be installed: `apt-get install -y postgresql`)
and writes an SQLite file, connects both to a workspace, then times, after a warm-up:

- a one-row query through `Connections.query` (what a block's push-down or pull sends), beside the
  same query straight through ADBC on a connection kept open (PostgreSQL) or opened per query
  (SQLite, as Ballast opens files per use);
- a query answering --rows rows of three columns (the transfer of a pull), beside raw ADBC;
- `dashboard_run_block` of a pushed-down one-row block (the whole manual run).

Medians (and the 10th/90th percentiles) in milliseconds; cases alternate.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ballast_tui.config import Settings  # noqa: E402
from ballast_tui.engine.remote.arrow import normalize  # noqa: E402
from ballast_tui.engine.workspace import Workspace  # noqa: E402
from ballast_tui.tools.registry import Context, load_registry  # noqa: E402
from tests.pg_server import PostgresServer  # noqa: E402

PASSWORD = "bench-password"
ONE_ROW = "SELECT 1 AS one"


def many_rows(rows: int, driver: str) -> str:
    if driver == "postgresql":
        return f"SELECT g AS id, g * 1.5::float8 AS x, 'row ' || g AS label FROM generate_series(1, {rows}) g"
    return (
        f"WITH RECURSIVE g(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM g WHERE id < {rows}) "
        "SELECT id, id * 1.5 AS x, 'row ' || id AS label FROM g"
    )


def raw_postgres(connection: Any, sql: str) -> Callable[[], Any]:
    def run() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            table = normalize(cursor.fetch_arrow_table())
        connection.rollback()
        return table

    return run


def raw_sqlite(path: Path, sql: str) -> Callable[[], Any]:
    import adbc_driver_sqlite.dbapi as sqlite

    def run() -> Any:
        connection = sqlite.connect(f"file:{path}?mode=ro")
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return normalize(cursor.fetch_arrow_table())
        finally:
            connection.close()

    return run


def report(times: dict[str, list[float]]) -> None:
    print(f"{'case':<44}{'median ms':>11}{'p10 ms':>9}{'p90 ms':>9}")
    for name, values in times.items():
        ordered = sorted(values)
        p10, p90 = ordered[len(ordered) // 10], ordered[(len(ordered) * 9) // 10]
        print(f"{name:<44}{statistics.median(values) * 1000:>11.3f}{p10 * 1000:>9.3f}{p90 * 1000:>9.3f}")


def measure(cases: dict[str, Callable[[], Any]], repeat: int) -> None:
    for work in cases.values():  # warm-up: sessions opened, worker processes started
        work()
        work()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, work in cases.items():
            started = time.perf_counter()
            work()
            times[name].append(time.perf_counter() - started)
    report(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    server = PostgresServer().start()
    scratch = Path(tempfile.mkdtemp(prefix="ballast-bench-"))
    ws: Workspace | None = None
    try:
        server.create_role("bench", PASSWORD)
        server.execute("CREATE TABLE public.t (x integer)", "INSERT INTO public.t VALUES (1)")
        url = server.url("bench", PASSWORD)
        app = scratch / "app.db"
        with sqlite3.connect(app) as con:
            con.execute("CREATE TABLE t (x INTEGER)")
            con.execute("INSERT INTO t VALUES (1)")
        ws = Workspace(scratch / "ws", Settings(query_timeout_s=600))
        ctx = Context(ws, ws.users.local())
        registry = load_registry()

        def call(tool: str, **arguments: Any) -> dict[str, Any]:
            return registry.call(ctx, tool, arguments)

        call("connection_add", name="wh", url=url, grant=["*"])
        call("connection_add", name="app", url=f"sqlite://{app}", grant=["*"])
        board = call("dashboard_create", title="bench")["dashboard"]["id"]
        added = call(
            "dashboard_add_block",
            dashboard_id=board,
            type="sql",
            name="one",
            config={"sql": "SELECT count(*) AS n FROM wh.public.t"},
        )
        assert added["block"]["state"] == "success", added["block"]["error"]
        wh, sq = ws.connections.get("wh"), ws.connections.get("app")
        import adbc_driver_postgresql.dbapi as postgresql

        raw = postgresql.connect(url, autocommit=False)

        def ours(connection: Any, sql: str) -> Callable[[], Any]:
            return lambda: ws.connections.query(connection, sql, [], None)  # type: ignore[union-attr]

        def run_block() -> Any:
            answer = call("dashboard_run_block", dashboard_id=board, block_id="one")
            assert answer["run"]["status"] == "success", answer["run"]["error"]

        print("\n== one row, warm")
        measure(
            {
                "PostgreSQL: Connections.query": ours(wh, ONE_ROW),
                "PostgreSQL: raw ADBC, kept connection": raw_postgres(raw, ONE_ROW),
                "SQLite: Connections.query": ours(sq, ONE_ROW),
                "SQLite: raw ADBC, opened per query": raw_sqlite(app, ONE_ROW),
                "dashboard_run_block, pushed down": run_block,
            },
            args.repeat,
        )
        print(f"\n== {args.rows:,} rows of three columns, warm")
        measure(
            {
                "PostgreSQL: Connections.query": ours(wh, many_rows(args.rows, "postgresql")),
                "PostgreSQL: raw ADBC, kept connection": raw_postgres(
                    raw, many_rows(args.rows, "postgresql")
                ),
                "SQLite: Connections.query": ours(sq, many_rows(args.rows, "sqlite")),
                "SQLite: raw ADBC, opened per query": raw_sqlite(app, many_rows(args.rows, "sqlite")),
            },
            max(5, args.repeat // 20),
        )
        raw.close()
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return 0
    finally:
        if ws is not None:
            ws.close()
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
