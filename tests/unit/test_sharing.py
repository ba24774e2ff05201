"""Sharing tools: publish and unpublish, passwords, visibility, grants and transfer."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ballast_tui.engine.errors import Forbidden, InvalidRequest, NotFound
from ballast_tui.engine.hashing import verify_secret
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage import repos
from tests.conftest import ToolClient

PASSWORD = "correct-horse-battery-staple-7731"


def _db_bytes(ws: Workspace) -> bytes:
    """Everything SQLite has written for the workspace: the database and its write-ahead log."""
    return b"".join(
        path.read_bytes() for path in (ws.paths.db, ws.paths.db.with_name("ballast.db-wal")) if path.exists()
    )


def _board(call: ToolClient, board: str) -> dict[str, Any]:
    dashboard: dict[str, Any] = call("dashboard_get", dashboard_id=board)["dashboard"]
    return dashboard


def test_publish_answers_a_slug_and_public_url(call: ToolClient, ws: Workspace) -> None:
    board = call("dashboard_create", title="Q3 Revenue — Europe!")["dashboard"]["id"]
    answer = call("dashboard_publish", dashboard_id=board)
    assert re.fullmatch(r"q3-revenue-europe-[0-9a-z]{12,}", answer["slug"])
    assert answer["publicUrl"].endswith(f"/public/dashboards/{answer['slug']}")
    dashboard = _board(call, board)
    assert dashboard["visibility"] == "link_view"
    assert dashboard["isPublic"] is True
    assert dashboard["slug"] == answer["slug"]
    assert repos.board_by_slug(ws.db, answer["slug"])["id"] == board  # type: ignore[index]
    events = call("dashboard_audit", dashboard_id=board)["events"]
    assert events[0]["action"] == "publish"


def test_republishing_keeps_the_slug(call: ToolClient, board: str) -> None:
    first = call("dashboard_publish", dashboard_id=board)["slug"]
    assert call("dashboard_publish", dashboard_id=board)["slug"] == first


def test_a_title_without_letters_still_gets_a_slug(call: ToolClient) -> None:
    board = call("dashboard_create", title="📈 ✓")["dashboard"]["id"]
    slug = call("dashboard_publish", dashboard_id=board)["slug"]
    assert re.fullmatch(r"[a-z0-9-]+-[0-9a-z]{12,}", slug)


def test_password_is_stored_only_as_a_scrypt_hash(call: ToolClient, ws: Workspace, board: str) -> None:
    call("dashboard_publish", dashboard_id=board, password=PASSWORD)
    row = repos.board(ws.db, board)
    assert row is not None
    assert row["password_hash"].startswith("scrypt$")
    assert verify_secret(PASSWORD, row["password_hash"])
    assert not verify_secret("wrong", row["password_hash"])
    assert _board(call, board)["passwordProtected"] is True
    assert PASSWORD.encode() not in _db_bytes(ws)
    audit = call("dashboard_audit", dashboard_id=board)["events"]
    assert PASSWORD not in repr(audit)
    assert audit[0]["details"]["password_protected"] is True


def test_publishing_again_without_a_password_removes_it(call: ToolClient, ws: Workspace, board: str) -> None:
    call("dashboard_publish", dashboard_id=board, password=PASSWORD)
    call("dashboard_publish", dashboard_id=board)
    assert repos.board(ws.db, board)["password_hash"] is None  # type: ignore[index]


def test_empty_password_is_refused(call: ToolClient, board: str) -> None:
    with pytest.raises(InvalidRequest):
        call("dashboard_publish", dashboard_id=board, password="")
    assert _board(call, board)["visibility"] == "private"


def test_unpublish_makes_the_board_private_and_forgets_the_slug(
    call: ToolClient, ws: Workspace, board: str
) -> None:
    slug = call("dashboard_publish", dashboard_id=board, password=PASSWORD)["slug"]
    answer = call("dashboard_unpublish", dashboard_id=board)
    assert answer["slug"] is None and answer["publicUrl"] is None
    dashboard = _board(call, board)
    assert dashboard["visibility"] == "private"
    assert dashboard["slug"] is None
    assert dashboard["publicUrl"] is None
    assert dashboard["passwordProtected"] is False
    assert repos.board_by_slug(ws.db, slug) is None
    # Publishing again makes a new link: the old one stays dead.
    assert call("dashboard_publish", dashboard_id=board)["slug"] != slug


def test_set_visibility(call: ToolClient, board: str) -> None:
    answer = call("dashboard_set_visibility", dashboard_id=board, visibility="link_view")
    assert answer["visibility"] == "link_view"
    assert answer["slug"]
    assert _board(call, board)["visibility"] == "link_view"
    assert (
        call("dashboard_set_visibility", dashboard_id=board, visibility="private")["visibility"] == "private"
    )
    assert _board(call, board)["visibility"] == "private"
    with pytest.raises(InvalidRequest):
        call("dashboard_set_visibility", dashboard_id=board, visibility="public")


def test_set_visibility_link_view_keeps_the_password(call: ToolClient, ws: Workspace, board: str) -> None:
    call("dashboard_publish", dashboard_id=board, password=PASSWORD)
    call("dashboard_set_visibility", dashboard_id=board, visibility="link_view")
    assert verify_secret(PASSWORD, repos.board(ws.db, board)["password_hash"])  # type: ignore[index]


@pytest.mark.parametrize(("role", "can_edit"), [("editor", True), ("viewer", False)])
def test_grant_gives_a_role_and_none_revokes_it(
    call: ToolClient, board: str, make_client: Any, role: str, can_edit: bool
) -> None:
    other = make_client("grace")
    with pytest.raises(Forbidden):
        other("dashboard_get", dashboard_id=board)
    grants = call("dashboard_grant", dashboard_id=board, user="grace", role=role)["grants"]
    assert [(g["name"], g["role"]) for g in grants] == [("grace", role)]
    assert other("dashboard_get", dashboard_id=board)["dashboard"]["role"] == role
    if can_edit:
        other("dashboard_add_block", dashboard_id=board, type="markdown", config={"text": "x"})
    else:
        with pytest.raises(Forbidden):
            other("dashboard_add_block", dashboard_id=board, type="markdown", config={"text": "x"})
    assert call("dashboard_grant", dashboard_id=board, user="grace", role="none")["grants"] == []
    with pytest.raises(Forbidden):
        other("dashboard_get", dashboard_id=board)
    actions = [e["action"] for e in call("dashboard_audit", dashboard_id=board)["events"]]
    assert actions.count("grant") == 2


def test_grant_changes_an_existing_role(call: ToolClient, board: str, make_client: Any) -> None:
    other = make_client("grace")
    call("dashboard_grant", dashboard_id=board, user="grace", role="viewer")
    call("dashboard_grant", dashboard_id=board, user=other.user.id, role="editor")  # by id works too
    assert other("dashboard_get", dashboard_id=board)["dashboard"]["role"] == "editor"


def test_grant_refusals(call: ToolClient, board: str, owner: Any) -> None:
    with pytest.raises(NotFound):
        call("dashboard_grant", dashboard_id=board, user="nobody", role="viewer")
    with pytest.raises(InvalidRequest):
        call("dashboard_grant", dashboard_id=board, user=owner.name, role="viewer")
    with pytest.raises(InvalidRequest):
        call("dashboard_grant", dashboard_id=board, user=owner.name, role="owner")


def test_transfer_makes_a_new_owner_and_keeps_the_old_one_as_editor(
    call: ToolClient, board: str, make_client: Any, owner: Any
) -> None:
    heir = make_client("heir")
    answer = call("dashboard_transfer", dashboard_id=board, user="heir")
    assert answer["owner"]["name"] == "heir"
    assert heir("dashboard_get", dashboard_id=board)["dashboard"]["role"] == "owner"
    assert heir("dashboard_get", dashboard_id=board)["dashboard"]["owner_id"] == heir.user.id
    assert _board(call, board)["role"] == "editor"
    with pytest.raises(Forbidden):
        call("dashboard_publish", dashboard_id=board)
    call("dashboard_add_block", dashboard_id=board, type="markdown", config={"text": "still editing"})
    grants = {
        g["name"]: g["role"]
        for g in heir("dashboard_grant", dashboard_id=board, user=owner.name, role="viewer")["grants"]
    }
    assert grants == {owner.name: "viewer"}  # the new owner holds no grant row of its own


def test_transfer_to_a_viewer_drops_the_viewer_grant(
    call: ToolClient, ws: Workspace, board: str, make_client: Any
) -> None:
    heir = make_client("heir")
    call("dashboard_grant", dashboard_id=board, user="heir", role="viewer")
    call("dashboard_transfer", dashboard_id=board, user="heir")
    assert heir("dashboard_get", dashboard_id=board)["dashboard"]["role"] == "owner"
    assert [(g["name"], g["role"]) for g in repos.grants(ws.db, board)] == [(call.user.name, "editor")]
    assert [(d["id"], d["role"]) for d in heir("dashboard_list")["dashboards"]] == [(board, "owner")]


def test_transfer_refusals(call: ToolClient, board: str, owner: Any) -> None:
    with pytest.raises(NotFound):
        call("dashboard_transfer", dashboard_id=board, user="nobody")
    with pytest.raises(InvalidRequest):
        call("dashboard_transfer", dashboard_id=board, user=owner.name)


SHARING_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("dashboard_publish", {}),
    ("dashboard_publish", {"password": PASSWORD}),
    ("dashboard_unpublish", {}),
    ("dashboard_set_visibility", {"visibility": "link_view"}),
    ("dashboard_set_visibility", {"visibility": "private"}),
    ("dashboard_grant", {"user": "vera", "role": "editor"}),
    ("dashboard_grant", {"user": "outsider", "role": "viewer"}),
    ("dashboard_transfer", {"user": "vera"}),
]


@pytest.mark.parametrize("role", ["viewer", "editor"])
@pytest.mark.parametrize(("tool", "arguments"), SHARING_CALLS)
def test_only_the_owner_shares(
    call: ToolClient,
    ws: Workspace,
    board: str,
    make_client: Any,
    role: str,
    tool: str,
    arguments: dict[str, Any],
) -> None:
    other = make_client("vera")
    make_client("outsider")
    call("dashboard_publish", dashboard_id=board)
    call("dashboard_grant", dashboard_id=board, user="vera", role=role)
    before = repos.board(ws.db, board), repos.grants(ws.db, board)
    with pytest.raises(Forbidden):
        other(tool, dashboard_id=board, **arguments)
    assert (repos.board(ws.db, board), repos.grants(ws.db, board)) == before
