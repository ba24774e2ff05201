"""Board tools: list, get, clone, delete, the audit, conversations and refresh settings."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from ballast_tui.engine.errors import Forbidden, InvalidRequest, NotFound
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient


def _rows(ws: Workspace, sql: str, *params: Any) -> list[dict[str, Any]]:
    """Read ballast.db with a connection of its own, as an auditor would."""
    con = sqlite3.connect(ws.paths.db)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params)]
    finally:
        con.close()


def _audit(ws: Workspace, board: str) -> list[dict[str, Any]]:
    return _rows(ws, "SELECT * FROM audit WHERE board_id = ? ORDER BY seq", board)


def _populate(call: ToolClient, board: str) -> dict[str, str]:
    """A source, a control, a SQL block reading both, a chart on it; two of them shown."""
    call(
        "catalog_push",
        dashboard_id=board,
        name="sales",
        rows=[{"region": "a", "v": 1}, {"region": "b", "v": 2}],
    )
    ids = {
        "region": call(
            "dashboard_add_block",
            dashboard_id=board,
            type="param-enum",
            name="region",
            config={"options": ["a", "b"]},
        )["block"]["id"],
        "q": call(
            "dashboard_add_block",
            dashboard_id=board,
            type="sql",
            name="q",
            config={"sql": "SELECT * FROM sales WHERE region = $region", "inputs": ["region"]},
        )["block"]["id"],
    }
    ids["plot"] = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="chart",
        name="plot",
        config={"source": "q", "kind": "bar", "x": "region", "y": "v"},
    )["block"]["id"]
    call("dashboard_set_control", dashboard_id=board, block_id=ids["region"], value="b")
    call("dashboard_set_displayed", dashboard_id=board, block_id=ids["region"], displayed=True)
    call("dashboard_set_displayed", dashboard_id=board, block_id=ids["plot"], displayed=True)
    call(
        "dashboard_set_layout",
        dashboard_id=board,
        rows=[{"blocks": [ids["region"], ids["plot"]], "cols": [4, 8], "height": 300}],
    )
    return ids


# ----------------------------------------------------------------------------- list and get


def test_list_shows_only_boards_the_caller_has_a_role_on(call: ToolClient, make_client: Any) -> None:
    mine = call("dashboard_create", title="Mine")["dashboard"]["id"]
    shared = call("dashboard_create", title="Shared")["dashboard"]["id"]
    call("dashboard_create", title="Private")
    conv = call("conversation_create", title="Chat")["conversation"]["id"]
    other = make_client("olga")
    theirs = other("dashboard_create", title="Theirs")["dashboard"]["id"]
    call("dashboard_grant", dashboard_id=shared, user="olga", role="viewer")
    call("dashboard_publish", dashboard_id=shared)

    listed = {d["id"]: d for d in other("dashboard_list")["dashboards"]}
    assert set(listed) == {theirs, shared}  # a published board is still not listed for strangers
    assert listed[shared]["role"] == "viewer"
    assert listed[shared]["isPublic"] is True
    assert listed[theirs]["isPublic"] is False
    for item in listed.values():
        assert item["isDashboard"] is True
        assert item["createdAt"].endswith("Z")

    owned = {d["id"] for d in call("dashboard_list")["dashboards"]}
    assert mine in owned and conv not in owned
    with_conversations = {
        d["id"]: d for d in call("dashboard_list", include_conversations=True)["dashboards"]
    }
    assert conv in with_conversations
    assert with_conversations[conv]["isDashboard"] is False


def test_get_answers_blocks_layout_visibility_and_role(call: ToolClient, board: str) -> None:
    ids = _populate(call, board)
    dashboard = call("dashboard_get", dashboard_id=board)["dashboard"]
    assert dashboard["id"] == board
    assert dashboard["title"] == "Test board"
    assert dashboard["visibility"] == "private"
    assert dashboard["role"] == "owner"
    assert dashboard["layout"] == {
        "rows": [{"blocks": [ids["region"], ids["plot"]], "cols": [4, 8], "height": 300}]
    }
    blocks = {b["name"]: b for b in dashboard["blocks"]}
    assert set(blocks) == {"region", "q", "plot"}
    assert blocks["region"]["value"] == "b"
    assert blocks["region"]["displayed"] is True and blocks["q"]["displayed"] is False
    assert "value" not in blocks["q"]
    assert blocks["q"]["config"]["sql"] == "SELECT * FROM sales WHERE region = $region"
    assert blocks["plot"]["upstream"] == [ids["q"]]
    assert blocks["q"]["downstream"] == [ids["plot"]]


def test_get_of_an_unknown_board_is_not_found(call: ToolClient) -> None:
    with pytest.raises(NotFound):
        call("dashboard_get", dashboard_id="dash_nosuchboard0000")


@pytest.mark.parametrize("title", ["", "   ", "x" * 201])
def test_create_refuses_a_blank_or_overlong_title(call: ToolClient, title: str) -> None:
    with pytest.raises(InvalidRequest):
        call("dashboard_create", title=title)
    assert call("dashboard_list")["dashboards"] == []


# ----------------------------------------------------------------------------- clone


def test_viewer_clones_blocks_layout_sources_and_outputs(
    call: ToolClient, ws: Workspace, board: str, make_client: Any
) -> None:
    ids = _populate(call, board)
    viewer = make_client("vik")
    call("dashboard_grant", dashboard_id=board, user="vik", role="viewer")
    call("dashboard_publish", dashboard_id=board)

    clone = viewer("dashboard_clone", dashboard_id=board)["dashboard"]

    assert clone["id"] != board
    assert clone["title"] == "Test board (Copy)"
    assert clone["visibility"] == "private"
    assert clone["slug"] is None
    assert clone["role"] == "owner"
    assert clone["owner_id"] == viewer.user.id
    copy = viewer("dashboard_get", dashboard_id=clone["id"])["dashboard"]
    originals = {b["name"]: b for b in call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]}
    copies = {b["name"]: b for b in copy["blocks"]}
    assert set(copies) == set(originals)
    assert not set(b["id"] for b in copies.values()) & set(ids.values())
    for name, block in copies.items():
        assert block["config"] == originals[name]["config"]
        assert block["displayed"] == originals[name]["displayed"]
    assert copies["region"]["value"] == "b"
    assert copy["layout"] == {
        "rows": [{"blocks": [copies["region"]["id"], copies["plot"]["id"]], "cols": [4, 8], "height": 300}]
    }
    assert [
        s["name"] for s in viewer("catalog_list", dashboard_id=clone["id"])["sources"] if s["kind"] != "block"
    ] == ["sales"]
    # The current outputs came along: readable at once, with no new run.
    data = viewer("dashboard_block_data", dashboard_id=clone["id"], block_id=copies["q"]["id"])
    assert data["rows"] == [{"region": "b", "v": 2}]
    assert len(viewer("dashboard_runs", dashboard_id=clone["id"], block_id=copies["q"]["id"])["runs"]) == 1
    assert viewer("dashboard_block_data", dashboard_id=clone["id"], block_id=copies["plot"]["id"])["series"]
    # The clone is the viewer's own: editing it leaves the original alone.
    viewer("dashboard_set_control", dashboard_id=clone["id"], block_id=copies["region"]["id"], value="a")
    assert viewer("dashboard_block_data", dashboard_id=clone["id"], block_id=copies["q"]["id"])["rows"] == [
        {"region": "a", "v": 1}
    ]
    assert call("dashboard_block_data", dashboard_id=board, block_id=ids["q"])["rows"] == [
        {"region": "b", "v": 2}
    ]
    # Deleting the original leaves the clone's data intact.
    call("dashboard_delete", dashboard_id=board)
    assert (
        viewer("dashboard_block_data", dashboard_id=clone["id"], block_id=copies["plot"]["id"])["row_count"]
        == 1
    )
    assert viewer("dashboard_get", dashboard_id=clone["id"])["dashboard"]["role"] == "owner"
    assert ws.board_dir(clone["id"]).is_dir()


def test_stranger_cannot_clone(call: ToolClient, board: str, make_client: Any) -> None:
    with pytest.raises(Forbidden):
        make_client("sam")("dashboard_clone", dashboard_id=board)


# ----------------------------------------------------------------------------- delete and the audit


def test_delete_removes_everything_but_the_audit_keeps_the_fact(
    call: ToolClient, ws: Workspace, board: str
) -> None:
    ids = _populate(call, board)
    assert ws.board_dir(board).is_dir()
    assert _rows(ws, "SELECT id FROM runs WHERE board_id = ?", board)

    call("dashboard_delete", dashboard_id=board)

    for table in ("blocks", "runs", "sources", "grants", "boards"):
        column = "id" if table == "boards" else "board_id"
        assert _rows(ws, f"SELECT * FROM {table} WHERE {column} = ?", board) == [], table
    assert not ws.board_dir(board).exists()
    events = _audit(ws, board)
    assert events[-1]["action"] == "delete"
    assert events[-1]["actor"] == call.user.id
    assert len(events) > 5  # the history before the deletion stays too
    with pytest.raises(NotFound):
        call("dashboard_get", dashboard_id=board)
    with pytest.raises(NotFound):
        call("dashboard_block_data", dashboard_id=board, block_id=ids["q"])
    assert board not in {d["id"] for d in call("dashboard_list")["dashboards"]}


def test_audit_rows_cannot_be_changed_or_deleted(call: ToolClient, ws: Workspace, board: str) -> None:
    con = sqlite3.connect(ws.paths.db)
    try:
        for statement in ("UPDATE audit SET action = 'forged'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.DatabaseError, match="never changed"):
                con.execute(statement)
            con.rollback()
    finally:
        con.close()
    assert [e["action"] for e in _audit(ws, board)] == ["create"]


Change = Callable[[ToolClient, str, dict[str, str]], Any]
CSV = base64.b64encode(b"a,b\n1,2\n").decode()


def _new_board_from(answer: dict[str, Any]) -> str:
    return str(answer["dashboard"]["id"])


# (action recorded, the change, the board it changes: None for the board itself, else from the answer)
CHANGES: list[tuple[str, Change, Callable[[dict[str, Any]], str] | None]] = [
    (
        "block_add",
        lambda c, b, i: c("dashboard_add_block", dashboard_id=b, type="markdown", config={"text": "x"}),
        None,
    ),
    (
        "block_update",
        lambda c, b, i: c(
            "dashboard_update_block",
            dashboard_id=b,
            block_id=i["q"],
            config={"sql": "SELECT 1 AS v, 'a' AS region"},
        ),
        None,
    ),
    (
        "block_update",
        lambda c, b, i: c("dashboard_update_block", dashboard_id=b, block_id=i["q"], name="query"),
        None,
    ),
    ("block_delete", lambda c, b, i: c("dashboard_delete_block", dashboard_id=b, block_id=i["plot"]), None),
    (
        "block_displayed",
        lambda c, b, i: c("dashboard_set_displayed", dashboard_id=b, block_id=i["q"], displayed=True),
        None,
    ),
    (
        "block_displayed",
        lambda c, b, i: c("dashboard_set_displayed", dashboard_id=b, block_id=i["plot"], displayed=False),
        None,
    ),
    (
        "layout_set",
        lambda c, b, i: c(
            "dashboard_set_layout", dashboard_id=b, rows=[{"blocks": [i["plot"]]}, {"blocks": [i["region"]]}]
        ),
        None,
    ),
    (
        "control_set",
        lambda c, b, i: c("dashboard_set_control", dashboard_id=b, block_id=i["region"], value="a"),
        None,
    ),
    (
        "source_push",
        lambda c, b, i: c(
            "catalog_push", dashboard_id=b, name="sales", rows=[{"region": "c", "v": 3}], mode="append"
        ),
        None,
    ),
    (
        "source_import",
        lambda c, b, i: c("catalog_import", dashboard_id=b, name="extra", format="csv", content=CSV),
        None,
    ),
    (
        "source_rename",
        lambda c, b, i: c("catalog_rename", dashboard_id=b, name="sales", new_name="orders"),
        None,
    ),
    ("publish", lambda c, b, i: c("dashboard_publish", dashboard_id=b, password="pw"), None),
    ("publish", lambda c, b, i: c("dashboard_set_visibility", dashboard_id=b, visibility="link_view"), None),
    ("unpublish", lambda c, b, i: c("dashboard_unpublish", dashboard_id=b), None),
    ("grant", lambda c, b, i: c("dashboard_grant", dashboard_id=b, user="gus", role="viewer"), None),
    ("transfer", lambda c, b, i: c("dashboard_transfer", dashboard_id=b, user="gus"), None),
    (
        "refresh_settings",
        lambda c, b, i: c("dashboard_set_refresh", dashboard_id=b, refreshEnabled=True, refreshInterval=300),
        None,
    ),
    ("refresh", lambda c, b, i: c("dashboard_refresh", dashboard_id=b), None),
    ("delete", lambda c, b, i: c("dashboard_delete", dashboard_id=b), None),
    ("clone", lambda c, b, i: c("dashboard_clone", dashboard_id=b), _new_board_from),
    ("create", lambda c, b, i: c("dashboard_create", title="New"), _new_board_from),
    (
        "save",
        lambda c, b, i: c(
            "dashboard_save_conversation",
            conversation_id=c("conversation_create")["conversation"]["id"],
            title="S",
        ),
        _new_board_from,
    ),
    (
        "create",
        lambda c, b, i: c("conversation_create", title="Chat"),
        lambda a: str(a["conversation"]["id"]),
    ),
]


@pytest.mark.parametrize(
    ("action", "change", "changed_board"),
    CHANGES,
    ids=[f"{i}-{case[0]}" for i, case in enumerate(CHANGES)],
)
def test_every_change_appends_exactly_one_audit_event(
    call: ToolClient,
    ws: Workspace,
    board: str,
    make_client: Any,
    action: str,
    change: Change,
    changed_board: Callable[[dict[str, Any]], str] | None,
) -> None:
    make_client("gus")
    ids = _populate(call, board)
    before = len(_audit(ws, board))
    answer = change(call, board, ids)
    target_board = board if changed_board is None else changed_board(answer)
    events = _audit(ws, target_board)
    new_events = events[before:] if target_board == board else events
    assert [e["action"] for e in new_events] == [action]
    event = new_events[0]
    assert event["actor"] == call.user.id
    assert event["id"].startswith("aud_")
    assert event["at"].endswith("Z")
    assert event["target"]


READS: list[tuple[str, Callable[[dict[str, str], str], dict[str, Any]]]] = [
    ("dashboard_get", lambda i, b: {"dashboard_id": b}),
    ("dashboard_list", lambda i, b: {"include_conversations": True}),
    ("dashboard_block_data", lambda i, b: {"dashboard_id": b, "block_id": i["q"]}),
    ("dashboard_runs", lambda i, b: {"dashboard_id": b, "block_id": i["q"]}),
    ("dashboard_audit", lambda i, b: {"dashboard_id": b}),
    ("catalog_list", lambda i, b: {"dashboard_id": b}),
    ("dashboard_presence", lambda i, b: {"dashboard_id": b}),
    ("dashboard_get_refresh", lambda i, b: {"dashboard_id": b}),
    (
        "dashboard_run_block",
        lambda i, b: {"dashboard_id": b, "block_id": i["q"], "filter_overrides": {"region": "a"}},
    ),
]


def test_reads_append_no_audit_event(call: ToolClient, ws: Workspace, board: str) -> None:
    ids = _populate(call, board)
    before = _rows(ws, "SELECT count(*) AS n FROM audit")[0]["n"]
    for tool, arguments in READS:
        call(tool, **arguments(ids, board))
    assert _rows(ws, "SELECT count(*) AS n FROM audit")[0]["n"] == before


def test_audit_lists_newest_first_with_actor_names(call: ToolClient, board: str, make_client: Any) -> None:
    editor = make_client("edna")
    call("dashboard_grant", dashboard_id=board, user="edna", role="editor")
    editor("dashboard_add_block", dashboard_id=board, type="markdown", name="hello", config={"text": "x"})
    events = call("dashboard_audit", dashboard_id=board, limit=2)["events"]
    assert [(e["action"], e["actor_name"]) for e in events] == [
        ("block_add", "edna"),
        ("grant", call.user.name),
    ]
    assert events[0]["details"]["name"] == "hello"


# ----------------------------------------------------------------------------- conversations


def test_conversation_is_built_up_then_saved_as_a_dashboard(call: ToolClient, ws: Workspace) -> None:
    conversation = call("conversation_create", title="Explore sales")["conversation"]
    conv = conversation["id"]
    assert conv.startswith("conv_")
    assert conversation["isDashboard"] is False
    assert conversation["messages"] == []
    message = call(
        "conversation_add_message", conversation_id=conv, role="user", content="Show sales by region"
    )["message"]
    assert message["role"] == "user" and message["content"] == "Show sales by region"
    call("conversation_add_message", conversation_id=conv, role="assistant", content="Here they are.")
    # Every dashboard_id argument takes a conversation id too.
    ids = _populate(call, conv)

    got = call("dashboard_get", dashboard_id=conv)["dashboard"]
    assert got["kind"] == "conversation"
    assert [m["content"] for m in got["messages"]] == ["Show sales by region", "Here they are."]

    saved = call("dashboard_save_conversation", conversation_id=conv, title="Sales by region")["dashboard"]

    assert saved["id"].startswith("dash_")
    assert saved["isDashboard"] is True
    assert saved["title"] == "Sales by region"
    dashboard = call("dashboard_get", dashboard_id=saved["id"])["dashboard"]
    assert {b["name"] for b in dashboard["blocks"]} == {"region", "q", "plot"}
    assert len(dashboard["layout"]["rows"]) == 1
    copies = {b["name"]: b["id"] for b in dashboard["blocks"]}
    assert call("dashboard_block_data", dashboard_id=saved["id"], block_id=copies["q"])["rows"] == [
        {"region": "b", "v": 2}
    ]
    assert call("dashboard_get", dashboard_id=conv)["dashboard"]["saved_as"] == saved["id"]
    assert saved["id"] in {d["id"] for d in call("dashboard_list")["dashboards"]}
    assert ids["q"] not in copies.values()


def test_messages_only_go_to_conversations(call: ToolClient, board: str) -> None:
    with pytest.raises(InvalidRequest):
        call("conversation_add_message", conversation_id=board, role="user", content="hi")
    with pytest.raises(InvalidRequest):
        call("dashboard_save_conversation", conversation_id=board, title="x")
    conv = call("conversation_create")["conversation"]["id"]
    with pytest.raises(InvalidRequest):
        call("conversation_add_message", conversation_id=conv, role="robot", content="hi")


# ----------------------------------------------------------------------------- refresh settings


@pytest.mark.parametrize("interval", [300, 900, 3600, 86400])
def test_refresh_interval_accepts_the_four_intervals(call: ToolClient, board: str, interval: int) -> None:
    answer = call("dashboard_set_refresh", dashboard_id=board, refreshEnabled=True, refreshInterval=interval)
    assert answer["refreshEnabled"] is True and answer["refreshInterval"] == interval
    assert call("dashboard_get_refresh", dashboard_id=board)["refreshInterval"] == interval


@pytest.mark.parametrize("interval", [0, 60, 301, 1800, 7200, -300, "300", 300.5, True])
def test_refresh_interval_refuses_anything_else(
    call: ToolClient, ws: Workspace, board: str, interval: Any
) -> None:
    before = call("dashboard_get_refresh", dashboard_id=board)
    with pytest.raises(InvalidRequest):
        call("dashboard_set_refresh", dashboard_id=board, refreshEnabled=True, refreshInterval=interval)
    assert call("dashboard_get_refresh", dashboard_id=board) == before
    assert [e["action"] for e in _audit(ws, board)] == ["create"]


def test_refresh_reruns_displayed_blocks_and_their_upstreams(call: ToolClient, board: str) -> None:
    ids = _populate(call, board)
    call(
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="hidden",
        config={"sql": "SELECT 1 AS one"},
    )
    answer = call("dashboard_refresh", dashboard_id=board)
    assert set(answer["cascade"]["ran"]) == {ids["region"], ids["q"], ids["plot"]}
    assert answer["lastRefreshedAt"]
    assert call("dashboard_get_refresh", dashboard_id=board)["lastRefreshedAt"] == answer["lastRefreshedAt"]


def test_cloning_a_board_whose_blocks_share_an_output_file(call: Any, board: str) -> None:
    call("dashboard_add_block", dashboard_id=board, type="sql", name="base", config={"sql": "select 1 as v"})
    call("dashboard_add_block", dashboard_id=board, type="table", name="first", config={"source": "base"})
    call("dashboard_add_block", dashboard_id=board, type="table", name="second", config={"source": "base"})
    clone = call("dashboard_clone", dashboard_id=board)["dashboard"]["id"]
    blocks = call("dashboard_get", dashboard_id=clone)["dashboard"]["blocks"]
    for block in blocks:
        assert call("dashboard_block_data", dashboard_id=clone, block_id=block["id"])["rows"] == [{"v": 1}]
