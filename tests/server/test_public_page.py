"""The published page over real HTTP: the drawn board, link previews, controls, passwords, caching."""

from __future__ import annotations

import asyncio
import io
import re
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.server.conftest import Api
from tests.server.public_pages import (
    Page,
    browser_session,
    fetch,
    open_protected,
    page_url,
    svg_texts,
)
from tests.server.test_public import HIDDEN_NAMES, Board, build_board, publish, run_counts

TITLE = "Regional Sales"
SQL_TEXT = ("select 42", "hush", "where region")


async def published_board(api: Api, password: str | None = None) -> tuple[Board, str]:
    board = await build_board(api, api.token("alice"), title=TITLE)
    return board, await publish(api, board, password)


def png_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    image.verify()
    return image.size


# -- the page and its preview ------------------------------------------------------


async def test_page_draws_the_displayed_blocks_with_link_preview_tags(api: Api) -> None:
    _board, slug = await published_board(api)
    async with browser_session() as http:
        page = await fetch(http, page_url(api, slug))
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    drawn = svg_texts(page)
    # The board as the terminal draws it: block titles on borders, the markdown, the table, the metric.
    for expected in ("Amounts", "detail", "total", "Regional numbers.", "amount"):
        assert expected in drawn, expected
    assert page.meta["og:title"] == TITLE
    assert page.meta["og:type"] == "website"
    assert page.meta["og:url"] == page_url(api, slug)
    assert page.meta["twitter:card"] == "summary_large_image"
    assert "Amounts" in page.meta["og:description"] and "total: 10" in page.meta["og:description"]
    assert page.meta["og:image"].startswith(f"{page_url(api, slug)}/preview.png?v=")
    for hidden in (*HIDDEN_NAMES[:2], *SQL_TEXT):
        assert hidden not in page.text, hidden


async def test_og_image_is_a_1200x630_png_of_the_board(api: Api) -> None:
    _board, slug = await published_board(api)
    async with browser_session() as http:
        page = await fetch(http, page_url(api, slug))
        async with http.get(page.meta["og:image"]) as response:
            assert response.status == 200
            assert response.content_type == "image/png"
            assert "immutable" in response.headers["Cache-Control"]
            data = await response.read()
    assert png_size(data) == (1200, 630)
    pixels = Image.open(io.BytesIO(data)).convert("RGB").getcolors(1_000_000) or []
    assert len(pixels) > 10, "the preview is not a blank picture"


async def test_preview_is_drawn_on_publish_before_anyone_asks(api: Api) -> None:
    board, _slug = await published_board(api)
    folder = api.ws.paths.published / board.id
    assert await wait_for_files(folder, "*.png", 1), "no preview drawn after publishing"
    (first,) = list(folder.glob("*.png"))
    await api.ok("dashboard_refresh", board.token, dashboard_id=board.id)
    assert await wait_for_files(folder, "*.png", 2), "no new preview drawn after a refresh"
    assert png_size(first.read_bytes()) == (1200, 630)


