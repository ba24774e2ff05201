"""The seed's REST routes against a real server, with the seed's own request and response bodies."""

from __future__ import annotations

from typing import Any

import pytest

from ballast_tui.config import Settings
from tests.server.conftest import Api, ServeFactory
from tests.server.test_api import assert_error

DASHBOARDS = "/api/v1/analytics/dashboards"


async def make_conversation(api: Api, token: str, title: str = "Chat about revenue") -> str:
    body = await api.ok("conversation_create", token, title=title)
    return str(body["conversation"]["id"])


async def make_dashboard(api: Api, token: str, title: str = "Q3 Revenue Dashboard") -> str:
    body = await api.ok("dashboard_create", token, title=title)
    return str(body["dashboard"]["id"])


async def seed(
    api: Api, method: str, path: str, token: str | None, json: Any = None
) -> tuple[int, dict[str, Any]]:
    return await api.request(method, path, token, json=json)


# -- POST /analytics/dashboards ------------------------------------------------------


async def test_save_conversation_answers_the_seeds_dashboard(api: Api) -> None:
    token = api.token("alice")
    conversation = await make_conversation(api, token)
    await api.ok(
        "dashboard_add_block",
        token,
        dashboard_id=conversation,
        type="sql",
        name="q",
        config={"sql": "select 1 as one"},
    )
    status, body = await seed(
        api, "POST", DASHBOARDS, token, {"conversationId": conversation, "title": "Q3 Revenue Dashboard"}
    )
    assert status == 200, body
    assert body["success"] is True
    dashboard = body["dashboard"]
    assert dashboard["id"].startswith("dash_")
    assert dashboard["title"] == "Q3 Revenue Dashboard"
    assert dashboard["createdAt"].endswith("Z")
    got = await api.ok("dashboard_get", token, dashboard_id=dashboard["id"])
    assert [b["name"] for b in got["dashboard"]["blocks"]] == ["q"]


@pytest.mark.parametrize(
    "body",
    [
        {"conversationId": "CONV", "title": "T", "colour": "red"},  # an unknown field
        {"conversation_id": "CONV", "title": "T"},  # the tool's name, not the seed's
        {"conversationId": "CONV"},  # a missing field
        {"title": "T"},
        {"conversationId": "CONV", "title": ""},  # a bad value
        {"conversationId": 42, "title": "T"},
    ],
)
async def test_save_refuses_a_body_other_than_the_seeds(api: Api, body: dict[str, Any]) -> None:
    token = api.token("alice")
    conversation = await make_conversation(api, token)
    sent = {k: conversation if v == "CONV" else v for k, v in body.items()}
    status, answer = await seed(api, "POST", DASHBOARDS, token, sent)
    assert_error(status, answer, 400, "invalid_request")


async def test_save_of_a_dashboard_or_unknown_board(api: Api) -> None:
    token = api.token("alice")
    dashboard = await make_dashboard(api, token)
    status, body = await seed(api, "POST", DASHBOARDS, token, {"conversationId": dashboard, "title": "T"})
    assert_error(status, body, 400, "invalid_request")
    status, body = await seed(
        api, "POST", DASHBOARDS, token, {"conversationId": "conv_000000000000", "title": "T"}
    )
    assert_error(status, body, 404, "not_found")


# -- GET /analytics/dashboards -------------------------------------------------------


async def test_list_answers_the_seeds_fields_and_conversations_on_request(api: Api) -> None:
    token = api.token("alice")
    dashboard = await make_dashboard(api, token)
    conversation = await make_conversation(api, token)
    status, body = await seed(api, "GET", DASHBOARDS, token)
    assert status == 200, body
    assert body["success"] is True
    assert [d["id"] for d in body["dashboards"]] == [dashboard]
    listed = body["dashboards"][0]
    assert listed["title"] == "Q3 Revenue Dashboard"
    assert listed["isDashboard"] is True
    assert listed["isPublic"] is False
    assert listed["createdAt"]
    status, body = await seed(api, "GET", f"{DASHBOARDS}?include=conversations", token)
    assert status == 200, body
    kinds = {d["id"]: d["isDashboard"] for d in body["dashboards"]}
    assert kinds == {dashboard: True, conversation: False}


