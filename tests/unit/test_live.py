"""Live collaboration through the tools: block locks and presence."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ballast_tui.engine.errors import Forbidden, Locked
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Context
from tests.conftest import ToolClient


@pytest.fixture
def blocks(call: ToolClient, board: str) -> dict[str, str]:
    control = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="param-enum",
        name="region",
        config={"options": ["a", "b"]},
    )["block"]["id"]
    note = call(
        "dashboard_add_block", dashboard_id=board, type="markdown", name="note", config={"text": "x"}
    )["block"]["id"]
    return {"region": control, "note": note}


@pytest.fixture
def editor(call: ToolClient, board: str, make_client: Any) -> ToolClient:
    client: ToolClient = make_client("erin", session_id="erin-tui")
    call("dashboard_grant", dashboard_id=board, user="erin", role="editor")
    return client


BLOCKED_CHANGES: list[tuple[str, str, dict[str, Any]]] = [
    ("dashboard_update_block", "note", {"config": {"text": "mine"}}),
    ("dashboard_update_block", "note", {"name": "renamed"}),
    ("dashboard_set_control", "region", {"value": "b"}),
    ("dashboard_delete_block", "note", {}),
    ("dashboard_set_displayed", "note", {"displayed": True}),
    ("block_open", "note", {}),
]


def _session_key(client: ToolClient) -> str:
    """The key a client's session is held under (what heartbeats and leaving name)."""
    return Context(client.ws, client.user, client.session_id).session_key


def _blocks(call: ToolClient, board: str) -> list[Any]:
    return [
        (b["name"], b["config"], b["version"], b.get("value"), b["displayed"])
        for b in call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]
    ]


@pytest.mark.parametrize(
    ("tool", "block", "arguments"), BLOCKED_CHANGES, ids=[f"{c[0]}-{c[1]}" for c in BLOCKED_CHANGES]
)
def test_another_session_is_locked_out_of_an_open_block(
    ws: Workspace,
    call: ToolClient,
    board: str,
    blocks: dict[str, str],
    editor: ToolClient,
    tool: str,
    block: str,
    arguments: dict[str, Any],
) -> None:
    holder = ToolClient(ws, call.user, session_id="owner-tui")
    lock = holder("block_open", dashboard_id=board, block_id=blocks[block])["lock"]
    assert lock["holder"]["name"] == call.user.name
    before = _blocks(call, board)
    with pytest.raises(Locked) as refused:
        editor(tool, dashboard_id=board, block_id=blocks[block], **arguments)
    assert refused.value.status == 423
    assert call.user.name in refused.value.message
    assert refused.value.extra["lock"]["holder"]["name"] == call.user.name
    assert _blocks(call, board) == before
    # The holder itself may change it.
    if tool != "block_open":
        holder(tool, dashboard_id=board, block_id=blocks[block], **arguments)


def test_closing_releases_the_lock(
    call: ToolClient, board: str, blocks: dict[str, str], editor: ToolClient
) -> None:
    editor("block_open", dashboard_id=board, block_id=blocks["note"])
    with pytest.raises(Locked, match="erin"):
        call("dashboard_update_block", dashboard_id=board, block_id=blocks["note"], config={"text": "owner"})
    assert editor("block_close", dashboard_id=board, block_id=blocks["note"])["released"] is True
    call("dashboard_update_block", dashboard_id=board, block_id=blocks["note"], config={"text": "owner"})
    assert call("dashboard_get", dashboard_id=board)["dashboard"]["locks"] == []


def test_closing_someone_elses_lock_does_nothing(
    call: ToolClient, board: str, blocks: dict[str, str], editor: ToolClient
) -> None:
    editor("block_open", dashboard_id=board, block_id=blocks["note"])
    assert call("block_close", dashboard_id=board, block_id=blocks["note"])["released"] is False
    with pytest.raises(Locked):
        call("dashboard_update_block", dashboard_id=board, block_id=blocks["note"], config={"text": "owner"})


def test_same_user_in_two_sessions_counts_as_two(
    ws: Workspace, call: ToolClient, board: str, blocks: dict[str, str]
) -> None:
    laptop = ToolClient(ws, call.user, session_id="laptop")
    desktop = ToolClient(ws, call.user, session_id="desktop")
    laptop("block_open", dashboard_id=board, block_id=blocks["note"])
    with pytest.raises(Locked):
        desktop("dashboard_update_block", dashboard_id=board, block_id=blocks["note"], config={"text": "d"})
    with pytest.raises(Locked):
        desktop("block_open", dashboard_id=board, block_id=blocks["note"])
    laptop("dashboard_update_block", dashboard_id=board, block_id=blocks["note"], config={"text": "l"})
    sessions = [
        s
        for s in call("dashboard_presence", dashboard_id=board)["sessions"]
        if s["user"]["id"] == call.user.id
    ]
    assert len(sessions) == 2
    assert sorted(str(s["block_id"]) for s in sessions) == sorted([blocks["note"], "None"])


