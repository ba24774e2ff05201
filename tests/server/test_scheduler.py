"""Scheduled refreshes inside a real server, with intervals shortened through `Settings.refresh_time_scale`.

The API keeps the four allowed intervals (300, 900, 3600, 86400 s); the tests
scale them down in the configuration, so 300 s lasts about a second.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from ballast_server.runner import start_server
from ballast_tui.config import Settings
from ballast_tui.engine.workspace import Workspace
from tests.server.conftest import Api, ServeFactory

SLOW_SQL = "select sum(hash(a.range)) as h from range(1000000000000) a"
TICK_S = 0.05


def scale_for(seconds: float) -> float:
    """The time scale that makes the 300 s interval last `seconds`."""
    return seconds / 300


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


async def board_with_displayed_block(api: Api, token: str, sql: str, title: str = "Sales") -> tuple[str, str]:
    board = (await api.ok("dashboard_create", token, title=title))["dashboard"]["id"]
    block = await api.ok(
        "dashboard_add_block", token, dashboard_id=board, type="sql", name="q", config={"sql": sql}
    )
    block_id = block["block"]["id"]
    await api.ok("dashboard_set_displayed", token, dashboard_id=board, block_id=block_id, displayed=True)
    return board, block_id


async def scheduled_runs(api: Api, token: str, board: str, block_id: str) -> list[dict[str, Any]]:
    """The block's runs with trigger `schedule`, oldest first."""
    body = await api.ok("dashboard_runs", token, dashboard_id=board, block_id=block_id, limit=1000)
    return sorted((r for r in body["runs"] if r["trigger"] == "schedule"), key=lambda r: r["started_at"])