async def test_list_shows_only_what_the_caller_may_see(api: Api) -> None:
    alice, bob = api.token("alice"), api.token("bob")
    mine = await make_dashboard(api, alice, "Mine")
    shared = await make_dashboard(api, alice, "Shared")
    await api.ok("dashboard_grant", alice, dashboard_id=shared, user="bob", role="viewer")
    _, body = await seed(api, "GET", DASHBOARDS, bob)
    assert [d["id"] for d in body["dashboards"]] == [shared]
    _, body = await seed(api, "GET", DASHBOARDS, alice)
    assert {d["id"] for d in body["dashboards"]} == {mine, shared}


@pytest.mark.parametrize("query", ["?include=everything", "?colour=red", "?include=conversations&x=1"])
async def test_list_refuses_unknown_query_parameters(api: Api, query: str) -> None:
    status, body = await seed(api, "GET", DASHBOARDS + query, api.token("alice"))
    assert_error(status, body, 400, "invalid_request")


# -- publish / unpublish ---------------------------------------------------------------


async def test_publish_answers_slug_and_the_servers_own_public_url(api: Api) -> None:
    token = api.token("alice")
    dashboard = await make_dashboard(api, token)
    status, body = await seed(api, "POST", f"{DASHBOARDS}/{dashboard}/publish", token)
    assert status == 200, body
    assert body["success"] is True
    slug = body["slug"]
    assert slug.startswith("q3-revenue-dashboard-") and len(slug.rsplit("-", 1)[1]) >= 12
    assert body["publicUrl"] == f"{api.base}/public/dashboards/{slug}"
    _, listed = await seed(api, "GET", DASHBOARDS, token)
    assert listed["dashboards"][0]["isPublic"] is True
    assert listed["dashboards"][0]["publicUrl"] == body["publicUrl"]


async def test_publish_uses_public_url_setting_when_given(serve: ServeFactory) -> None:
    api = await serve(Settings(public_url="https://dash.example.com/"))
    token = api.token("alice")
    dashboard = await make_dashboard(api, token)
    status, body = await seed(api, "POST", f"{DASHBOARDS}/{dashboard}/publish", token, {})
    assert status == 200, body
    assert body["publicUrl"] == f"https://dash.example.com/public/dashboards/{body['slug']}"


async def test_publish_with_password_then_unpublish(api: Api) -> None:
    token = api.token("alice")
    dashboard = await make_dashboard(api, token)
    status, body = await seed(
        api, "POST", f"{DASHBOARDS}/{dashboard}/publish", token, {"password": "optional-password"}
    )
    assert status == 200, body
    got = await api.ok("dashboard_get", token, dashboard_id=dashboard)
    assert got["dashboard"]["passwordProtected"] is True
    assert got["dashboard"]["visibility"] == "link_view"
    status, body = await seed(api, "DELETE", f"{DASHBOARDS}/{dashboard}/publish", token)
    assert status == 200, body
    assert body["success"] is True
    got = await api.ok("dashboard_get", token, dashboard_id=dashboard)
    assert got["dashboard"]["visibility"] == "private"
    assert got["dashboard"]["isPublic"] is False


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "publish", {"password": "pw", "expires": 3}),
        ("POST", "publish", {"password": 12}),
        ("DELETE", "publish", {"password": "pw"}),
        ("POST", "clone", {"title": "copy"}),
        ("POST", "refresh", {"force": True}),
        ("PUT", "refresh", {"refreshInterval": 900, "timezone": "UTC"}),
        ("PUT", "refresh", {"refresh_interval": 900}),
    ],
)
async def test_routes_refuse_fields_the_seed_does_not_have(
    api: Api, method: str, suffix: str, body: dict[str, Any]
) -> None:
    token = api.token("alice")
    dashboard = await make_dashboard(api, token)
    status, answer = await seed(api, method, f"{DASHBOARDS}/{dashboard}/{suffix}", token, body)
    assert_error(status, answer, 400, "invalid_request")


async def test_malformed_json_on_a_seed_route(api: Api) -> None:
    token = api.token("alice")
    dashboard = await make_dashboard(api, token)
    status, body = await api.request("POST", f"{DASHBOARDS}/{dashboard}/publish", token, data=b"{nope")
    assert_error(status, body, 400, "invalid_request")


# -- clone ---------------------------------------------------------------------------


async def test_clone_answers_the_copy(api: Api) -> None:
    token = api.token("alice")
    dashboard = await make_dashboard(api, token)
    status, body = await seed(api, "POST", f"{DASHBOARDS}/{dashboard}/clone", token)
    assert status == 200, body
    assert body["success"] is True
    assert body["dashboard"]["id"].startswith("dash_") and body["dashboard"]["id"] != dashboard
    assert body["dashboard"]["title"] == "Q3 Revenue Dashboard (Copy)"


