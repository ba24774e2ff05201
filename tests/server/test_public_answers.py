"""The public JSON answers' cache: never an answer after what it shows changed.

A real server, a real HTTP client. Each test first asks for an answer twice (so
it is cached and served from memory), changes what it depends on through the
tools, and asks again at once: the next answer shows the change.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from ballast_server.public_answers import RECHECK_S, Answers
from ballast_tui.engine.events import LayoutChanged, Presence, RunStarted
from tests.server.conftest import Api
from tests.server.test_api import assert_error
from tests.server.test_public import DASHBOARDS, PUBLIC, Board, build_board, publish

SCALED = "select id, amount * {k} as amount from orders where region = $region order by id"


async def dashboard(api: Api, slug: str, body: Any = None) -> dict[str, Any]:
    """The public answer's `dashboard` (which must be a 200)."""
    status, answer = await api.request("POST", f"{PUBLIC}/{slug}", json=body)
    assert status == 200, answer
    return dict(answer["dashboard"])


async def blocks(api: Api, slug: str, body: Any = None) -> dict[str, dict[str, Any]]:
    """The public answer's blocks by name."""
    return {b["name"]: b for b in (await dashboard(api, slug, body))["blocks"]}


async def amounts(api: Api, slug: str, body: Any = None) -> list[int]:
    """The amounts the answer's table shows."""
    return [row["amount"] for row in (await blocks(api, slug, body))["detail"]["rows"]]


async def cached(api: Api, slug: str, body: Any = None) -> dict[str, dict[str, Any]]:
    """Ask twice (the second is served from the cache); both answers equal."""
    first = await blocks(api, slug, body)
    assert await blocks(api, slug, body) == first
    return first


async def scale(api: Api, board: Board, k: int) -> None:
    """A new run of the SQL block under the displayed table, chart and metric."""
    await api.ok(
        "dashboard_update_block",
        board.token,
        dashboard_id=board.id,
        block_id=board.blocks["by_region"],
        config={"sql": SCALED.format(k=k), "inputs": ["region"]},
    )


US = {"filter_overrides": {"region": "us"}}