async def wait_for(predicate: Any, timeout: float, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(every)


async def test_enabled_board_refreshes_on_its_interval_and_disabled_ones_do_not(serve: ServeFactory) -> None:
    interval = 0.9
    api = await serve(Settings(refresh_time_scale=scale_for(interval), scheduler_tick_s=TICK_S))
    token = api.token("alice")
    owner = api.ws.users.find("alice").id
    on_board, on_block = await board_with_displayed_block(api, token, "select 1 as one", "On")
    off_board, off_block = await board_with_displayed_block(api, token, "select 2 as two", "Off")
    was_on_board, was_on_block = await board_with_displayed_block(api, token, "select 3 as three", "Was on")
    await api.ok("dashboard_set_refresh", token, dashboard_id=was_on_board, refreshInterval=300)

    before = await api.ok("dashboard_get_refresh", token, dashboard_id=on_board)
    assert before["lastRefreshedAt"] is None
    settings = await api.ok(
        "dashboard_set_refresh", token, dashboard_id=on_board, refreshEnabled=True, refreshInterval=300
    )
    assert settings["refreshEnabled"] is True and settings["refreshInterval"] == 300

    # Never refreshed: due at once.
    async def refreshed_once() -> bool:
        return len(await scheduled_runs(api, token, on_board, on_block)) >= 1

    await wait_for(refreshed_once, timeout=3)
    first = await api.ok("dashboard_get_refresh", token, dashboard_id=on_board)
    assert first["lastRefreshedAt"] is not None

    await asyncio.sleep(3.2)
    runs = await scheduled_runs(api, token, on_board, on_block)
    # Immediately, then about every 0.9 s: 4 or 5 within ~3.3 s (a loaded machine may lag by one).
    assert 3 <= len(runs) <= 5, [r["started_at"] for r in runs]
    assert all(r["status"] == "success" and r["actor"] == owner for r in runs)
    starts = [at(r["started_at"]) for r in runs]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= interval - 0.05, gaps  # never sooner than the interval
    latest = await api.ok("dashboard_get_refresh", token, dashboard_id=on_board)
    assert at(latest["lastRefreshedAt"]) > at(first["lastRefreshedAt"])
    assert at(latest["lastRefreshedAt"]) >= at(runs[-1]["finished_at"]) - 0.001

    # Auto-refresh off (never on, or its interval set while off): no scheduled run, no refresh time.
    for board, block_id in ((off_board, off_block), (was_on_board, was_on_block)):
        assert await scheduled_runs(api, token, board, block_id) == []
        assert (await api.ok("dashboard_get_refresh", token, dashboard_id=board))["lastRefreshedAt"] is None

    # Turning it off stops the schedule.
    await api.ok("dashboard_set_refresh", token, dashboard_id=on_board, refreshEnabled=False)
    await asyncio.sleep(0.2)  # a refresh already under way may still finish
    count = len(await scheduled_runs(api, token, on_board, on_block))
    await asyncio.sleep(1.5)
    assert len(await scheduled_runs(api, token, on_board, on_block)) == count


async def test_a_slow_refresh_never_overlaps_itself(serve: ServeFactory) -> None:
    # Each refresh takes 1.5 s (the query runs into the time limit); the interval is 0.5 s.
    interval = 0.5
    api = await serve(
        Settings(query_timeout_s=1.5, refresh_time_scale=scale_for(interval), scheduler_tick_s=TICK_S)
    )
    token = api.token("alice")
    board, block_id = await board_with_displayed_block(api, token, SLOW_SQL)
    await api.ok("dashboard_set_refresh", token, dashboard_id=board, refreshEnabled=True, refreshInterval=300)
    await asyncio.sleep(5.5)
    await api.ok("dashboard_set_refresh", token, dashboard_id=board, refreshEnabled=False)

    runs = await scheduled_runs(api, token, board, block_id)
    assert all(r["status"] == "error" and "time limit" in r["error"] for r in runs)
    # Refresh, wait the interval, refresh…: a cycle of about 2 s, so 2 or 3 runs within 5.5 s.
    assert 2 <= len(runs) <= 3, [(r["started_at"], r["finished_at"]) for r in runs]
    spans = [(at(r["started_at"]), at(r["finished_at"])) for r in runs]
    for (_, end), (start, _) in itertools.pairwise(spans):
        # Not while the previous one runs, and not back to back either: each waits its interval
        # after the previous refresh ended (queued refreshes would start right at `end`).
        assert start - end >= interval - 0.1, spans


async def test_a_restarted_server_refreshes_an_overdue_board_at_start(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    interval = 0.9
    fast = Settings(refresh_time_scale=scale_for(interval), scheduler_tick_s=TICK_S)
    ws = Workspace(root, fast)
    runner, port = await start_server(ws, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(http, f"http://127.0.0.1:{port}", ws)
            token = api.token("alice")
            board, block_id = await board_with_displayed_block(api, token, "select 1 as one")
            await api.ok(
                "dashboard_set_refresh", token, dashboard_id=board, refreshEnabled=True, refreshInterval=300
            )

            async def refreshed() -> bool:
                return len(await scheduled_runs(api, token, board, block_id)) >= 1

            await wait_for(refreshed, timeout=3)
    finally:
        await runner.cleanup()
        ws.close()
    stopped_at = time.time()
    await asyncio.sleep(interval + 0.5)  # due while no server runs

    # Started again, with a tick far longer than the test: only the look at start can refresh it.
    ws = Workspace(root, Settings(refresh_time_scale=scale_for(interval), scheduler_tick_s=60))
    runner, port = await start_server(ws, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(http, f"http://127.0.0.1:{port}", ws)
            token = api.ws.users.add_token(api.ws.users.find("alice").id)

            async def refreshed_after_restart() -> bool:
                runs = await scheduled_runs(api, token, board, block_id)
                return any(at(r["started_at"]) > stopped_at for r in runs)

            await wait_for(refreshed_after_restart, timeout=3)
            settings = await api.ok("dashboard_get_refresh", token, dashboard_id=board)
            assert at(settings["lastRefreshedAt"]) > stopped_at
    finally:
        await runner.cleanup()
        ws.close()


async def test_stopping_the_server_cancels_a_running_scheduled_refresh(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws", Settings(refresh_time_scale=scale_for(1), scheduler_tick_s=TICK_S))
    runner, port = await start_server(ws, "127.0.0.1", 0)
    stopped = False
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(http, f"http://127.0.0.1:{port}", ws)
            token = api.token("alice")
            # Adding the block runs it once, into the default 30 s limit: a quick query instead,
            # then the slow one as an update that only a refresh will run (it stays the config).
            board, block_id = await board_with_displayed_block(api, token, "select 1 as one")
            await api.ok(
                "dashboard_set_refresh", token, dashboard_id=board, refreshEnabled=True, refreshInterval=300
            )

            async def refreshed() -> bool:
                return len(await scheduled_runs(api, token, board, block_id)) >= 1

            await wait_for(refreshed, timeout=3)
            await api.ok("dashboard_set_refresh", token, dashboard_id=board, refreshEnabled=False)
            updating = asyncio.create_task(
                api.call(
                    "dashboard_update_block",
                    token,
                    dashboard_id=board,
                    block_id=block_id,
                    config={"sql": SLOW_SQL},
                )
            )
            await asyncio.sleep(0.5)
            ws.executor.cancel(board)  # the edit's own run: cancelled, recorded as an error
            status, _body = await updating
            assert status == 200
            count = len(await scheduled_runs(api, token, board, block_id))
            await api.ok("dashboard_set_refresh", token, dashboard_id=board, refreshEnabled=True)
            await asyncio.sleep(1.0)  # the slow scheduled refresh is under way now
            assert len(await scheduled_runs(api, token, board, block_id)) == count
        started = time.monotonic()
        await runner.cleanup()  # no explicit cancel: the scheduler cancels its own refresh
        stopped = True
        assert time.monotonic() - started < 5
        runs = [
            r
            for r in ws.db.rows(
                "SELECT status, error FROM runs WHERE board_id = ? AND trigger = 'schedule'", [board]
            )
        ]
        assert len(runs) == count + 1
        assert runs[-1]["status"] == "error" and "cancelled" in runs[-1]["error"]
    finally:
        if not stopped:
            await runner.cleanup()
        ws.close()


async def test_a_failing_refresh_is_logged_and_the_schedule_goes_on(serve: ServeFactory, caplog: Any) -> None:
    api = await serve(Settings(refresh_time_scale=scale_for(0.5), scheduler_tick_s=TICK_S))
    token = api.token("alice")
    bad_board = (await api.ok("dashboard_create", token, title="Bad"))["dashboard"]["id"]
    await api.ok("catalog_push", token, dashboard_id=bad_board, name="gone", rows=[{"x": 1}])
    block = await api.ok(
        "dashboard_add_block",
        token,
        dashboard_id=bad_board,
        type="sql",
        name="q",
        config={"sql": "from gone"},
    )
    await api.ok(
        "dashboard_set_displayed",
        token,
        dashboard_id=bad_board,
        block_id=block["block"]["id"],
        displayed=True,
    )
    # Damage the board behind the tools' back: its block now reads a source that is not there, so every
    # refresh of it is refused.
    with api.ws.db.write() as tx:
        tx.execute("DELETE FROM sources WHERE board_id = ?", [bad_board])
    good_board, good_block = await board_with_displayed_block(api, token, "select 2 as two", "Good")
    with caplog.at_level("WARNING", logger="ballast.server.scheduler"):
        for board in (bad_board, good_board):
            await api.ok(
                "dashboard_set_refresh", token, dashboard_id=board, refreshEnabled=True, refreshInterval=300
            )
        await asyncio.sleep(2.2)
    assert len(await scheduled_runs(api, token, good_board, good_block)) >= 3
    refused = [r for r in caplog.records if bad_board in r.getMessage()]
    # Retried once per interval, not at every tick.
    assert 2 <= len(refused) <= 6, [r.getMessage() for r in refused]
    assert all("gone" in r.getMessage() for r in refused)
