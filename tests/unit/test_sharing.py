"""Sharing tools: publish and unpublish, passwords, visibility, grants and transfer."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ballast_tui.engine.errors import Forbidden, InvalidRequest, NotFound
from ballast_tui.engine.events import BoardChanged
from ballast_tui.engine.hashing import hash_secret, verify_secret
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


# -- passwords and slugs (CONTRACT 8) ------------------------------------------------


def _row(ws: Workspace, board: str) -> dict[str, Any]:
    row = repos.board(ws.db, board)
    assert row is not None
    return row


def _publishes(call: ToolClient, board: str) -> list[dict[str, Any]]:
    """The details of the board's `publish` audit events, oldest first."""
    events = call("dashboard_audit", dashboard_id=board)["events"]
    return [e["details"] for e in reversed(events) if e["action"] == "publish"]


def test_publishing_again_without_a_password_keeps_it(call: ToolClient, ws: Workspace, board: str) -> None:
    slug = call("dashboard_publish", dashboard_id=board, password=PASSWORD)["slug"]
    before = _row(ws, board)
    assert call("dashboard_publish", dashboard_id=board)["slug"] == slug
    after = _row(ws, board)
    assert verify_secret(PASSWORD, after["password_hash"])
    assert after["password_version"] == before["password_version"]  # access already given still works
    assert _board(call, board)["passwordProtected"] is True
    assert _publishes(call, board)[-1]["password"] == "kept"


@pytest.mark.parametrize("removal", [None, ""])
def test_a_null_or_empty_password_removes_it(
    call: ToolClient, ws: Workspace, board: str, removal: str | None
) -> None:
    slug = call("dashboard_publish", dashboard_id=board, password=PASSWORD)["slug"]
    version = _row(ws, board)["password_version"]
    answer = call("dashboard_publish", dashboard_id=board, password=removal)
    row = _row(ws, board)
    assert row["password_hash"] is None
    assert row["password_version"] == version + 1
    assert _board(call, board)["passwordProtected"] is False
    assert answer["slug"] == slug  # the link people were given keeps working, now without a password
    assert call("public_board_view", slug=slug)["board"]["title"] == "Test board"
    assert _publishes(call, board)[-1] == {"slug": slug, "password_protected": False, "password": "removed"}


def test_a_protected_slug_is_20_random_base36_characters_with_no_word_of_the_title(
    call: ToolClient,
) -> None:
    title = "Quarterly Revenue Europe"
    slugs = set()
    for _ in range(5):
        board = call("dashboard_create", title=title)["dashboard"]["id"]
        slug = call("dashboard_publish", dashboard_id=board, password=PASSWORD)["slug"]
        assert re.fullmatch(r"[0-9a-z]{20}", slug), slug
        assert not any(word in slug for word in title.lower().split())
        slugs.add(slug)
    assert len(slugs) == 5


def test_protecting_an_open_board_gives_it_a_new_link_and_the_old_one_stops_working(
    call: ToolClient, ws: Workspace, board: str
) -> None:
    open_slug = call("dashboard_publish", dashboard_id=board)["slug"]
    assert open_slug.startswith("test-board-")
    answer = call("dashboard_publish", dashboard_id=board, password=PASSWORD)
    assert re.fullmatch(r"[0-9a-z]{20}", answer["slug"])
    assert answer["publicUrl"].endswith(f"/public/dashboards/{answer['slug']}")
    assert repos.board_by_slug(ws.db, open_slug) is None
    with pytest.raises(NotFound):
        call("public_board_view", slug=open_slug)
    assert _publishes(call, board)[-1] == {
        "slug": answer["slug"],
        "password_protected": True,
        "password": "set",
        "previous_slug": open_slug,
    }


def test_a_new_password_keeps_the_protected_link_and_voids_earlier_access(
    call: ToolClient, ws: Workspace, board: str
) -> None:
    slug = call("dashboard_publish", dashboard_id=board, password=PASSWORD)["slug"]
    version = _row(ws, board)["password_version"]
    assert call("dashboard_publish", dashboard_id=board, password="another-one")["slug"] == slug
    row = _row(ws, board)
    assert verify_secret("another-one", row["password_hash"])
    assert not verify_secret(PASSWORD, row["password_hash"])
    assert row["password_version"] == version + 1  # signs access cookies: old ones stop matching


def test_a_protected_board_with_a_title_slug_gets_a_random_one_when_published_again(
    call: ToolClient, ws: Workspace, board: str
) -> None:
    # As an earlier version left it: protected, under its title.
    old = call("dashboard_publish", dashboard_id=board)["slug"]
    with ws.db.write() as tx:
        repos.update_board(tx, board, password_hash=hash_secret(PASSWORD))
    slug = call("dashboard_publish", dashboard_id=board)["slug"]
    assert re.fullmatch(r"[0-9a-z]{20}", slug) and slug != old
    assert verify_secret(PASSWORD, _row(ws, board)["password_hash"])


def test_every_publish_is_announced_with_its_slug(call: ToolClient, ws: Workspace, board: str) -> None:
    seen: list[BoardChanged] = []
    unsubscribe = ws.bus.subscribe(board, lambda e: seen.append(e) if isinstance(e, BoardChanged) else None)
    try:
        answers = [
            call("dashboard_publish", dashboard_id=board),
            call("dashboard_publish", dashboard_id=board, password=PASSWORD),
            call("dashboard_publish", dashboard_id=board),
            call("dashboard_publish", dashboard_id=board, password=None),
        ]
    finally:
        unsubscribe()
    assert [(e.change, e.visibility, e.slug) for e in seen] == [
        ("visibility", "link_view", a["slug"]) for a in answers
    ]
    assert [d["password"] for d in _publishes(call, board)] == ["kept", "set", "kept", "removed"]


@pytest.mark.parametrize(
    "password",
    ["x" * 1025, 12, True, ["pw"], {"value": "pw"}],
    ids=["too-long", "int", "bool", "list", "object"],
)
def test_bad_passwords_are_refused_and_change_nothing(
    call: ToolClient, ws: Workspace, board: str, password: object
) -> None:
    call("dashboard_publish", dashboard_id=board, password=PASSWORD)
    before = _row(ws, board)
    with pytest.raises(InvalidRequest):
        call.raw("dashboard_publish", {"dashboard_id": board, "password": password})
    assert _row(ws, board) == before
    assert len(_publishes(call, board)) == 1


def test_a_password_of_1024_characters_is_accepted(call: ToolClient, ws: Workspace, board: str) -> None:
    call("dashboard_publish", dashboard_id=board, password="p" * 1024)
    assert verify_secret("p" * 1024, _row(ws, board)["password_hash"])


def test_unpublish_takes_no_password_not_even_null(call: ToolClient, board: str) -> None:
    call("dashboard_publish", dashboard_id=board)
    for password in (None, "", PASSWORD):
        with pytest.raises(InvalidRequest):
            call("dashboard_unpublish", dashboard_id=board, password=password)
    assert _board(call, board)["visibility"] == "link_view"


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
    slug = call("dashboard_publish", dashboard_id=board, password=PASSWORD)["slug"]
    assert call("dashboard_set_visibility", dashboard_id=board, visibility="link_view")["slug"] == slug
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
