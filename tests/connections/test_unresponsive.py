"""A connected database that hangs, never answers or runs away fails the run within the time limit
plus 5 s, naming the connection; nothing keeps waiting on it or running for it afterwards.

The hung PostgreSQL is a real one, stopped with SIGSTOP (the kernel still accepts its TCP, so only
the engine's own deadline can end the wait); it has a server of its own, so the session's server
is never stopped under other tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient
from tests.connections.conftest import ORDER_ROWS, ORDERS, READER, SECRET, add_sql
from tests.connections.test_refresh_and_failures import error_of
from tests.pg_server import PostgresMissing, PostgresServer
from tests.server.test_runner import get_json, serving, stop

LIMIT_S = 2.0
BOUND_S = LIMIT_S + 5  # the contract: the time limit plus 5 s
ABANDONED = f"no answer within {LIMIT_S + 4:g} s; the query was abandoned"
WORKER = "ballast_tui.engine.remote.worker"
RUNAWAY = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000000) "
    "SELECT count(*) AS n FROM c, app.main.users",
    "duckdb": "SELECT sum(hash(a.range)) AS h FROM range(1000000000000) a, app.analytics.visits",
}


@pytest.fixture(scope="module")
def stoppable() -> Iterator[PostgresServer]:
    """A PostgreSQL of this module's own (with `sales.orders`), which tests stop and resume."""
    try:
        server = PostgresServer().start()
    except PostgresMissing as missing:
        pytest.fail(str(missing), pytrace=False)
    try:
        server.create_role(READER, SECRET)
        server.execute("CREATE SCHEMA sales", ORDERS, ORDER_ROWS)
        yield server
    finally:
        resume(server)
        server.stop()


def postgres_pids(server: PostgresServer) -> list[int]:
    """The postmaster first, then every process it started (found through /proc)."""
    assert server.process is not None
    postmaster = server.process.pid
    children = [pid for pid in _pids() if _stat(pid).get("ppid") == postmaster]
    return [postmaster, *children]


def suspend(server: PostgresServer) -> None:
    """SIGSTOP every process of the server: it accepts TCP (the kernel does) and answers nothing."""
    for pid in postgres_pids(server):
        os.kill(pid, signal.SIGSTOP)


def resume(server: PostgresServer) -> None:
    for pid in reversed(postgres_pids(server)):
        os.kill(pid, signal.SIGCONT)


@contextmanager
def suspended(server: PostgresServer) -> Iterator[None]:
    suspend(server)
    try:
        yield
    finally:
        resume(server)


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _stat(pid: int) -> dict[str, Any]:
    """State, parent and CPU ticks of a process ({} once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return {}
    fields = text.rsplit(")", 1)[1].split()
    return {"state": fields[0], "ppid": int(fields[1]), "cpu": int(fields[11]) + int(fields[12])}


def query_threads() -> int:
    """This process's threads but the output writer's (a pool of two, started when first needed,
    e.g. to fsync the files of the block before once the workspace idles)."""
    return sum(not t.name.startswith("ballast-writer") for t in threading.enumerate())


def workers() -> dict[int, dict[str, Any]]:
    """This process's query workers that are alive (not zombies): pid -> stat."""
    found = {}
    for pid in _pids():
        stat = _stat(pid)
        if stat.get("ppid") != os.getpid() or stat.get("state") == "Z":
            continue
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if WORKER.encode() in command:
            found[pid] = stat
    return found


def assert_no_worker_busy() -> None:
    """No query worker of ours uses the CPU (over half a second)."""
    before = workers()
    time.sleep(0.5)
    after = workers()
    busy = {pid for pid, stat in after.items() if pid in before and stat["cpu"] - before[pid]["cpu"] > 10}
    assert busy == set(), f"workers still running: {busy}"


@pytest.fixture
def frozen(make_ws: Callable[..., Workspace], stoppable: PostgresServer) -> tuple[ToolClient, str]:
    """A workspace (time limit 2 s) with the stoppable server connected as `frozen`, and a board whose
    block `orders` read it once (so a worker holds a session on it)."""
    ws = make_ws("frozen", query_timeout_s=LIMIT_S)
    admin = ToolClient(ws, ws.users.local())
    admin("connection_add", name="frozen", url=stoppable.url(READER, SECRET), grant=["*"])
    board = admin("dashboard_create", title="frozen")["dashboard"]["id"]
    added = add_sql(admin, board, "orders", "SELECT count(*) AS n FROM frozen.sales.orders")
    assert added["block"]["state"] == "success", added["block"]
    return admin, board


