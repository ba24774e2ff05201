"""Published links over HTTP: what anyone with the link sees, passwords, the rate limit, overrides."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from ballast_server.ratelimit import AttemptLimiter
from tests.server.conftest import Api
from tests.server.test_api import assert_error

DASHBOARDS = "/api/v1/analytics/dashboards"
PUBLIC = "/api/v1/public/dashboards"
HIDDEN_NAMES = ("by_region", "secret_internal", "orders")
ORDERS = [
    {"id": 1, "region": "eu", "amount": 10},
    {"id": 2, "region": "eu", "amount": 20},
    {"id": 3, "region": "us", "amount": 30},
    {"id": 4, "region": "us", "amount": 40},
    {"id": 5, "region": "us", "amount": 50},
]


@dataclass
class Board:
    id: str
    token: str
    blocks: dict[str, str]  # name -> id

    @property
    def displayed(self) -> set[str]:
        return {"region", "period", "amounts", "detail", "total", "notes"}


async def build_board(api: Api, token: str, title: str = "Regional Sales") -> Board:
    """A board with displayed blocks reading an internal (hidden) SQL block and a catalog source."""
    board = (await api.ok("dashboard_create", token, title=title))["dashboard"]["id"]
    await api.ok("catalog_push", token, dashboard_id=board, name="orders", rows=ORDERS)
    specs: list[tuple[str, str, dict[str, Any]]] = [
        ("region", "param-enum", {"options": ["eu", "us"], "default": "eu"}),
        ("period", "filter-daterange", {"default": "30d"}),
        (
            "by_region",
            "sql",
            {"sql": "select id, amount from orders where region = $region order by id", "inputs": ["region"]},
        ),
        ("secret_internal", "sql", {"sql": "select 42 as hush"}),
        (
            "amounts",
            "chart",
            {"source": "by_region", "kind": "bar", "x": "id", "y": "amount", "title": "Amounts"},
        ),
        ("detail", "table", {"source": "by_region"}),
        ("total", "metric", {"source": "by_region", "column": "amount", "format": "{:,}"}),
        ("notes", "markdown", {"text": "# Notes\nRegional numbers."}),
    ]
    blocks: dict[str, str] = {}
    for name, block_type, config in specs:
        added = await api.ok(
            "dashboard_add_block", token, dashboard_id=board, type=block_type, name=name, config=config
        )
        assert added["block"]["state"] == "success", added
        blocks[name] = added["block"]["id"]
    result = Board(board, token, blocks)
    for name in ("region", "period", "amounts", "detail", "total", "notes"):
        await api.ok(
            "dashboard_set_displayed", token, dashboard_id=board, block_id=blocks[name], displayed=True
        )
    return result


async def publish(api: Api, board: Board, password: str | None = None) -> str:
    body = {"password": password} if password else None
    status, answer = await api.request("POST", f"{DASHBOARDS}/{board.id}/publish", board.token, json=body)
    assert status == 200, answer
    return str(answer["slug"])


def keys_of(value: Any) -> Iterator[str]:
    """Every object key anywhere in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys_of(item)


async def run_counts(api: Api, board: Board) -> dict[str, int]:
    counts = {}
    for name, block_id in board.blocks.items():
        runs = await api.ok(
            "dashboard_runs", board.token, dashboard_id=board.id, block_id=block_id, limit=1000
        )
        counts[name] = len(runs["runs"])
    return counts


# -- what a link shows ---------------------------------------------------------------


