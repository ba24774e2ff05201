"""Losing access mid-stream over `/api/v1/ws`: one `access_lost`, nothing more of the board, and the
session's locks there released at once. Real server on a free port, real WebSocket clients."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import pytest

from tests.server.conftest import Api
from tests.server.test_ws import Socket, connect, join, next_of


async def silent_for(socket: Socket, seconds: float) -> list[dict[str, Any]]:
    """Every board message that arrives within `seconds` (heartbeats left out)."""
    got: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                message = await socket.receive_json()
                if message.get("type") != "heartbeat":
                    got.append(message)
    except TimeoutError:
        pass
    return got


async def board_with_sql(api: Api, owner: str) -> tuple[str, str, str]:
    """A published board with a displayed SQL block and a hidden one: (board, shown, hidden)."""
    board = (await api.ok("dashboard_create", owner, title="Secret sauce"))["dashboard"]["id"]
    shown = await api.ok(
        "dashboard_add_block",
        owner,
        dashboard_id=board,
        type="sql",
        name="shown",
        config={"sql": "select 1 as v"},
    )
    hidden = await api.ok(
        "dashboard_add_block",
        owner,
        dashboard_id=board,
        type="sql",
        name="hidden",
        config={"sql": "select 'internal margin' as secret"},
    )
    await api.ok(
        "dashboard_set_displayed", owner, dashboard_id=board, block_id=shown["block"]["id"], displayed=True
    )
    return board, shown["block"]["id"], hidden["block"]["id"]


async def test_a_viewer_revoked_mid_stream_gets_access_lost_and_nothing_more(api: Api) -> None:
    alice, vic = api.token("alice"), api.token("vic")
    board, shown, _ = await board_with_sql(api, alice)
    await api.ok("dashboard_grant", alice, dashboard_id=board, user="vic", role="viewer")
    async with connect(api, vic, "tui-v") as viewer:
        await join(viewer, board)
        await api.ok(
            "dashboard_update_block",
            alice,
            dashboard_id=board,
            block_id=shown,
            config={"sql": "select 2 as v"},
        )
        changed = await next_of(viewer, "block_changed")
        assert changed["block"]["config"]["sql"] == "select 2 as v"  # a viewer sees SQL while a viewer

        await api.ok("dashboard_grant", alice, dashboard_id=board, user="vic", role="none")
        lost = await next_of(viewer, "access_lost")
        assert lost["dashboard_id"] == board
        await api.ok(
            "dashboard_update_block",
            alice,
            dashboard_id=board,
            block_id=shown,
            config={"sql": "select 'new' as v"},
        )
        later = await silent_for(viewer, 1.5)
        assert later == [], "a session that lost access still received the board's events"
    status, body = await api.call("dashboard_get", vic, dashboard_id=board)
    assert (status, body["error"]) == (403, "forbidden")


async def test_an_editor_losing_access_releases_its_lock_at_once(api: Api) -> None:
    alice, ed = api.token("alice"), api.token("ed")
    board, shown, _ = await board_with_sql(api, alice)
    await api.ok("dashboard_grant", alice, dashboard_id=board, user="ed", role="editor")
    async with connect(api, alice, "tui-a") as owner, connect(api, ed, "tui-e") as editor:
        await join(owner, board)
        await join(editor, board)
        await editor.send_json({"type": "open", "dashboard_id": board, "block_id": shown})
        await next_of(editor, "opened")
        status, body = await api.call(
            "dashboard_update_block",
            alice,
            "tui-a",
            dashboard_id=board,
            block_id=shown,
            config={"sql": "select 3 as v"},
        )
        assert (status, body["error"]) == (423, "locked")

        # Transferred away from alice, then bob takes ed's grant back: ed loses access.
        bob = api.token("bob")
        await api.ok("dashboard_transfer", alice, dashboard_id=board, user="bob")
        await api.ok("dashboard_grant", bob, dashboard_id=board, user="ed", role="none")
        await next_of(editor, "access_lost")
        released = await next_of(owner, "lock")
        while released.get("lock") is not None:
            released = await next_of(owner, "lock")
        assert released["block_id"] == shown and released["reason"] == "access_lost"
        status, _ = await api.call(
            "dashboard_update_block",
            alice,
            "tui-a",
            dashboard_id=board,
            block_id=shown,
            config={"sql": "select 3 as v"},
        )
        assert status == 200  # the lock went with ed's access, not 30 s later


async def test_a_reader_through_the_link_sees_displayed_blocks_only_and_loses_them_when_made_private(
    api: Api,
) -> None:
    alice, stranger = api.token("alice"), api.token("stranger")
    board, shown, hidden = await board_with_sql(api, alice)
    status, _ = await api.call("dashboard_get", stranger, dashboard_id=board)
    assert status == 403
    async with connect(api, stranger, "tui-s") as reader:
        await reader.send_json({"type": "join", "dashboard_id": board})
        refused = await next_of(reader, "error")
        assert refused["error"] == "forbidden"  # private: nothing to see

        await api.ok("dashboard_publish", alice, dashboard_id=board)
        await join(reader, board)
        await api.ok(
            "dashboard_update_block",
            alice,
            dashboard_id=board,
            block_id=hidden,
            config={"sql": "select 'x' as secret"},
        )
        await api.ok(
            "dashboard_update_block",
            alice,
            dashboard_id=board,
            block_id=shown,
            config={"sql": "select 5 as v"},
        )
        seen = await silent_for(reader, 1.5)
        text = repr(seen)
        assert "select" not in text and "secret" not in text and hidden not in text
        assert any(m["type"] == "run_finished" and m["block_id"] == shown for m in seen)
        assert all(m.get("error") is None for m in seen)

        await api.ok("dashboard_unpublish", alice, dashboard_id=board)
        await next_of(reader, "access_lost")
        await api.ok("dashboard_refresh", alice, dashboard_id=board)
        assert await silent_for(reader, 1.0) == []


@pytest.mark.parametrize("role", ["viewer", "editor"])
async def test_a_deleted_board_ends_with_board_deleted_not_access_lost(api: Api, role: str) -> None:
    alice, other = api.token("alice"), api.token("other")
    board, _, _ = await board_with_sql(api, alice)
    await api.ok("dashboard_grant", alice, dashboard_id=board, user="other", role=role)
    async with connect(api, other, "tui-o") as socket:
        await join(socket, board)
        await api.ok("dashboard_delete", alice, dashboard_id=board)
        gone = await next_of(socket, "board_deleted")
        assert gone["dashboard_id"] == board


REVOKE_ELSEWHERE = """
import sys
from pathlib import Path
from ballast_tui.engine.signing import workspace_secret
from ballast_tui.engine.users import Users
from ballast_tui.storage.db import Database
root = Path(sys.argv[1])
users = Users(Database(root / "ballast.db"), lambda: workspace_secret(root / "secret.key"))
users.revoke(sys.argv[2])
users.db.close()
"""


async def test_a_token_revoked_by_another_process_is_refused_within_a_second_and_its_socket_loses_access(
    api: Api,
) -> None:
    alice, vic = api.token("alice"), api.token("vic")
    board, shown, _ = await board_with_sql(api, alice)
    await api.ok("dashboard_grant", alice, dashboard_id=board, user="vic", role="viewer")
    await api.ok("dashboard_get", vic, dashboard_id=board)  # vic's token is now remembered by the server
    async with connect(api, vic, "tui-v") as viewer:
        await join(viewer, board)
        done = await asyncio.create_subprocess_exec(
            sys.executable, "-c", REVOKE_ELSEWHERE, str(api.ws.paths.root), vic
        )
        assert await done.wait() == 0
        revoked_at = time.monotonic()
        while True:
            status, body = await api.call("dashboard_get", vic, dashboard_id=board)
            if status == 401:
                break
            assert time.monotonic() - revoked_at < 1.0, "a revoked token still worked after a second"
            await asyncio.sleep(0.05)
        assert body["error"] == "unauthorized"
        lost = await next_of(viewer, "access_lost", timeout=2)
        assert lost["dashboard_id"] == board
        await api.ok(
            "dashboard_update_block",
            alice,
            dashboard_id=board,
            block_id=shown,
            config={"sql": "select 9 as v"},
        )
        assert await silent_for(viewer, 1.0) == []