def run_block(admin: ToolClient, board: str, block: str) -> dict[str, Any]:
    return admin("dashboard_run_block", dashboard_id=board, block_id=block)["run"]  # type: ignore[no-any-return]


def test_a_stopped_postgresql_fails_the_run_within_the_limit_naming_the_connection(
    frozen: tuple[ToolClient, str], stoppable: PostgresServer
) -> None:
    admin, board = frozen
    with suspended(stoppable):
        started = time.monotonic()
        run = run_block(admin, board, "orders")
        elapsed = time.monotonic() - started
        assert run["status"] == "error"
        assert run["error"] == f"connection 'frozen': {ABANDONED}"
        assert LIMIT_S <= elapsed < BOUND_S
        assert_no_worker_busy()
    # The server answers again: so does the connection (on a new worker).
    again = run_block(admin, board, "orders")
    assert again["status"] == "success", again


def test_cancelling_a_query_on_a_stopped_postgresql_never_waits(
    frozen: tuple[ToolClient, str], stoppable: PostgresServer
) -> None:
    admin, board = frozen
    ws = admin.ws
    outcome: dict[str, Any] = {}

    def run() -> None:
        outcome["run"] = run_block(admin, board, "orders")
        outcome["ended"] = time.monotonic()

    with suspended(stoppable):
        runner = threading.Thread(target=run)
        runner.start()
        time.sleep(0.5)
        started = time.monotonic()
        assert ws.connections.cancel(board) == 1
        assert time.monotonic() - started < 0.1  # asks, and returns
        runner.join(timeout=BOUND_S)
        assert not runner.is_alive()
    assert outcome["ended"] - started < 2.0  # the worker that could not stop was killed
    assert outcome["run"]["status"] == "error"
    assert outcome["run"]["error"] == "connection 'frozen': the query was cancelled"


def test_closing_the_workspace_never_waits_on_a_stopped_postgresql(
    frozen: tuple[ToolClient, str], stoppable: PostgresServer
) -> None:
    admin, board = frozen
    ws = admin.ws
    pool_before = set(workers())

    def run() -> None:
        # The run fails, and recording it may find the database closed meanwhile: either is fine.
        with contextlib.suppress(Exception):
            run_block(admin, board, "orders")

    with suspended(stoppable):
        runner = threading.Thread(target=run)
        runner.start()
        time.sleep(0.5)
        started = time.monotonic()
        ws.close()
        assert time.monotonic() - started < 3.0
        runner.join(timeout=1.0)
        assert not runner.is_alive()
        assert set(workers()) - pool_before == set()  # and no worker of its own left behind


async def test_serve_stops_within_10_s_of_sigterm_while_a_query_waits_on_a_stopped_postgresql(
    tmp_path: Path, stoppable: PostgresServer
) -> None:
    root = tmp_path / "ws"
    with Workspace(root) as ws:
        local = ws.users.local()
        token = ws.users.add_token(local.id)
        ToolClient(ws, local)("connection_add", name="frozen", url=stoppable.url(READER, SECRET), grant=["*"])
    async with serving(root) as served:
        tools = f"{served.url}/api/v1/tools"
        _, created = await get_json(f"{tools}/dashboard_create", token, {"title": "Frozen"})
        board = created["dashboard"]["id"]
        block = {
            "dashboard_id": board,
            "type": "sql",
            "name": "orders",
            "config": {"sql": "SELECT count(*) AS n FROM frozen.sales.orders"},
        }
        status, added = await get_json(f"{tools}/dashboard_add_block", token, block)
        assert status == 200 and added["block"]["state"] == "success", added
        with suspended(stoppable):
            running = asyncio.create_task(
                get_json(f"{tools}/dashboard_run_block", token, {"dashboard_id": board, "block_id": "orders"})
            )
            await asyncio.sleep(1.0)
            assert not running.done()
            loop = asyncio.get_running_loop()
            started = loop.time()
            code, stderr = await stop(served.proc, timeout=15)
            assert code == 0, stderr
            assert loop.time() - started < 10
            running.cancel()