# -- refresh settings and refresh ------------------------------------------------------


async def test_refresh_settings_round_trip(api: Api) -> None:
    token = api.token("alice")
    dashboard = await make_dashboard(api, token)
    path = f"{DASHBOARDS}/{dashboard}/refresh"
    status, body = await seed(api, "GET", path, token)
    assert status == 200, body
    assert body == {
        "success": True,
        "refreshEnabled": False,
        "refreshInterval": 3600,
        "lastRefreshedAt": None,
    }
    status, body = await seed(api, "PUT", path, token, {"refreshEnabled": True, "refreshInterval": 900})
    assert status == 200, body
    assert (body["refreshEnabled"], body["refreshInterval"]) == (True, 900)
    status, body = await seed(api, "PUT", path, token, {"refreshInterval": 86400})
    assert (body["refreshEnabled"], body["refreshInterval"]) == (True, 86400)
    status, body = await seed(api, "GET", path, token)
    assert (body["refreshEnabled"], body["refreshInterval"]) == (True, 86400)


@pytest.mark.parametrize("interval", [300, 900, 3600, 86400])
async def test_refresh_interval_allowed(api: Api, interval: int) -> None:
    token = api.token("alice")
    dashboard = await make_dashboard(api, token)
    status, body = await seed(
        api, "PUT", f"{DASHBOARDS}/{dashboard}/refresh", token, {"refreshInterval": interval}
    )
    assert status == 200, body
    assert body["refreshInterval"] == interval


@pytest.mark.parametrize("interval", [120, 0, -300, 600, 3600.5, "900", None])
async def test_refresh_interval_refused(api: Api, interval: Any) -> None:
    token = api.token("alice")
    dashboard = await make_dashboard(api, token)
    path = f"{DASHBOARDS}/{dashboard}/refresh"
    if interval is None:
        status, body = await seed(api, "PUT", path, token, {"refreshEnabled": "yes"})
    else:
        status, body = await seed(api, "PUT", path, token, {"refreshInterval": interval})
    assert_error(status, body, 400, "invalid_request")
    _, settings = await seed(api, "GET", path, token)
    assert settings["refreshInterval"] == 3600


async def test_post_refresh_reruns_the_displayed_blocks(api: Api) -> None:
    token = api.token("alice")
    dashboard = await make_dashboard(api, token)
    added = await api.ok(
        "dashboard_add_block",
        token,
        dashboard_id=dashboard,
        type="sql",
        name="q",
        config={"sql": "select 1 as one"},
    )
    block = added["block"]["id"]
    await api.ok("dashboard_set_displayed", token, dashboard_id=dashboard, block_id=block, displayed=True)
    before = await api.ok("dashboard_runs", token, dashboard_id=dashboard, block_id=block)
    status, body = await seed(api, "POST", f"{DASHBOARDS}/{dashboard}/refresh", token)
    assert status == 200, body
    assert body["success"] is True
    assert body["cascade"]["ran"] == [block]
    after = await api.ok("dashboard_runs", token, dashboard_id=dashboard, block_id=block)
    assert len(after["runs"]) == len(before["runs"]) + 1
    assert after["runs"][0]["trigger"] == "refresh"
    _, settings = await seed(api, "GET", f"{DASHBOARDS}/{dashboard}/refresh", token)
    assert settings["lastRefreshedAt"] == body["lastRefreshedAt"] is not None


# -- the contract's errors on the seed's routes -----------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("POST", "publish"),
        ("DELETE", "publish"),
        ("POST", "clone"),
        ("GET", "refresh"),
        ("PUT", "refresh"),
        ("POST", "refresh"),
    ],
)
async def test_unknown_dashboard_is_404_and_no_token_is_401(api: Api, method: str, suffix: str) -> None:
    path = f"{DASHBOARDS}/dash_000000000000/{suffix}"
    status, body = await seed(api, method, path, api.token("alice"))
    assert_error(status, body, 404, "not_found")
    status, body = await seed(api, method, path, None)
    assert_error(status, body, 401, "unauthorized")


async def test_wrong_method_on_a_seed_route(api: Api) -> None:
    token = api.token("alice")
    dashboard = await make_dashboard(api, token)
    status, body = await seed(api, "GET", f"{DASHBOARDS}/{dashboard}/publish", token)
    assert_error(status, body, 405, "invalid_request")