async def test_a_new_run_of_a_displayed_block_is_served_at_once(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    assert [row["amount"] for row in (await cached(api, slug))["detail"]["rows"]] == [10, 20]
    assert [row["amount"] for row in (await cached(api, slug, US))["detail"]["rows"]] == [30, 40, 50]
    await scale(api, board, 10)
    shown = await blocks(api, slug)
    assert [row["amount"] for row in shown["detail"]["rows"]] == [100, 200]
    assert shown["amounts"]["series"]["y"] == {"amount": [100, 200]}
    assert shown["total"]["rows"] == [{"amount": 100}]
    assert await amounts(api, slug, US) == [300, 400, 500]  # a viewer's choice too


async def test_a_refresh_shows_new_rows_and_its_time_at_once(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    await cached(api, slug)
    before = await dashboard(api, slug)
    row = {"id": 6, "region": "eu", "amount": 60}
    await api.ok("catalog_push", board.token, dashboard_id=board.id, name="orders", rows=[row], mode="append")
    refreshed = await api.ok("dashboard_refresh", board.token, dashboard_id=board.id)
    after = await dashboard(api, slug)
    assert after["lastRefreshedAt"] == refreshed["lastRefreshedAt"] != before["lastRefreshedAt"]
    assert [r["amount"] for r in {b["name"]: b for b in after["blocks"]}["detail"]["rows"]] == [10, 20, 60]


async def test_a_stored_control_value_is_served_at_once(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    assert (await cached(api, slug))["region"]["value"] == "eu"
    await api.ok(
        "dashboard_set_control",
        board.token,
        dashboard_id=board.id,
        block_id=board.blocks["region"],
        value="us",
    )
    shown = await blocks(api, slug)
    assert shown["region"]["value"] == "us"
    assert [row["amount"] for row in shown["detail"]["rows"]] == [30, 40, 50]


async def test_a_layout_change_is_served_at_once(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    await cached(api, slug)
    order = [b["id"] for b in (await dashboard(api, slug))["blocks"]]
    rows = [{"blocks": [block_id]} for block_id in reversed(order)]
    await api.ok("dashboard_set_layout", board.token, dashboard_id=board.id, rows=rows)
    shown = await dashboard(api, slug)
    assert [b["id"] for b in shown["blocks"]] == list(reversed(order))
    assert [row["blocks"] for row in shown["layout"]["rows"]] == [[block_id] for block_id in reversed(order)]


async def test_a_block_hidden_then_shown_is_served_at_once(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    assert "detail" in await cached(api, slug)
    assert "detail" in await cached(api, slug, US)
    detail = board.blocks["detail"]
    await api.ok(
        "dashboard_set_displayed", board.token, dashboard_id=board.id, block_id=detail, displayed=False
    )
    assert "detail" not in await blocks(api, slug)
    assert "detail" not in await blocks(api, slug, US)
    await api.ok(
        "dashboard_set_displayed", board.token, dashboard_id=board.id, block_id=detail, displayed=True
    )
    assert [row["amount"] for row in (await blocks(api, slug))["detail"]["rows"]] == [10, 20]
    assert await amounts(api, slug, US) == [30, 40, 50]


async def test_a_password_set_then_changed_is_checked_on_every_request(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    open_slug = await publish(api, board)
    await cached(api, open_slug)
    slug = await publish(api, board, password="hunter2")
    status, body = await api.request("POST", f"{PUBLIC}/{open_slug}")
    assert_error(status, body, 404, "not_found")  # protecting a board gives it a new link
    right = {"password": "hunter2"}
    await cached(api, slug, right)
    await cached(api, slug, {**right, **US})
    for wrong in (None, {}, US, {"password": "hunter3"}, {"password": "hunter3", **US}):
        status, body = await api.request("POST", f"{PUBLIC}/{slug}", json=wrong)
        assert_error(status, body, 403, "password_required")
        assert "Regional" not in json.dumps(body) and "amount" not in json.dumps(body)
    assert await publish(api, board, password="swordfish") == slug
    status, body = await api.request("POST", f"{PUBLIC}/{slug}", json=right)
    assert_error(status, body, 403, "password_required")
    assert await amounts(api, slug, {"password": "swordfish"}) == [10, 20]
    status, answer = await api.request(
        "POST", f"{DASHBOARDS}/{board.id}/publish", board.token, json={"password": None}
    )
    assert status == 200 and answer["slug"] == slug, answer
    assert await amounts(api, slug) == [10, 20]  # no password needed any more


async def test_unpublish_then_republish_is_served_at_once(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    await cached(api, slug)
    await cached(api, slug, US)
    status, body = await api.request("DELETE", f"{DASHBOARDS}/{board.id}/publish", board.token)
    assert status == 200, body
    for asked in (None, US):
        status, body = await api.request("POST", f"{PUBLIC}/{slug}", json=asked)
        assert_error(status, body, 404, "not_found")
    await scale(api, board, 3)  # changed while unpublished
    new_slug = await publish(api, board)
    assert new_slug != slug
    status, body = await api.request("POST", f"{PUBLIC}/{slug}")
    assert_error(status, body, 404, "not_found")
    assert await amounts(api, new_slug) == [30, 60]
    assert await amounts(api, new_slug, US) == [90, 120, 150]


async def test_each_choice_has_its_own_answer_and_bad_ones_are_still_refused(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    by_id = {"filter_overrides": {board.blocks["region"]: "us"}}
    assert [row["amount"] for row in (await cached(api, slug))["detail"]["rows"]] == [10, 20]
    assert [row["amount"] for row in (await cached(api, slug, US))["detail"]["rows"]] == [30, 40, 50]
    assert [row["amount"] for row in (await cached(api, slug, by_id))["detail"]["rows"]] == [30, 40, 50]
    assert (await blocks(api, slug, {"filter_overrides": {"region": "eu"}}))["region"]["value"] == "eu"
    for bad in (
        {**US, "extra": 1},
        {"filter_overrides": {"region": "asia"}},
        {"filter_overrides": ["region"]},
        {"filter_overrides": {"secret_internal": 1}},
    ):
        status, body = await api.request("POST", f"{PUBLIC}/{slug}", json=bad)
        assert_error(status, body, 400, "invalid_request")
    assert await amounts(api, slug, US) == [30, 40, 50]


async def test_relative_dates_move_with_the_day(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    last = await api.ok(
        "dashboard_add_block",
        board.token,
        dashboard_id=board.id,
        type="sql",
        name="last_day",
        config={"sql": "select cast($period_end as varchar) as last_day", "inputs": ["period"]},
    )
    await api.ok(
        "dashboard_set_displayed",
        board.token,
        dashboard_id=board.id,
        block_id=last["block"]["id"],
        displayed=True,
    )
    slug = await publish(api, board)
    week = {"filter_overrides": {"period": "7d"}}
    today = date.today()
    api.ws.today = lambda: today
    assert (await cached(api, slug, week))["last_day"]["rows"] == [{"last_day": today.isoformat()}]
    tomorrow = today + timedelta(days=1)
    api.ws.today = lambda: tomorrow  # no event says the day moved: seen within RECHECK_S
    await asyncio.sleep(RECHECK_S + 0.1)
    assert (await blocks(api, slug, week))["last_day"]["rows"] == [{"last_day": tomorrow.isoformat()}]


async def test_answers_read_while_changes_land_are_never_served_after_them(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    stop = asyncio.Event()
    seen: list[int] = []

    async def reader(body: Any) -> None:
        while not stop.is_set():
            shown = await amounts(api, slug, body)
            seen.append(shown[0])

    readers = [asyncio.create_task(reader(body)) for body in (None, None, US, US)]
    try:
        for k in range(2, 7):
            await scale(api, board, k)
            assert await amounts(api, slug) == [10 * k, 20 * k]
            assert await amounts(api, slug, US) == [30 * k, 40 * k, 50 * k]
    finally:
        stop.set()
        await asyncio.gather(*readers)
    assert seen and set(seen) <= {10 * k for k in range(1, 7)} | {30 * k for k in range(1, 7)}


# -- the cache itself: what a request racing a change may keep ------------------------------


async def test_an_answer_made_while_its_board_changed_is_sent_but_never_kept() -> None:
    answers = Answers()
    stamp = answers.stamp()

    async def make_during_a_change() -> bytes:
        answers.on_event(LayoutChanged(dashboard_id="b1", layout={"rows": []}))
        return b"read while the layout changed"

    assert await answers.compute("b1", "k1", stamp, make_during_a_change) == b"read while the layout changed"
    assert answers.body("k1") is None
    answers.remember("s", "", "b1", "k1", stamp)
    assert answers.fresh("s", "") is None
    # Another board's change drops nothing of this one; presence and locks drop nothing at all.
    stamp = answers.stamp()
    assert await answers.compute("b1", "k2", stamp, make(b"kept")) == b"kept"
    answers.remember("s", "", "b1", "k2", stamp)
    answers.on_event(LayoutChanged(dashboard_id="b2", layout={"rows": []}))
    answers.on_event(Presence(dashboard_id="b1", sessions=[]))
    assert answers.fresh("s", "") == b"kept"
    answers.on_event(RunStarted(dashboard_id="b1", block_id="q", block_name="q", trigger="refresh"))
    assert answers.fresh("s", "") is None


async def test_requests_for_one_answer_make_it_once_and_memory_is_bounded() -> None:
    answers = Answers(budget=10)
    made = 0

    async def slow() -> bytes:
        nonlocal made
        made += 1
        await asyncio.sleep(0.05)
        return b"12345"

    stamp = answers.stamp()
    bodies = await asyncio.gather(*(answers.compute("b", "k", stamp, slow) for _ in range(8)))
    assert bodies == [b"12345"] * 8 and made == 1
    for key in ("k2", "k3"):
        await answers.compute("b", key, stamp, make(b"67890"))
    assert answers.body("k") is None  # the least recently used, dropped past 10 bytes
    assert answers.body("k2") == answers.body("k3") == b"67890"


def make(body: bytes) -> Callable[[], Awaitable[bytes]]:
    async def made() -> bytes:
        return body

    return made
