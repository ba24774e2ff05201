"""The published page in a real headless Chromium (Debian's `chromium`, installed by `.ci/run`).

The browser loads the page, changes a control (with and without JavaScript),
and the drawn board is compared with a PNG snapshot in `tests/server/snapshots/`;
a phone (390x844) is shown the narrow drawing with text it can read; the CSV
links are followed, with and without a protected board's password cookie. Update
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


async def sales_board(api: Api, password: str | None = None, downloads: bool = False) -> tuple[str, str]:
    """A published board: a region pick-list feeding a bar chart and a table (with its password, and
    its CSV downloads on, when asked)."""
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
    body = {"password": password} if password else None
    status, answer = await api.request(
        "POST", f"/api/v1/analytics/dashboards/{board}/publish", token, json=body
    )
    assert status == 200, answer
    if downloads:
        await api.ok("dashboard_set_public_options", token, dashboard_id=board, downloads=True)
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
    board = page.locator("main.board .wide svg")
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
    assert "Amounts" in (await page.locator("main.board .wide svg").text_content() or "")
    await page.select_option("select[name=region]", "us")
    assert page.url == page_url(api, slug)  # nothing happens until Apply
    await page.click("form.controls button[type=submit]")
    await page.wait_for_url("**region=us")
    drawn = (await page.locator("main.board .wide svg").text_content() or "").replace("\xa0", " ")
    assert "50" in drawn
    await context.close()


# -- phones -----------------------------------------------------------------------------

PHONE = {"width": 390, "height": 844}
MIN_TEXT_PX = 11


async def drawn_title_box(page: Page, drawing: str) -> dict[str, float] | None:
    """The bounding box, in CSS px, of the block title "Amounts" as drawn in one of the page's two
    drawings (None when that drawing is not shown)."""
    title = page.locator(f"main.board .{drawing} svg text", has_text="Amounts").first
    return await title.bounding_box()


async def test_a_phone_gets_the_narrow_drawing_with_readable_text(api: Api, browser: Browser) -> None:
    _board, slug = await sales_board(api)
    phone = await browser.new_context(viewport=PHONE, device_scale_factor=3, is_mobile=True, has_touch=True)
    page = await phone.new_page()
    await page.goto(page_url(api, slug))
    narrow = await drawn_title_box(page, "narrow")
    assert narrow is not None, "the phone is not shown the narrow drawing"
    assert narrow["height"] >= MIN_TEXT_PX, f"drawn text is {narrow['height']:.1f} px high on a phone"
    assert await drawn_title_box(page, "wide") is None  # the wide drawing is not shown at all
    board = await page.locator("main.board .narrow svg").bounding_box()
    assert board is not None and board["x"] >= 0 and board["x"] + board["width"] <= PHONE["width"]
    # One block per row: the table is below the chart, not beside it.
    table_title = page.locator("main.board .narrow svg text", has_text="rows").first
    table = await table_title.bounding_box()
    assert table is not None and table["y"] > narrow["y"] + 5 * narrow["height"]
    # The same choices, the same page: a choice picks both drawings.
    await page.select_option("select[name=region]", "us")
    await page.wait_for_url("**region=us")
    drawn = (await page.locator("main.board .narrow svg").text_content() or "").replace("\xa0", " ")
    assert "50" in drawn
    await phone.close()

    desk = await browser.new_page(viewport={"width": 1280, "height": 800})
    await desk.goto(page_url(api, slug))
    wide = await drawn_title_box(desk, "wide")
    assert wide is not None and wide["height"] >= MIN_TEXT_PX
    assert await drawn_title_box(desk, "narrow") is None


async def test_a_phone_without_javascript_gets_the_narrow_drawing_too(api: Api, browser: Browser) -> None:
    _board, slug = await sales_board(api)
    phone = await browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = await phone.new_page()
    await page.goto(page_url(api, slug))
    narrow = await drawn_title_box(page, "narrow")
    assert narrow is not None and narrow["height"] >= MIN_TEXT_PX
    await phone.close()


# -- CSV downloads -----------------------------------------------------------------------


async def follow_csv_link(page: Page, title: str) -> list[str]:
    """Click the page's CSV link of the block titled `title`; the downloaded file's lines."""
    link = page.locator("nav.downloads li", has_text=title).locator("a")
    async with page.expect_download() as started:
        await link.click()
    download = await started.value
    path = await download.path()
    assert download.suggested_filename.endswith(".csv")
    return Path(path).read_text().splitlines()


async def test_chromium_follows_a_csv_link_with_the_pages_choice(api: Api, browser: Browser) -> None:
    _board, slug = await sales_board(api, downloads=True)
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(page_url(api, slug))
    await page.select_option("select[name=region]", "us")
    await page.wait_for_url("**region=us")
    assert await page.locator("nav.downloads a").count() == 2  # the chart and the table
    assert await follow_csv_link(page, "rows") == ['"id","amount"', "3,30", "4,40", "5,50"]
    assert await follow_csv_link(page, "Amounts") == ['"id","amount"', "3,30", "4,40", "5,50"]


async def test_a_protected_boards_csv_link_needs_the_password_cookie(api: Api, browser: Browser) -> None:
    _board, slug = await sales_board(api, password="s3cret-pass", downloads=True)
    context = await browser.new_context()
    page = await context.new_page()
    # Without the cookie: the password form, nothing of the data.
    refused = await page.goto(page_url(api, slug, "/blocks/rows.csv?region=us"))
    assert refused is not None and refused.status == 403
    assert await page.locator("input[type=password]").count() == 1
    assert "amount" not in (await page.content()).lower()
    await page.fill("input[type=password]", "s3cret-pass")
    await page.click("button[type=submit]")
    await page.wait_for_url(page_url(api, slug))
    # With it: the page's CSV links download.
    assert await follow_csv_link(page, "rows") == ['"id","amount"', "1,10", "2,20"]
    cookies = {cookie["name"] for cookie in await context.cookies()}
    assert "ballast_access" in cookies
    await context.close()