async def test_public_shows_displayed_blocks_only_without_auth(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    status, body = await api.request("POST", f"{PUBLIC}/{slug}")  # no token, no body
    assert status == 200, body
    assert body["success"] is True
    dashboard = body["dashboard"]
    assert dashboard["title"] == "Regional Sales"
    blocks = {b["name"]: b for b in dashboard["blocks"]}
    assert set(blocks) == board.displayed
    assert [b for row in dashboard["layout"]["rows"] for b in row["blocks"]] == [
        b["id"] for b in dashboard["blocks"]
    ]
    assert {b["id"] for b in dashboard["blocks"]} == {board.blocks[n] for n in board.displayed}
    # Nothing a viewer of the link may not see: no SQL, no internal blocks, no catalog.
    keys = set(keys_of(body))
    assert "sql" not in keys and "config" not in keys and "source" not in keys
    assert "sources" not in keys and "catalog" not in keys and "inputs" not in keys
    text = json.dumps(body)
    for hidden in HIDDEN_NAMES:
        assert hidden not in text, hidden
    assert "hush" not in text and board.blocks["secret_internal"] not in text
    # Each block with what it takes to draw it.
    for block in dashboard["blocks"]:
        assert {"name", "type", "columns", "rows", "row_count"} <= set(block)
    chart = blocks["amounts"]
    assert (chart["kind"], chart["x"], chart["y"], chart["title"]) == ("bar", "id", "amount", "Amounts")
    assert chart["rows"] == [{"id": 1, "amount": 10}, {"id": 2, "amount": 20}]
    assert chart["series"]["x"] == [1, 2] and chart["series"]["y"] == {"amount": [10, 20]}
    assert blocks["detail"]["row_count"] == 2
    assert [c["name"] for c in blocks["detail"]["columns"]] == ["id", "amount"]
    assert blocks["region"]["options"] == ["eu", "us"] and blocks["region"]["value"] == "eu"
    assert blocks["period"]["options"] == ["7d", "30d", "90d", "today"] and blocks["period"]["value"] == "30d"
    assert blocks["notes"]["text"].startswith("# Notes")
    assert blocks["total"]["column"] == "amount" and blocks["total"]["rows"] == [{"amount": 10}]


async def test_public_rows_are_capped_at_1000_with_the_full_row_count(api: Api) -> None:
    token = api.token("alice")
    board = (await api.ok("dashboard_create", token, title="Big"))["dashboard"]["id"]
    added = await api.ok(
        "dashboard_add_block",
        token,
        dashboard_id=board,
        type="sql",
        name="big",
        config={"sql": "select range as i from range(5000)"},
    )
    await api.ok(
        "dashboard_set_displayed", token, dashboard_id=board, block_id=added["block"]["id"], displayed=True
    )
    status, published = await api.request("POST", f"{DASHBOARDS}/{board}/publish", token)
    status, body = await api.request("POST", f"{PUBLIC}/{published['slug']}", json={})
    assert status == 200, body
    (block,) = body["dashboard"]["blocks"]
    assert block["row_count"] == 5000 and len(block["rows"]) == 1000


async def test_unpublish_makes_the_link_404(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    status, _ = await api.request("POST", f"{PUBLIC}/{slug}")
    assert status == 200
    status, body = await api.request("DELETE", f"{DASHBOARDS}/{board.id}/publish", board.token)
    assert status == 200, body
    status, body = await api.request("POST", f"{PUBLIC}/{slug}")
    assert_error(status, body, 404, "not_found")


async def test_unknown_slug_is_404(api: Api) -> None:
    status, body = await api.request("POST", f"{PUBLIC}/nothing-000000000000", json={})
    assert_error(status, body, 404, "not_found")


async def test_a_private_board_with_its_old_slug_is_404(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    await api.ok("dashboard_set_visibility", board.token, dashboard_id=board.id, visibility="private")
    status, body = await api.request("POST", f"{PUBLIC}/{slug}")
    assert_error(status, body, 404, "not_found")


@pytest.mark.parametrize(
    "body", [{"password": "x", "extra": 1}, {"password": 12}, {"filter_overrides": ["region"]}, ["x"]]
)
async def test_public_refuses_a_malformed_body(api: Api, body: Any) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    status, answer = await api.request("POST", f"{PUBLIC}/{slug}", json=body)
    assert_error(status, answer, 400, "invalid_request")


async def test_public_ignores_a_token_and_needs_none(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    status, body = await api.request("POST", f"{PUBLIC}/{slug}", "not-a-token")
    assert status == 200, body


# -- passwords -------------------------------------------------------------------------


async def test_password_missing_wrong_and_right(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board, password="hunter2")
    status, body = await api.request("POST", f"{PUBLIC}/{slug}")
    assert_error(status, body, 403, "password_required")
    assert "Regional" not in json.dumps(body)
    status, body = await api.request("POST", f"{PUBLIC}/{slug}", json={"password": ""})
    assert_error(status, body, 403, "password_required")
    status, body = await api.request("POST", f"{PUBLIC}/{slug}", json={"password": "hunter3"})
    assert_error(status, body, 403, "password_required")
    assert "Regional" not in json.dumps(body)
    status, body = await api.request("POST", f"{PUBLIC}/{slug}", json={"password": "hunter2"})
    assert status == 200, body
    assert body["dashboard"]["title"] == "Regional Sales"


async def test_protected_board_checks_the_password_before_the_overrides(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board, password="hunter2")
    status, body = await api.request("POST", f"{PUBLIC}/{slug}", json={"filter_overrides": {"nope": 1}})
    assert_error(status, body, 403, "password_required")


async def test_republishing_without_a_password_keeps_the_board_protected(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board, password="hunter2")
    assert await publish(api, board) == slug
    status, body = await api.request("POST", f"{PUBLIC}/{slug}")
    assert_error(status, body, 403, "password_required")
    status, body = await api.request("POST", f"{PUBLIC}/{slug}", json={"password": "hunter2"})
    assert status == 200, body


# -- the rate limit ----------------------------------------------------------------------


async def test_eleventh_wrong_password_in_a_minute_is_rate_limited(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board, password="hunter2")
    other = await build_board(api, board.token, "Other Board")
    other_slug = await publish(api, other, password="open-sesame")
    for attempt in range(10):
        status, body = await api.request("POST", f"{PUBLIC}/{slug}", json={"password": f"guess-{attempt}"})
        assert_error(status, body, 403, "password_required")
    for password in ("guess-10", "hunter2"):  # further attempts, the right one too
        async with api.http.post(api.base + f"{PUBLIC}/{slug}", json={"password": password}) as response:
            assert response.status == 429
            retry_after = int(response.headers["Retry-After"])
            assert 1 <= retry_after <= 60
            body = await response.json()
        assert_error(429, body, 429, "rate_limited")
    # Asking without a password is no attempt: it is still told a password is needed.
    status, body = await api.request("POST", f"{PUBLIC}/{slug}")
    assert_error(status, body, 403, "password_required")
    # Another slug from the same client is unaffected.
    status, body = await api.request("POST", f"{PUBLIC}/{other_slug}", json={"password": "wrong"})
    assert_error(status, body, 403, "password_required")
    status, body = await api.request("POST", f"{PUBLIC}/{other_slug}", json={"password": "open-sesame"})
    assert status == 200, body
    # Another client (another loopback address) is unaffected on the same slug.
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with (
        aiohttp.ClientSession(connector=connector) as other_client,
        other_client.post(api.base + f"{PUBLIC}/{slug}", json={"password": "hunter2"}) as response,
    ):
        assert response.status == 200, await response.text()


async def test_right_passwords_and_reads_never_count(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board, password="hunter2")
    for _ in range(12):
        status, _body = await api.request("POST", f"{PUBLIC}/{slug}")
        assert status == 403
    for _ in range(12):
        status, _body = await api.request("POST", f"{PUBLIC}/{slug}", json={"password": "hunter2"})
        assert status == 200


def test_limiter_window_passes() -> None:
    now = [1000.0]
    limiter = AttemptLimiter(limit=3, window_s=60, clock=lambda: now[0])
    key = ("1.2.3.4", "slug")
    for _ in range(3):
        assert limiter.acquire(key) is None
        limiter.release(key, failed=True)
        now[0] += 1
    assert limiter.acquire(key) == 57  # at t=1003; the first failure (t=1000) leaves at t=1060
    assert limiter.acquire(("5.6.7.8", "slug")) is None
    now[0] = 1060.5
    assert limiter.acquire(key) is None  # the oldest failure left the window
    limiter.release(key, failed=False)
    limiter.release(("5.6.7.8", "slug"), failed=False)
    assert limiter.acquire(key) is None


def test_limiter_counts_attempts_in_flight() -> None:
    limiter = AttemptLimiter(limit=2, window_s=60, clock=lambda: 0.0)
    key = ("c", "s")
    assert limiter.acquire(key) is None
    assert limiter.acquire(key) is None
    assert limiter.acquire(key) == 1  # two still running could both be wrong
    limiter.release(key, failed=False)
    assert limiter.acquire(key) is None


def test_limiter_memory_is_bounded() -> None:
    limiter = AttemptLimiter(limit=2, window_s=60, clock=lambda: 0.0, max_keys=100)
    for n in range(1000):
        assert limiter.acquire(("c", n)) is None
        limiter.release(("c", n), failed=True)
    assert len(limiter) <= 100


# -- filter_overrides ----------------------------------------------------------------------


async def test_overrides_change_the_rows_and_store_nothing(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    before = await run_counts(api, board)
    audit_before = await api.ok("dashboard_audit", board.token, dashboard_id=board.id)
    status, body = await api.request("POST", f"{PUBLIC}/{slug}", json={"filter_overrides": {"region": "us"}})
    assert status == 200, body
    blocks = {b["name"]: b for b in body["dashboard"]["blocks"]}
    assert blocks["region"]["value"] == "us"
    assert [r["id"] for r in blocks["detail"]["rows"]] == [3, 4, 5]
    assert blocks["amounts"]["series"]["y"] == {"amount": [30, 40, 50]}
    assert blocks["total"]["rows"] == [{"amount": 30}]
    assert blocks["notes"]["status"] == "success"
    # By control id too.
    status, body = await api.request(
        "POST", f"{PUBLIC}/{slug}", json={"filter_overrides": {board.blocks["region"]: "us"}}
    )
    assert status == 200, body
    assert {b["name"]: b for b in body["dashboard"]["blocks"]}["detail"]["row_count"] == 3
    # Nothing persisted: no run, no control value, no audit event.
    assert await run_counts(api, board) == before
    got = await api.ok("dashboard_get", board.token, dashboard_id=board.id)
    assert {b["name"]: b for b in got["dashboard"]["blocks"]}["region"]["value"] == "eu"
    audit_after = await api.ok("dashboard_audit", board.token, dashboard_id=board.id)
    assert audit_after["events"] == audit_before["events"]
    status, body = await api.request("POST", f"{PUBLIC}/{slug}")
    assert [r["id"] for r in {b["name"]: b for b in body["dashboard"]["blocks"]}["detail"]["rows"]] == [1, 2]


async def test_date_range_override_with_an_allowed_value(api: Api) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    for value in ("7d", "today", {"start": "2024-01-01", "end": "2024-01-31"}):
        status, body = await api.request(
            "POST", f"{PUBLIC}/{slug}", json={"filter_overrides": {"period": value}}
        )
        assert status == 200, body
        assert {b["name"]: b for b in body["dashboard"]["blocks"]}["period"]["value"] == value


@pytest.mark.parametrize(
    "overrides",
    [
        {"region": "asia"},  # not one of the options
        {"region": 1},
        {"period": "last week"},
        {"period": {"start": "2024-02-01", "end": "2024-01-01"}},
        {"by_region": "eu"},  # an internal block
        {"secret_internal": 1},
        {"amounts": "x"},  # displayed, but not a control
        {"nope": "eu"},
    ],
)
async def test_overrides_the_control_does_not_allow_are_400(api: Api, overrides: dict[str, Any]) -> None:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board)
    status, body = await api.request("POST", f"{PUBLIC}/{slug}", json={"filter_overrides": overrides})
    assert_error(status, body, 400, "invalid_request")
    assert "hush" not in body["message"] and "orders" not in body["message"]
