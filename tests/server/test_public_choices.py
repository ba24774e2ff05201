"""A stranger flooding a published link with new choices: computed a few at a time, limited per
client, and never in the way of the page of the stored values. Real server, real drawing process."""

from __future__ import annotations

import asyncio
import time

from tests.server.conftest import Api

DAYS = 60


async def published(api: Api) -> str:
    owner = api.token("olivia")
    board = (await api.ok("dashboard_create", owner, title="Visits"))["dashboard"]["id"]
    period = await api.ok(
        "dashboard_add_block",
        owner,
        dashboard_id=board,
        type="filter-daterange",
        name="period",
        config={"default": "7d"},
    )
    visits = await api.ok(
        "dashboard_add_block",
        owner,
        dashboard_id=board,
        type="sql",
        name="visits",
        config={
            "sql": "select range as day, range * 2 as n from range(100) "
            "where range between 0 and ($period_end - $period_start)",
            "inputs": ["period"],
        },
    )
    for block in (period, visits):
        await api.ok(
            "dashboard_set_displayed",
            owner,
            dashboard_id=board,
            block_id=block["block"]["id"],
            displayed=True,
        )
    slug: str = (await api.ok("dashboard_publish", owner, dashboard_id=board))["slug"]
    return slug


def end_of(day: int) -> str:
    """A different end date for each `day` (0 to 335)."""
    return f"2026-{2 + day // 28:02d}-{1 + day % 28:02d}"


def choice(day: int) -> str:
    return f"?period=custom&period.start=2026-01-01&period.end={end_of(day)}"


async def test_new_choices_are_limited_per_client_and_the_stored_page_is_not_delayed(api: Api) -> None:
    slug = await published(api)
    page = f"{api.base}/public/dashboards/{slug}"
    async with api.http.get(page) as first:
        assert first.status == 200  # the stored-values page, drawn and cached
    statuses: list[int] = []
    retry_after: list[str] = []

    async def flood(day: int) -> None:
        async with api.http.get(page + choice(day)) as response:
            statuses.append(response.status)
            if response.status == 429:
                retry_after.append(response.headers["Retry-After"])
            await response.read()

    plain: list[float] = []

    async def read_plain_page() -> None:
        while len(statuses) < DAYS:
            started = time.perf_counter()
            async with api.http.get(page) as response:
                assert response.status == 200
                await response.read()
            plain.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)

    await asyncio.gather(read_plain_page(), *(flood(day) for day in range(DAYS)))
    assert statuses.count(200) <= 30 and statuses.count(429) >= DAYS - 30, statuses
    assert all(int(wait) >= 1 for wait in retry_after)
    assert plain and max(plain) < 1.0, f"the stored-values page waited {max(plain):.2f} s"


async def test_new_choices_in_the_json_answer_are_limited_too(api: Api) -> None:
    slug = await published(api)
    route = f"/api/v1/public/dashboards/{slug}"

    def body(day: int) -> dict[str, object]:
        return {"filter_overrides": {"period": {"start": "2026-01-01", "end": end_of(day)}}}

    statuses = [(await api.request("POST", route, json=body(day)))[0] for day in range(35)]
    assert statuses[:30] == [200] * 30 and set(statuses[30:]) == {429}
    again, _ = await api.request("POST", route, json=body(0))
    assert again == 200  # answered lately: not a new choice
    stored, _ = await api.request("POST", route)
    assert stored == 200
