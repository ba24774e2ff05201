"""Users and their API tokens."""

from __future__ import annotations

import os
import pwd

import pytest

from ballast_tui.engine.errors import ToolError, Unauthorized
from ballast_tui.engine.hashing import hash_secret
from ballast_tui.engine.users import User, Users
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage.db import Database


def _db_bytes(ws: Workspace) -> bytes:
    return b"".join(
        path.read_bytes() for path in (ws.paths.db, ws.paths.db.with_name("ballast.db-wal")) if path.exists()
    )


def test_the_first_user_is_an_admin_and_later_ones_are_not(ws: Workspace, owner: User) -> None:
    assert owner.is_admin
    assert ws.users.local() == owner  # the same OS user gets the same account
    second, _ = ws.users.create("second")
    assert not second.is_admin
    admin, _ = ws.users.create("boss", admin=True)
    assert admin.is_admin


def test_first_user_created_explicitly_is_an_admin(ws: Workspace) -> None:
    first, _ = ws.users.create("alice", "agent")
    assert first.is_admin
    assert first.kind == "agent"


def test_tokens_are_stored_only_as_keyed_hashes(ws: Workspace, owner: User) -> None:
    user, token = ws.users.create("tess")
    extra = ws.users.add_token(user.id)
    assert token.startswith("blt_") and extra.startswith("blt_") and token != extra
    stored = ws.db.rows("SELECT hash, scheme FROM tokens WHERE user_id = ?", [user.id])
    assert len(stored) == 2
    assert all(row["scheme"] == "hmac" and len(row["hash"]) == 64 for row in stored)
    data = _db_bytes(ws)
    for secret in (token, extra):
        assert secret.encode() not in data
        assert secret.split("_", 2)[2].encode() not in data


def test_authenticate_with_the_right_token(ws: Workspace, owner: User) -> None:
    user, token = ws.users.create("tess", "agent")
    assert ws.users.authenticate(token) == user
    assert ws.users.authenticate(token) == user  # again, from the verified cache
    extra = ws.users.add_token(user.id)
    assert ws.users.authenticate(extra) == user


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # wrong secret
        lambda t: "blt_" + "0" * 12 + "_" + t.split("_", 2)[2],  # unknown token id
        lambda t: t.replace("blt_", "xyz_", 1),  # wrong prefix
        lambda t: "blt_nosecret",  # malformed
        lambda t: "",  # empty
        lambda t: "Bearer " + t,  # the header, not the token
        lambda t: t + " ",
    ],
    ids=["wrong-secret", "unknown-id", "wrong-prefix", "malformed", "empty", "with-bearer", "trailing-space"],
)
def test_wrong_or_malformed_tokens_are_unauthorized(ws: Workspace, owner: User, mangle: object) -> None:
    _user, token = ws.users.create("tess")
    with pytest.raises(Unauthorized) as refused:
        ws.users.authenticate(mangle(token))  # type: ignore[operator]
    assert refused.value.status == 401


def test_missing_token_is_unauthorized(ws: Workspace) -> None:
    with pytest.raises(Unauthorized):
        ws.users.authenticate(None)


def test_a_token_of_one_user_is_not_another_users(ws: Workspace, owner: User) -> None:
    alice, alice_token = ws.users.create("alice")
    bob, bob_token = ws.users.create("bob")
    assert ws.users.authenticate(alice_token) == alice
    assert ws.users.authenticate(bob_token) == bob
    forged = "blt_" + alice_token.split("_", 2)[1] + "_" + bob_token.split("_", 2)[2]
    with pytest.raises(Unauthorized):
        ws.users.authenticate(forged)


def test_duplicate_user_name_is_refused(ws: Workspace, owner: User) -> None:
    ws.users.create("dupe")
    with pytest.raises(ToolError) as refused:
        ws.users.create("dupe", "agent")
    assert refused.value.code == "conflict"
    assert ws.db.row("SELECT count(*) AS n FROM users WHERE name = 'dupe'")["n"] == 1  # type: ignore[index]


@pytest.mark.parametrize("name", ["", "   ", "has space", "semi;colon", "x" * 65, "slash/name"])
def test_invalid_user_names_are_refused(ws: Workspace, name: str) -> None:
    with pytest.raises(ToolError) as refused:
        ws.users.create(name)
    assert refused.value.code == "invalid_request"
    assert ws.users.count() == 0


def test_user_kind_must_be_human_or_agent(ws: Workspace) -> None:
    with pytest.raises(ToolError):
        ws.users.create("robot", "robot")
    assert ws.users.count() == 0


def test_find_by_name_or_id(ws: Workspace, owner: User) -> None:
    user, _ = ws.users.create("findme")
    assert ws.users.find("findme") == user
    assert ws.users.find(user.id) == user
    with pytest.raises(ToolError) as refused:
        ws.users.find("ghost")
    assert refused.value.code == "not_found"


def test_a_revoked_token_is_refused_and_others_keep_working(ws: Workspace, owner: User) -> None:
    user, first = ws.users.create("tess")
    second = ws.users.add_token(user.id, "laptop")
    assert ws.users.authenticate(first) == user  # remembered from now on
    ws.users.revoke(first)
    with pytest.raises(Unauthorized):
        ws.users.authenticate(first)
    assert ws.users.authenticate(second) == user
    listed = ws.users.tokens.of_user(user.id)
    assert [t["revoked_at"] is not None for t in listed].count(True) == 1
    assert {t["name"] for t in listed} == {None, "laptop"}


def test_another_process_revoking_a_token_is_seen_at_the_next_watch(ws: Workspace, owner: User) -> None:
    user, token = ws.users.create("tess")
    ws.users.watch()
    assert ws.users.identify(token).user == user
    assert ws.users.identify_cached(token) is not None  # served from memory, no I/O
    other = Users(Database(ws.paths.db), lambda: ws.secret)  # what a second `ballast` opens
    try:
        other.revoke(token)
    finally:
        other.db.close()
    assert ws.users.watch() is True
    assert ws.users.identify_cached(token) is None
    with pytest.raises(Unauthorized):
        ws.users.identify(token)


def test_a_token_made_before_the_upgrade_works_and_is_rehashed_on_first_use(
    ws: Workspace, owner: User
) -> None:
    user, token = ws.users.create("tess")
    token_id, secret = token.split("_", 2)[1:]
    with ws.db.write() as tx:  # as an earlier release stored it: a scrypt hash
        tx.execute(
            "UPDATE tokens SET hash = ?, scheme = 'scrypt' WHERE id = ?", [hash_secret(secret), token_id]
        )
    ws.users.forget()
    assert ws.users.authenticate(token) == user
    row = ws.db.row("SELECT scheme FROM tokens WHERE id = ?", [token_id])
    assert row is not None and row["scheme"] == "hmac"
    ws.users.forget()
    assert ws.users.authenticate(token) == user


def test_a_removed_users_tokens_stop_working_and_the_last_admin_stays(ws: Workspace, owner: User) -> None:
    user, token = ws.users.create("tess")
    ws.users.remove(user)
    with pytest.raises(Unauthorized):
        ws.users.authenticate(token)
    with pytest.raises(ToolError) as refused:
        ws.users.find("tess")
    assert refused.value.code == "not_found"
    with pytest.raises(ToolError) as last:
        ws.users.remove(owner)
    assert last.value.code == "conflict"
    assert ws.users.authenticate(ws.users.add_token(owner.id)) == owner


def test_the_local_account_is_the_real_uids_passwd_name(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("LOGNAME", "mallory")
    assert ws.users.local().name == pwd.getpwuid(os.getuid()).pw_name
