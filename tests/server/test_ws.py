"""Live collaboration over `/api/v1/ws`: presence, locks, ordered events, resume, refusals.

Real server on a free port, real WebSocket clients.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from ballast_server import ws as ws_module
from tests.server.conftest import Api

Socket = aiohttp.ClientWebSocketResponse


@contextlib.asynccontextmanager
async def connect(api: Api, token: str, session: str, **headers: str) -> AsyncIterator[Socket]:
    url = api.base + f"/api/v1/ws?session={session}"
    async with api.http.ws_connect(url, headers={"Authorization": f"Bearer {token}", **headers}) as socket:
        welcome = await socket.receive_json(timeout=5)
        assert welcome["type"] == "welcome"
        yield socket


async def next_of(socket: Socket, kind: str, timeout: float = 5) -> dict[str, Any]:
    """The next message of that type (others are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            message = await socket.receive_json()
            if message["type"] == kind:
                return message  # type: ignore[no-any-return]


async def join(socket: Socket, board: str, **extra: Any) -> dict[str, Any]:
    await socket.send_json({"type": "join", "dashboard_id": board, **extra})
    return await next_of(socket, "joined")


async def shared_board(api: Api) -> tuple[str, str, str, str]:
    """A board owned by alice, bob an editor on it; (alice token, bob token, board, a block id)."""
    alice, bob = api.token("alice"), api.token("bob")
    board = (await api.ok("dashboard_create", alice, title="Live"))["dashboard"]["id"]
    block = await api.ok(
        "dashboard_add_block", alice, dashboard_id=board, type="markdown", config={"text": "hi"}
    )
    await api.ok("dashboard_grant", alice, dashboard_id=board, user="bob", role="editor")
    return alice, bob, board, block["block"]["id"]


async def test_presence_lists_who_is_in_the_board_and_drops_who_leaves(api: Api) -> None:
    alice, bob, board, _ = await shared_board(api)
    async with connect(api, alice, "tui-a") as a:
        await join(a, board)
        async with connect(api, bob, "tui-b") as b:
            await join(b, board)
            presence = await next_of(a, "presence")
            while len(presence["sessions"]) < 2:
                presence = await next_of(a, "presence")
            assert {(s["user"]["name"], s["session"]) for s in presence["sessions"]} == {
                ("alice", "tui-a"),
                ("bob", "tui-b"),
            }
            listed = await api.ok("dashboard_presence", alice, dashboard_id=board)
            assert len(listed["sessions"]) == 2
        presence = await next_of(a, "presence")
        assert [s["user"]["name"] for s in presence["sessions"]] == ["alice"]


async def test_an_open_block_refuses_others_and_is_released_when_its_holder_disconnects(api: Api) -> None:
    alice, bob, board, block = await shared_board(api)
    async with connect(api, bob, "tui-b") as watcher:
        await join(watcher, board)
        async with connect(api, alice, "tui-a") as a:
            await join(a, board)
            await a.send_json({"type": "open", "dashboard_id": board, "block_id": block})
            assert (await next_of(a, "opened"))["lock"]["holder"]["name"] == "alice"
            lock = await next_of(watcher, "lock")
            assert lock["lock"]["holder"]["name"] == "alice"
            status, body = await api.call(
                "dashboard_update_block",
                bob,
                session="tui-b",
                dashboard_id=board,
                block_id=block,
                config={"text": "mine"},
            )
            assert (status, body["error"]) == (423, "locked") and "alice" in body["message"]
            # The holder's own HTTP calls with its session id go through.
            status, _ = await api.call(
                "dashboard_update_block",
                alice,
                session="tui-a",
                dashboard_id=board,
                block_id=block,
                config={"text": "alice's"},
            )
            assert status == 200
        released = await next_of(watcher, "lock")
        assert released["lock"] is None and released["released"]["holder"]["name"] == "alice"
    status, _ = await api.call(
        "dashboard_update_block",
        bob,
        session="tui-b",
        dashboard_id=board,
        block_id=block,
        config={"text": "now bob's"},
    )
    assert status == 200


async def test_a_lock_goes_after_the_timeout_without_heartbeats(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, board, block = await shared_board(api)
    api.ws.sessions.lock_timeout = 0.5
    async with connect(api, bob, "tui-b") as watcher:
        await join(watcher, board)
        async with connect(api, alice, "tui-a") as a:
            await join(a, board)
            await a.send_json({"type": "open", "dashboard_id": board, "block_id": block})
            await next_of(a, "opened")
            # Silent (no heartbeat) past the timeout: the reaper (every 2 s) lets the lock go.
            released = await next_of(watcher, "lock", timeout=ws_module.REAP_EVERY_S + 5)
            while released["lock"] is not None:
                released = await next_of(watcher, "lock", timeout=ws_module.REAP_EVERY_S + 5)
            assert released.get("reason") == "timeout"
            status, _ = await api.call(
                "dashboard_update_block",
                bob,
                session="tui-b",
                dashboard_id=board,
                block_id=block,
                config={"text": "free"},
            )
            assert status == 200


async def test_heartbeats_keep_a_lock(api: Api) -> None:
    alice, bob, board, block = await shared_board(api)
    api.ws.sessions.lock_timeout = 1.0
    async with connect(api, alice, "tui-a") as a:
        await join(a, board)
        await a.send_json({"type": "open", "dashboard_id": board, "block_id": block})
        await next_of(a, "opened")
        for _ in range(5):
            await asyncio.sleep(0.6)
            await a.send_json({"type": "heartbeat"})
            await next_of(a, "heartbeat")
        status, _ = await api.call(
            "dashboard_update_block",
            bob,
            session="tui-b",
            dashboard_id=board,
            block_id=block,
            config={"text": "no"},
        )
        assert status == 423


async def test_events_arrive_in_order_with_no_gaps_under_concurrent_edits_from_five_clients(api: Api) -> None:
    owner = api.token("owner")
    board = (await api.ok("dashboard_create", owner, title="Busy"))["dashboard"]["id"]
    blocks = []
    for i in range(5):
        added = await api.ok(
            "dashboard_add_block",
            owner,
            dashboard_id=board,
            type="sql",
            name=f"b{i}",
            config={"sql": f"select {i} as v"},
        )
        blocks.append(added["block"]["id"])
    editors = []
    for i in range(5):
        token = api.token(f"editor{i}")
        await api.ok("dashboard_grant", owner, dashboard_id=board, user=f"editor{i}", role="editor")
        editors.append(token)
    async with connect(api, owner, "watcher") as watcher:
        start = (await join(watcher, board))["seq"]

        async def edit(i: int) -> None:
            for n in range(4):
                await api.ok(
                    "dashboard_update_block",
                    editors[i],
                    dashboard_id=board,
                    block_id=blocks[i],
                    config={"sql": f"select {i * 100 + n} as v"},
                )

        await asyncio.gather(*(edit(i) for i in range(5)))
        last = api.ws.bus.last_seq(board)
        seqs = []
        async with asyncio.timeout(10):
            while not seqs or seqs[-1] < last:
                message = await watcher.receive_json()
                if "seq" in message and message.get("dashboard_id") == board and message["type"] != "joined":
                    seqs.append(message["seq"])
    assert seqs == list(range(start + 1, last + 1))
    assert last - start >= 5 * 4 * 3  # each edit: block_changed, run_started, run_finished


async def test_a_client_that_reconnects_with_its_last_seq_receives_what_it_missed(api: Api) -> None:
    alice, _bob, board, block = await shared_board(api)
    async with connect(api, alice, "tui-a") as a:
        seen = (await join(a, board))["seq"]
    for n in range(3):
        await api.ok(
            "dashboard_update_block", alice, dashboard_id=board, block_id=block, config={"text": f"v{n}"}
        )
    async with connect(api, alice, "tui-a") as a:
        await a.send_json({"type": "join", "dashboard_id": board, "last_seq": seen})
        missed = []
        async with asyncio.timeout(5):
            while True:
                message = await a.receive_json()
                if message["type"] == "joined":
                    now = message["seq"]
                    break
                missed.append(message)
    assert [m["seq"] for m in missed] == list(range(seen + 1, now + 1))
    assert [m["block"]["config"]["text"] for m in missed if m["type"] == "block_changed"] == [
        "v0",
        "v1",
        "v2",
    ]


async def test_a_client_too_far_behind_is_told_to_reload(api: Api) -> None:
    alice, _bob, board, _block = await shared_board(api)
    async with connect(api, alice, "tui-a") as a:
        await a.send_json(
            {"type": "join", "dashboard_id": board, "last_seq": api.ws.bus.last_seq(board) + 50}
        )
        assert (await next_of(a, "reload"))["dashboard_id"] == board


async def test_strangers_and_anonymous_clients_are_refused(api: Api) -> None:
    _alice, _bob, board, _ = await shared_board(api)
    stranger = api.token("mallory")
    async with connect(api, stranger, "s") as socket:
        await socket.send_json({"type": "join", "dashboard_id": board})
        error = await next_of(socket, "error")
        assert (error["error"], error["request"]) == ("forbidden", "join")
    with pytest.raises(aiohttp.WSServerHandshakeError) as no_token:
        await api.http.ws_connect(api.base + "/api/v1/ws")
    assert no_token.value.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as bad_token:
        await api.http.ws_connect(api.base + "/api/v1/ws?token=blt_nope_nope")
    assert bad_token.value.status == 401


async def test_a_browser_page_of_another_origin_is_refused(api: Api) -> None:
    alice = api.token("alice")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await api.http.ws_connect(
            api.base + "/api/v1/ws",
            headers={"Authorization": f"Bearer {alice}", "Origin": "https://evil.example"},
        )
    assert refused.value.status == 403
    same = api.base.removeprefix("http://")
    async with api.http.ws_connect(
        api.base + "/api/v1/ws", headers={"Authorization": f"Bearer {alice}", "Origin": f"http://{same}"}
    ) as ok:
        assert (await ok.receive_json())["type"] == "welcome"


async def test_token_in_the_query_string_works_for_clients_that_cannot_set_headers(api: Api) -> None:
    alice = api.token("alice")
    async with api.http.ws_connect(api.base + f"/api/v1/ws?token={alice}") as socket:
        assert (await socket.receive_json())["user"]["name"] == "alice"
