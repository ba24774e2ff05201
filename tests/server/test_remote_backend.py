"""`RemoteBackend` against a real server: the same answers and refusals as in-process, and a
connection that is lost, told, and resumed with what was missed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ballast_server.runner import start_server
from ballast_tui.engine.errors import Locked, NotFound, Unauthorized
from ballast_tui.engine.events import BlockChanged, Connection, Event, Presence
from ballast_tui.engine.workspace import Workspace
from ballast_tui.remote import RemoteBackend

E = TypeVar("E", bound=Event)


async def next_event(events: Any, kind: type[E], timeout: float = 20) -> E:
    async with asyncio.timeout(timeout):
        while True:
            event = await anext(events)
            if isinstance(event, kind):
                return event


async def test_remote_calls_answer_and_refuse_like_local_ones(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    _alice, alice_token = ws.users.create("alice")
    runner, port = await start_server(ws, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    first = await RemoteBackend(url, alice_token).start()
    second = await RemoteBackend(url, alice_token).start()
    try:
        assert first.session.user_name == "alice"
        board = (await first.call("dashboard_create", title="Remote"))["dashboard"]["id"]
        block = (
            await first.call("dashboard_add_block", dashboard_id=board, type="markdown", config={"text": "x"})
        )["block"]["id"]
        with pytest.raises(NotFound):
            await first.call("dashboard_get", dashboard_id="dash_missing000000")
        await first.call("block_open", dashboard_id=board, block_id=block)
        with pytest.raises(Locked) as locked:
            await second.call(
                "dashboard_update_block", dashboard_id=board, block_id=block, config={"text": "y"}
            )
        assert locked.value.extra["lock"]["holder"]["name"] == "alice"
        with pytest.raises(Unauthorized):
            await RemoteBackend(url, "blt_not_a_token").start()
    finally:
        await first.close()
        await second.close()
        await runner.cleanup()
        ws.close()


async def test_a_lost_connection_is_told_and_resumed_with_what_was_missed(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    _alice, token = ws.users.create("alice")
    runner, port = await start_server(ws, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    backend = await RemoteBackend(url, token).start()
    board = (await backend.call("dashboard_create", title="Flaky"))["dashboard"]["id"]
    events = backend.events(board)
    try:
        await next_event(events, Presence)
        await runner.cleanup()  # the server goes away…
        assert (await next_event(events, Connection)).state == "lost"
        runner, _ = await start_server(ws, "127.0.0.1", port)  # …and comes back on its address
        assert (await next_event(events, Connection)).state == "resumed"
        await backend.call(
            "dashboard_add_block", dashboard_id=board, type="markdown", config={"text": "back"}
        )
        changed = await next_event(events, BlockChanged)
        assert changed.block is not None and changed.block["config"]["text"] == "back"
    finally:
        await events.aclose()
        await backend.close()
        await runner.cleanup()
        ws.close()
