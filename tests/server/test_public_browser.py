"""The published page in a real headless Chromium (Debian's `chromium`, installed by `.ci/run`).

The browser loads the page, changes a control (with and without JavaScript),
and the drawn board is compared with a PNG snapshot in `tests/server/snapshots/`. Update
it with `pytest tests/server/test_public_browser.py --snapshot-update` after
looking at the change. The board has no date range, so nothing drawn depends
on the day.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops
from playwright.async_api import Browser, Page, async_playwright

from tests.server.conftest import Api
from tests.server.public_pages import page_url
from tests.server.test_public import ORDERS

# Not in the top-level snapshots/: syrupy takes every file there for one of the TUI's SVG snapshots.
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# How the machine's own probe starts Chromium: no sandbox as root, and no background traffic
# (this machine's network is closed and would refuse it).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--font-render-hinting=none",
]
MAX_DIFFERENT_PIXELS = 0.005  # anti-aliasing may differ a little; a changed chart does not


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def sales_board(api: Api) -> tuple[str, str]:
    """A published board: a region pick-list feeding a bar chart, a metric and a table."""
    token = api.token("alice")
    board = (await api.ok("dashboard_create", token, title="Orders by region"))["dashboard"]["id"]
    await api.ok("catalog_push", token, dashboard_id=board, name="orders", rows=ORDERS)
    specs: list[tuple[str, str, dict[str, Any]]] = [
        ("region", "param-enum", {"options": ["eu", "us"], "default": "eu"}),
        (
            "picked",
            "sql",
            {"sql": "select id, amount from orders where region = $region order by id", "inputs": ["region"]},
        ),
        (
            "amounts",
            "chart",
            {"source": "picked", "kind": "bar", "x": "id", "y": "amount", "title": "Amounts"},
        ),
        ("rows", "table", {"source": "picked"}),
    ]
    for name, block_type, config in specs:
        block = await api.ok(
            "dashboard_add_block", token, dashboard_id=board, type=block_type, name=name, config=config
        )
        if name != "picked":
            await api.ok(
                "dashboard_set_displayed",
                token,
                dashboard_id=board,
                block_id=block["block"]["id"],
                displayed=True,
            )
    status, answer = await api.request("POST", f"/api/v1/analytics/dashboards/{board}/publish", token)
    assert status == 200, answer
    return board, str(answer["slug"])


def outside_requests(page: Page, base: str) -> list[str]:
    """Every request the page makes to anywhere but `base` (filled in as the page loads)."""
    seen: list[str] = []
    page.on(
        "request",
        lambda request: None if request.url.startswith((base, "data:")) else seen.append(request.url),
    )
    return seen


def assert_matches_snapshot(png: bytes, name: str, update: bool) -> None:
    path = SNAPSHOTS / f"{name}.png"
    if update or not path.exists():
        if not update:
            pytest.fail(f"no snapshot {path.name}: run with --snapshot-update and look at it")
        path.write_bytes(png)
        return
    expected = Image.open(path).convert("RGB")
    actual = Image.open(io.BytesIO(png)).convert("RGB")
    assert actual.size == expected.size, f"{name}: {actual.size} drawn, {expected.size} expected"
    difference = ImageChops.difference(actual, expected).convert("L").point(lambda v: 255 if v > 40 else 0)
    changed = difference.histogram()[255] / (actual.size[0] * actual.size[1])
    if changed > MAX_DIFFERENT_PIXELS:
        (SNAPSHOTS / f"{name}.actual.png").write_bytes(png)
        pytest.fail(f"{name}: {changed:.2%} of the pixels differ (see {name}.actual.png)")


async def test_chromium_changes_a_control_and_sees_the_board_redrawn(
    api: Api, browser: Browser, request: pytest.FixtureRequest
) -> None:
    _board, slug = await sales_board(api)
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    outside = outside_requests(page, api.base)
    await page.goto(page_url(api, slug))
    assert await page.title() == "Orders by region · Ballast"
    board = page.locator("main.board svg")
    assert "Amounts" in (await board.text_content() or "")
    await page.select_option("select[name=region]", "us")  # the page's script applies it at once
    await page.wait_for_url("**region=us")
    drawn = (await board.text_content() or "").replace("\xa0", " ")
    assert "50" in drawn and "us" in (await page.input_value("select[name=region]"))
    assert outside == []
    update = bool(request.config.getoption("--snapshot-update", default=False))
    assert_matches_snapshot(await board.screenshot(), "public_page_region_us", update)


async def test_without_javascript_the_form_still_applies_a_choice(api: Api, browser: Browser) -> None:
    _board, slug = await sales_board(api)
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(page_url(api, slug))
    assert "Amounts" in (await page.locator("main.board svg").text_content() or "")
    await page.select_option("select[name=region]", "us")
    assert page.url == page_url(api, slug)  # nothing happens until Apply
    await page.click("form.controls button[type=submit]")
    await page.wait_for_url("**region=us")
    drawn = (await page.locator("main.board svg").text_content() or "").replace("\xa0", " ")
    assert "50" in drawn
    await context.close()
