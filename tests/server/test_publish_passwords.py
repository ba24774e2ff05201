"""Publishing over real HTTP (CONTRACT 8): passwords kept, removed or replaced; protected links; bad input."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.server.conftest import Api
from tests.server.public_pages import browser_session, fetch, open_protected, page_url
from tests.server.test_api import assert_error
from tests.server.test_public import DASHBOARDS, PUBLIC, build_board, publish

PASSWORD = "first-pass-1234"
TITLE = "Regional Sales"


async def plain_board(api: Api) -> tuple[str, str]:
    """A new user's token and an empty board of theirs titled `TITLE`."""
    token = api.token("alice")
    board = (await api.ok("dashboard_create", token, title=TITLE))["dashboard"]["id"]
    return token, board


async def publish_with(api: Api, token: str, board: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST the seed's publish route with `body`, which must succeed."""
    status, answer = await api.request("POST", f"{DASHBOARDS}/{board}/publish", token, json=body)
    assert status == 200, answer
    return answer


async def dashboard(api: Api, token: str, board: str) -> dict[str, Any]:
    got: dict[str, Any] = (await api.ok("dashboard_get", token, dashboard_id=board))["dashboard"]
    return got


async def public_status(api: Api, slug: str, password: str | None = None) -> int:
    """The public JSON answer's status for `slug`, with `password` if given."""
    body = {"password": password} if password is not None else None
    status, _ = await api.request("POST", f"{PUBLIC}/{slug}", json=body)
    return status


async def test_publishing_again_without_a_password_keeps_the_board_protected(api: Api) -> None:
    token, board = await plain_board(api)
    slug = (await publish_with(api, token, board, {"password": PASSWORD}))["slug"]
    assert (await publish_with(api, token, board, {}))["slug"] == slug  # the seed's route
    assert (await api.ok("dashboard_publish", token, dashboard_id=board))["slug"] == slug  # the tool door
    assert (await dashboard(api, token, board))["passwordProtected"] is True
    assert await public_status(api, slug) == 403
    assert await public_status(api, slug, PASSWORD) == 200


@pytest.mark.parametrize("removal", [None, ""], ids=["null", "empty"])
async def test_a_null_or_empty_password_opens_the_board(api: Api, removal: str | None) -> None:
    token, board = await plain_board(api)
    slug = (await publish_with(api, token, board, {"password": PASSWORD}))["slug"]
    assert await public_status(api, slug) == 403
    answer = await publish_with(api, token, board, {"password": removal})
    assert answer["slug"] == slug
    assert (await dashboard(api, token, board))["passwordProtected"] is False
    status, body = await api.request("POST", f"{PUBLIC}/{slug}")
    assert status == 200, body
    assert body["dashboard"]["title"] == TITLE


async def test_a_protected_link_tells_nothing_and_the_open_one_stops_working(api: Api) -> None:
    token, board = await plain_board(api)
    open_slug = (await publish_with(api, token, board, {}))["slug"]
    assert open_slug.startswith("regional-sales-")
    assert await public_status(api, open_slug) == 200
    answer = await publish_with(api, token, board, {"password": PASSWORD})
    slug = answer["slug"]
    assert re.fullmatch(r"[0-9a-z]{20}", slug), slug
    assert "regional" not in slug and "sales" not in slug
    assert answer["publicUrl"].endswith(f"/public/dashboards/{slug}")
    status, body = await api.request("POST", f"{PUBLIC}/{open_slug}")
    assert_error(status, body, 404, "not_found")
    async with browser_session() as http:
        old_page = await fetch(http, page_url(api, open_slug))
        new_page = await fetch(http, page_url(api, slug))
    assert old_page.status == 404
    assert new_page.status == 200 and new_page.forms
    assert TITLE.lower() not in new_page.text.lower()


async def test_an_access_cookie_survives_a_publish_that_keeps_the_password_but_not_a_new_one(
    api: Api,
) -> None:
    board = await build_board(api, api.token("alice"), title=TITLE)
    slug = await publish(api, board, PASSWORD)
    async with browser_session() as http:
        assert (await open_protected(api, http, slug, PASSWORD)).status == 303
        assert "<svg" in (await fetch(http, page_url(api, slug))).body
        await publish_with(api, board.token, board.id, {})  # keeps the password: the cookie still opens it
        assert "<svg" in (await fetch(http, page_url(api, slug))).body
        await publish_with(api, board.token, board.id, {"password": "second-pass-5678"})
        again = await fetch(http, page_url(api, slug))
        assert again.status == 200 and again.forms and "<svg" not in again.body
        assert (await open_protected(api, http, slug, PASSWORD)).status == 403  # the old password is gone
        assert (await open_protected(api, http, slug, "second-pass-5678")).status == 303
        assert "<svg" in (await fetch(http, page_url(api, slug))).body


BAD_PASSWORDS: list[object] = ["x" * 1025, 12, True, ["pw"], {"value": "pw"}]


@pytest.mark.parametrize("door", ["seed", "tool"])
@pytest.mark.parametrize("password", BAD_PASSWORDS, ids=["too-long", "int", "bool", "list", "object"])
async def test_bad_publish_input_is_a_400_and_changes_nothing(api: Api, door: str, password: object) -> None:
    token, board = await plain_board(api)
    slug = (await publish_with(api, token, board, {"password": PASSWORD}))["slug"]
    before = await dashboard(api, token, board)
    if door == "seed":
        status, body = await api.request(
            "POST", f"{DASHBOARDS}/{board}/publish", token, json={"password": password}
        )
    else:
        status, body = await api.call("dashboard_publish", token, dashboard_id=board, password=password)
    assert_error(status, body, 400, "invalid_request")
    after = await dashboard(api, token, board)
    keys = ("slug", "publicUrl", "visibility", "passwordProtected")
    assert {k: after[k] for k in keys} == {k: before[k] for k in keys}
    assert await public_status(api, slug) == 403
    assert await public_status(api, slug, PASSWORD) == 200
    audit = (await api.ok("dashboard_audit", token, dashboard_id=board))["events"]
    assert [e["action"] for e in audit].count("publish") == 1