def test_opening_another_block_releases_the_first(
    ws: Workspace, call: ToolClient, board: str, blocks: dict[str, str], editor: ToolClient
) -> None:
    editor("block_open", dashboard_id=board, block_id=blocks["note"])
    editor("block_open", dashboard_id=board, block_id=blocks["region"])
    call("dashboard_update_block", dashboard_id=board, block_id=blocks["note"], config={"text": "free"})
    with pytest.raises(Locked):
        call("dashboard_set_control", dashboard_id=board, block_id=blocks["region"], value="b")


def test_a_lock_expires_without_heartbeat(
    ws: Workspace, call: ToolClient, board: str, blocks: dict[str, str], editor: ToolClient
) -> None:
    ws.sessions.lock_timeout = 0.2
    editor("block_open", dashboard_id=board, block_id=blocks["note"])
    with pytest.raises(Locked):
        call("dashboard_update_block", dashboard_id=board, block_id=blocks["note"], config={"text": "early"})
    time.sleep(0.3)
    call("dashboard_update_block", dashboard_id=board, block_id=blocks["note"], config={"text": "late"})
    assert call("dashboard_get", dashboard_id=board)["dashboard"]["locks"] == []


def test_heartbeats_keep_a_lock(
    ws: Workspace, call: ToolClient, board: str, blocks: dict[str, str], editor: ToolClient
) -> None:
    ws.sessions.lock_timeout = 0.3
    editor("block_open", dashboard_id=board, block_id=blocks["note"])
    session = _session_key(editor)
    for _ in range(4):
        time.sleep(0.1)
        ws.sessions.heartbeat(session)
    with pytest.raises(Locked):
        call("dashboard_update_block", dashboard_id=board, block_id=blocks["note"], config={"text": "no"})


def test_leaving_releases_the_locks(
    ws: Workspace, call: ToolClient, board: str, blocks: dict[str, str], editor: ToolClient
) -> None:
    editor("block_open", dashboard_id=board, block_id=blocks["note"])
    released = ws.sessions.leave(_session_key(editor))
    assert [lock.block_id for lock in released] == [blocks["note"]]
    call("dashboard_update_block", dashboard_id=board, block_id=blocks["note"], config={"text": "free"})


def test_presence_lists_sessions_with_their_open_block(
    ws: Workspace, call: ToolClient, board: str, blocks: dict[str, str], editor: ToolClient, make_client: Any
) -> None:
    agent = make_client("bot", kind="agent", session_id="bot-mcp")
    call("dashboard_grant", dashboard_id=board, user="bot", role="editor")
    editor("block_open", dashboard_id=board, block_id=blocks["note"])
    agent("block_open", dashboard_id=board, block_id=blocks["region"])

    answer = call("dashboard_presence", dashboard_id=board)
    sessions = {s["user"]["name"]: s for s in answer["sessions"]}
    assert set(sessions) == {"erin", "bot"}
    assert sessions["erin"]["session"] != sessions["bot"]["session"]
    assert sessions["erin"]["kind"] == "human"
    assert sessions["erin"]["block_id"] == blocks["note"]
    assert sessions["erin"]["since"].endswith("Z")
    assert sessions["bot"]["kind"] == "agent"
    assert sessions["bot"]["block_id"] == blocks["region"]
    assert {lock["block_id"] for lock in answer["locks"]} == {blocks["note"], blocks["region"]}

    agent("block_close", dashboard_id=board, block_id=blocks["region"])
    sessions = {s["user"]["name"]: s for s in call("dashboard_presence", dashboard_id=board)["sessions"]}
    assert sessions["bot"]["block_id"] is None

    other = call("dashboard_create", title="Elsewhere")["dashboard"]["id"]
    assert call("dashboard_presence", dashboard_id=other)["sessions"] == []


def test_get_shows_who_holds_which_block(
    call: ToolClient, board: str, blocks: dict[str, str], editor: ToolClient
) -> None:
    editor("block_open", dashboard_id=board, block_id=blocks["note"])
    locks = call("dashboard_get", dashboard_id=board)["dashboard"]["locks"]
    assert [(lock["block_id"], lock["holder"]["name"]) for lock in locks] == [(blocks["note"], "erin")]


def test_a_viewer_cannot_open_a_block(
    call: ToolClient, board: str, blocks: dict[str, str], make_client: Any
) -> None:
    viewer = make_client("vic", session_id="vic-tui")
    call("dashboard_grant", dashboard_id=board, user="vic", role="viewer")
    with pytest.raises(Forbidden):
        viewer("block_open", dashboard_id=board, block_id=blocks["note"])
    assert call("dashboard_get", dashboard_id=board)["dashboard"]["locks"] == []


def test_a_locked_reader_blocks_a_rename_that_would_rewrite_it(
    ws: Workspace, call: ToolClient, board: str, editor: ToolClient
) -> None:
    call("catalog_push", dashboard_id=board, name="sales", rows=[{"a": 1}])
    reader = call(
        "dashboard_add_block", dashboard_id=board, type="sql", name="q", config={"sql": "SELECT * FROM sales"}
    )["block"]["id"]
    editor("block_open", dashboard_id=board, block_id=reader)
    before = _blocks(call, board)
    with pytest.raises(Locked):
        call("catalog_rename", dashboard_id=board, name="sales", new_name="orders")
    assert _blocks(call, board) == before
    assert [
        s["name"] for s in call("catalog_list", dashboard_id=board)["sources"] if s["kind"] != "block"
    ] == ["sales"]