async def wait_for_files(folder: Path, pattern: str, count: int, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if folder.exists() and len(list(folder.glob(pattern))) >= count:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_page_fetches_nothing_from_elsewhere_and_sends_security_headers(api: Api) -> None:
    _board, slug = await published_board(api)
    async with browser_session() as http:
        page = await fetch(http, page_url(api, slug))
        for link in page.links:
            if link == "data:,":  # the empty icon: no request at all
                continue
            assert link.startswith("/"), f"{link} is not served by this server"
            async with http.get(api.base + link) as response:
                assert response.status == 200, link
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "<script>" not in page.body and " style=" not in page.body


async def test_each_inline_style_of_the_page_is_allowed_by_hash(api: Api) -> None:
    import base64
    import hashlib

    _board, slug = await published_board(api)
    async with browser_session() as http:
        page = await fetch(http, page_url(api, slug))
    styles = re.findall(r"<style>(.*?)</style>", page.body, re.DOTALL)
    assert styles
    for style in styles:
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in page.headers["Content-Security-Policy"]


# -- caching -----------------------------------------------------------------------


async def test_etag_answers_304_until_the_board_changes(api: Api) -> None:
    board, slug = await published_board(api)
    async with browser_session() as http:
        first = await fetch(http, page_url(api, slug))
        etag = first.headers["ETag"]
        again = await fetch(http, page_url(api, slug), headers={"If-None-Match": etag})
        assert again.status == 304 and again.body == ""
        await api.ok(
            "dashboard_update_block",
            board.token,
            dashboard_id=board.id,
            block_id=board.blocks["notes"],
            config={"text": "# Notes\nRevised numbers."},
        )
        changed = await fetch(http, page_url(api, slug), headers={"If-None-Match": etag})
    assert changed.status == 200 and changed.headers["ETag"] != etag
    assert "Revised numbers." in svg_texts(changed)


async def test_head_answers_the_headers_of_the_page(api: Api) -> None:
    _board, slug = await published_board(api)
    async with browser_session() as http:
        head = await fetch(http, page_url(api, slug), "HEAD")
        get = await fetch(http, page_url(api, slug))
    assert head.status == 200 and head.body == ""
    assert head.headers["Content-Type"].startswith("text/html")
    assert head.headers["ETag"] == get.headers["ETag"]
    assert "Content-Security-Policy" in head.headers


# -- the viewer's controls ----------------------------------------------------------


async def test_a_control_choice_redraws_the_page_and_stores_nothing(api: Api) -> None:
    board, slug = await published_board(api)
    before = await run_counts(api, board)
    async with browser_session() as http:
        default = await fetch(http, page_url(api, slug))
        chosen = await fetch(http, page_url(api, slug, "?region=us&utm_source=slack"))
    form = default.forms[0]
    assert form["method"] == "get" and {"region", "period"} <= set(form["fields"])
    assert "total: 10" in default.meta["og:description"]
    assert re.search(r"\b30\b", svg_texts(chosen)) and re.search(r"\b50\b", svg_texts(chosen))
    assert not re.search(r"\b50\b", svg_texts(default))
    assert '<option value="us" selected>' in chosen.body
    assert chosen.headers["ETag"] != default.headers["ETag"]
    # The preview stays the board's own: the choice is this viewer's alone.
    assert chosen.meta["og:image"] == default.meta["og:image"]
    assert await run_counts(api, board) == before
    stored = await api.ok("dashboard_get", board.token, dashboard_id=board.id)
    region = next(b for b in stored["dashboard"]["blocks"] if b["name"] == "region")
    assert region["value"] == "eu"


async def test_a_custom_date_range_is_accepted(api: Api) -> None:
    _board, slug = await published_board(api)
    query = "?period=custom&period.start=2026-01-01&period.end=2026-01-31"
    async with browser_session() as http:
        page = await fetch(http, page_url(api, slug, query))
    assert page.status == 200
    assert page.forms[0]["fields"]["period.start"] == "2026-01-01"


@pytest.mark.parametrize(
    "query", ["?region=mars", "?period=yesterday", "?period=custom&period.start=2026-01-01"]
)
async def test_a_choice_the_control_does_not_allow_is_a_400_page(api: Api, query: str) -> None:
    _board, slug = await published_board(api)
    async with browser_session() as http:
        page = await fetch(http, page_url(api, slug, query))
        as_json = await fetch(http, page_url(api, slug, query), headers={"Accept": "application/json"})
    assert page.status == 400 and "invalid_request" in page.body
    assert as_json.status == 400 and '"error": "invalid_request"' in as_json.body.replace('":"', '": "')


# -- unpublish and delete -----------------------------------------------------------


async def test_unpublish_makes_the_page_and_its_preview_404_at_once(api: Api) -> None:
    board, slug = await published_board(api)
    async with browser_session() as http:
        page = await fetch(http, page_url(api, slug))
        assert page.status == 200
        status, _ = await api.request(
            "DELETE", f"/api/v1/analytics/dashboards/{board.id}/publish", board.token
        )
        assert status == 200
        gone = await fetch(http, page_url(api, slug))
        preview = await fetch(http, page.meta["og:image"])
    assert gone.status == 404 and TITLE not in gone.body
    assert preview.status == 404


async def test_deleting_the_board_makes_the_page_404_and_removes_its_drawings(api: Api) -> None:
    board, slug = await published_board(api)
    async with browser_session() as http:
        assert (await fetch(http, page_url(api, slug))).status == 200
        await api.ok("dashboard_delete", board.token, dashboard_id=board.id)
        assert (await fetch(http, page_url(api, slug))).status == 404
    folder = api.ws.paths.published / board.id
    deadline = time.monotonic() + 10
    while folder.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not folder.exists()


# -- protected boards ---------------------------------------------------------------


def assert_nothing_of_the_board(page: Page, board: Board) -> None:
    text = page.text.lower()
    assert TITLE.lower() not in text
    for name in board.blocks:
        assert not re.search(rf"\b{name}\b", text), name
    for leak in ("<svg", "amounts", "regional numbers", *SQL_TEXT):
        assert leak not in text, leak


async def test_a_protected_board_shows_only_a_form_and_a_generic_card(api: Api) -> None:
    board, slug = await published_board(api, password="s3cret-pass")
    async with browser_session() as http:
        page = await fetch(http, page_url(api, slug))
        card = await fetch(http, api.base + "/public/assets/protected.png")
        preview = await fetch(http, page_url(api, slug, "/preview.png"))
        async with http.get(page.meta["og:image"]) as response:
            image = await response.read()
    assert page.status == 200
    assert [f["method"] for f in page.forms] == ["post"]
    assert {"password", "csrf"} <= set(page.forms[0]["fields"])
    assert_nothing_of_the_board(page, board)
    assert page.meta["og:title"] == "Protected dashboard"
    assert page.meta["og:image"].endswith("/public/assets/protected.png")
    assert page.headers["Cache-Control"] == "no-store"
    assert card.status == 200 and png_size(image) == (1200, 630)
    assert preview.status == 404


async def test_the_right_password_sets_a_scoped_httponly_lax_cookie(api: Api) -> None:
    _board, slug = await published_board(api, password="s3cret-pass")
    async with browser_session() as http:
        answer = await open_protected(api, http, slug, "s3cret-pass")
        assert answer.status == 303 and answer.headers["Location"] == f"/public/dashboards/{slug}"
        cookie = answer.set_cookies()["ballast_access"]
        assert cookie["path"] == f"/public/dashboards/{slug}"
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        assert "s3cret" not in cookie["value"]
        page = await fetch(http, page_url(api, slug))
    assert page.status == 200 and page.meta["og:title"] == TITLE
    assert "Amounts" in svg_texts(page)
    assert page.headers["Cache-Control"].startswith("private")


async def test_the_cookie_stops_working_on_a_password_change_and_on_unpublish(api: Api) -> None:
    board, slug = await published_board(api, password="first-pass")
    async with browser_session() as http:
        assert (await open_protected(api, http, slug, "first-pass")).status == 303
        assert "<svg" in (await fetch(http, page_url(api, slug))).body
        await publish(api, board, "second-pass")  # same slug, new password
        again = await fetch(http, page_url(api, slug))
        assert again.forms and "<svg" not in again.body
        assert (await open_protected(api, http, slug, "second-pass")).status == 303
        assert "<svg" in (await fetch(http, page_url(api, slug))).body
        status, _ = await api.request(
            "DELETE", f"/api/v1/analytics/dashboards/{board.id}/publish", board.token
        )
        assert status == 200
        assert (await fetch(http, page_url(api, slug))).status == 404


async def test_a_forged_cookie_opens_nothing(api: Api) -> None:
    board, slug = await published_board(api, password="s3cret-pass")
    forged = f"{int(time.time()) + 3600}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    async with browser_session() as http:
        page = await fetch(http, page_url(api, slug), headers={"Cookie": f"ballast_access={forged}"})
    assert page.forms and "<svg" not in page.body
    assert_nothing_of_the_board(page, board)


async def test_a_post_without_the_forms_token_is_refused_and_not_counted(api: Api) -> None:
    _board, slug = await published_board(api, password="s3cret-pass")
    async with browser_session() as http:
        for _ in range(12):  # more than the limit: none of these is an attempt
            bare = await fetch(http, page_url(api, slug), "POST", data={"password": "s3cret-pass"})
            assert bare.status == 403 and "ballast_access" not in bare.set_cookies()
        form = await fetch(http, page_url(api, slug))
        token = form.forms[0]["fields"]["csrf"]
        elsewhere = await fetch(
            http,
            page_url(api, slug),
            "POST",
            data={"password": "s3cret-pass", "csrf": token},
            headers={"Origin": "https://evil.example"},
        )
        assert elsewhere.status == 403 and "ballast_access" not in elsewhere.set_cookies()
        wrong_token = await fetch(
            http, page_url(api, slug), "POST", data={"password": "s3cret-pass", "csrf": token[:-2] + "xx"}
        )
        assert wrong_token.status == 403
        assert (await open_protected(api, http, slug, "s3cret-pass")).status == 303


async def test_wrong_passwords_on_the_form_are_rate_limited(api: Api) -> None:
    _board, slug = await published_board(api, password="s3cret-pass")
    async with browser_session() as http:
        for _ in range(10):
            wrong = await open_protected(api, http, slug, "nope")
            assert wrong.status == 403 and "Wrong password" in wrong.body
        limited = await open_protected(api, http, slug, "s3cret-pass")
        reading = await fetch(http, page_url(api, slug))
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
    assert "ballast_access" not in limited.set_cookies()
    assert reading.status == 200 and reading.forms  # reading the form is never refused


async def test_assets_are_served_by_the_server_itself(api: Api) -> None:
    expected = {
        "public.css": "text/css",
        "public.js": "text/javascript",
        "protected.png": "image/png",
        "DejaVuSansMono.ttf": "font/ttf",
    }
    async with browser_session() as http:
        for name, content_type in expected.items():
            async with http.get(f"{api.base}/public/assets/{name}") as response:
                assert response.status == 200 and response.content_type == content_type, name
                assert response.headers["X-Content-Type-Options"] == "nosniff"
        missing = await fetch(http, f"{api.base}/public/assets/../../ballast.db")
    assert missing.status == 404


async def test_an_expired_cookie_opens_nothing(api: Api) -> None:
    from ballast_tui.engine.signing import sign, workspace_secret
    from ballast_tui.storage import repos

    board, slug = await published_board(api, password="s3cret-pass")
    row = repos.board(api.ws.db, board.id)
    assert row is not None
    key = workspace_secret(api.ws.paths.secret)
    expired = int(time.time()) - 1
    parts = ("access", board.id, slug, str(row["password_version"]), str(expired))
    cookie = f"{expired}.{sign(key, *parts)}"
    fresh = int(time.time()) + 600
    valid = f"{fresh}.{sign(key, *parts[:-1], str(fresh))}"
    async with browser_session() as http:
        old = await fetch(http, page_url(api, slug), headers={"Cookie": f"ballast_access={cookie}"})
        new = await fetch(http, page_url(api, slug), headers={"Cookie": f"ballast_access={valid}"})
    assert old.forms and "<svg" not in old.body
    assert "<svg" in new.body  # the same signature scheme, unexpired, opens it


async def test_a_failed_block_shows_that_it_failed_but_not_the_error(api: Api) -> None:
    token = api.token("alice")
    board = (await api.ok("dashboard_create", token, title="Broken"))["dashboard"]["id"]
    added = await api.ok(
        "dashboard_add_block",
        token,
        dashboard_id=board,
        type="sql",
        name="broken",
        config={"sql": "select cast('secret-text' as integer) as n"},
    )
    assert added["block"]["state"] == "error"
    await api.ok(
        "dashboard_set_displayed", token, dashboard_id=board, block_id=added["block"]["id"], displayed=True
    )
    status, answer = await api.request("POST", f"/api/v1/analytics/dashboards/{board}/publish", token)
    assert status == 200
    async with browser_session() as http:
        page = await fetch(http, page_url(api, answer["slug"]))
    assert page.status == 200
    assert "this block could not be computed" in svg_texts(page)
    assert "secret-text" not in page.text and "Conversion" not in page.text


async def test_a_board_showing_nothing_says_so(api: Api) -> None:
    token = api.token("alice")
    board = (await api.ok("dashboard_create", token, title="Empty"))["dashboard"]["id"]
    status, answer = await api.request("POST", f"/api/v1/analytics/dashboards/{board}/publish", token)
    assert status == 200
    async with browser_session() as http:
        page = await fetch(http, page_url(api, answer["slug"]))
    assert page.status == 200 and "This dashboard shows nothing yet." in page.text
    assert page.meta["og:title"] == "Empty"