@pytest.fixture
def mute_port() -> Iterator[int]:
    """A local port whose listener accepts TCP (the kernel does) and never reads nor answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


def test_a_host_that_never_answers_fails_runs_and_listings_within_the_limit(
    make_ws: Callable[..., Workspace], mute_port: int
) -> None:
    ws = make_ws("mute", query_timeout_s=LIMIT_S)
    admin = ToolClient(ws, ws.users.local())
    url = f"postgresql://{READER}:pw@127.0.0.1:{mute_port}/postgres"
    started = time.monotonic()
    with pytest.raises(Exception, match="connection 'mute': no answer within 6 s; the catalog listing"):
        admin("connection_add", name="mute", url=url, grant=["*"])  # checked: its tables are listed
    assert time.monotonic() - started < BOUND_S
    admin("connection_add", name="mute", url=url, check=False, grant=["*"])
    board = admin("dashboard_create", title="mute")["dashboard"]["id"]

    started = time.monotonic()
    listed = admin("connection_list", refresh=True)["connections"]
    assert time.monotonic() - started < BOUND_S
    assert listed[0]["error"] == "connection 'mute': no answer within 6 s; the catalog listing was abandoned"

    started = time.monotonic()
    message = error_of(add_sql(admin, board, "orders", "SELECT count(*) AS n FROM mute.sales.orders"))
    assert time.monotonic() - started < BOUND_S
    assert message == f"connection 'mute': {ABANDONED}"

    started = time.monotonic()
    states = admin("catalog_list", dashboard_id=board)["connections"]
    assert time.monotonic() - started < BOUND_S
    assert "no answer within 6 s" in states[0]["error"]
    assert_no_worker_busy()


@pytest.mark.parametrize("driver", ["sqlite", "duckdb"])
def test_a_runaway_query_on_a_file_is_stopped_at_the_limit_and_nothing_keeps_running(
    make_ws: Callable[..., Workspace], driver: str, sqlite_file: Path, duckdb_file: Path
) -> None:
    ws = make_ws(f"runaway-{driver}", query_timeout_s=1.0)
    admin = ToolClient(ws, ws.users.local())
    path = sqlite_file if driver == "sqlite" else duckdb_file
    admin("connection_add", name="app", url=f"{driver}://{path}", grant=["*"])
    board = admin("dashboard_create", title="runaway")["dashboard"]["id"]
    assert add_sql(admin, board, "warm", "SELECT 1 AS one")["block"]["state"] == "success"
    threads, before = query_threads(), set(workers())
    started = time.monotonic()
    message = error_of(add_sql(admin, board, "counting", RUNAWAY[driver]))
    assert time.monotonic() - started < 1.0 + 5
    assert message == "connection 'app': the query ran longer than the time limit of 1 s and was cancelled"
    assert query_threads() == threads  # no thread left waiting on it
    after = set(workers())
    if driver == "sqlite":  # cannot be interrupted: its worker was killed
        assert after < before
    else:  # interrupted: its worker answered and waits for the next query
        assert after <= before
    assert_no_worker_busy()
    assert add_sql(admin, board, "quick", "SELECT 2 AS two")["block"]["state"] == "success"


def test_a_kept_session_the_server_ended_and_a_worker_killed_while_idle_are_replaced(
    make_ws: Callable[..., Workspace], postgres: PostgresServer, pg_url: str
) -> None:
    ws = make_ws("replaced")
    admin = ToolClient(ws, ws.users.local())
    admin("connection_add", name="wh", url=pg_url, grant=["*"])
    board = admin("dashboard_create", title="replaced")["dashboard"]["id"]
    assert (
        add_sql(admin, board, "n", "SELECT count(*) AS n FROM wh.sales.orders")["block"]["state"] == "success"
    )
    kept = workers()
    assert kept  # an idle worker keeps the session open
    postgres.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE usename = '{READER}' AND application_name = 'ballast'"
    )
    assert run_block(admin, board, "n")["status"] == "success"  # on a new session, once
    for pid in workers():
        os.kill(pid, signal.SIGKILL)
    assert run_block(admin, board, "n")["status"] == "success"  # on a new worker
    assert not set(workers()) & set(kept)
