"""A published link's options over real HTTP: who may frame the page, and its CSV downloads (the
password cookie, the refusals, the new-choice limit). Real server, real drawing process."""

from __future__ import annotations

import csv
import io
from typing import Any

import aiohttp

from tests.server.conftest import Api
from tests.server.public_pages import Page, browser_session, fetch, open_protected, page_url
from tests.server.test_api import assert_error
from tests.server.test_public import Board, build_board, publish

TOOL = "/api/v1/tools/dashboard_set_public_options"


async def published_board(api: Api, password: str | None = None, **options: Any) -> tuple[Board, str]:
    board = await build_board(api, api.token("alice"))
    slug = await publish(api, board, password)
    if options:
        await api.ok("dashboard_set_public_options", board.token, dashboard_id=board.id, **options)
    return board, slug


def csv_url(api: Api, slug: str, name: str, query: str = "") -> str:
    return page_url(api, slug, f"/blocks/{name}.csv{query}")


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def directives(page: Page) -> dict[str, str]:
    """The page's CSP, directive name -> its sources."""
    policy = page.headers["Content-Security-Policy"]
    parts = (part.strip().partition(" ") for part in policy.split(";") if part.strip())
    return {name: sources for name, _, sources in parts}


# -- framing ------------------------------------------------------------------------


async def test_no_site_may_frame_the_page_by_default(api: Api) -> None:
    _board, slug = await published_board(api)
    async with browser_session() as http:
        page = await fetch(http, page_url(api, slug))
    assert page.status == 200
    assert directives(page)["frame-ancestors"] == "'none'"
    assert page.headers["X-Frame-Options"] == "DENY"


async def test_frame_ancestors_lists_exactly_the_owners_origins(api: Api) -> None:
    origins = ["https://wiki.example.com", "http://intranet.example:8080"]
    board, slug = await published_board(api, embed_origins=origins)
    async with browser_session() as http:
        page = await fetch(http, page_url(api, slug))
        head = await fetch(http, page_url(api, slug), "HEAD")
        again = await fetch(http, page_url(api, slug), headers={"If-None-Match": page.headers["ETag"]})
        chosen = await fetch(http, page_url(api, slug, "?region=us"))
        await api.ok("dashboard_set_public_options", board.token, dashboard_id=board.id, embed_origins=[])
        closed = await fetch(http, page_url(api, slug), headers={"If-None-Match": page.headers["ETag"]})
        preview = await fetch(http, page_url(api, slug, "/preview.png"))
    for answer in (page, head, again, chosen):
        assert directives(answer)["frame-ancestors"] == " ".join(origins), answer.status
        assert "X-Frame-Options" not in answer.headers  # it can name no origin: it would contradict
    assert again.status == 304
    # Changing the options changes the page's key: no stale 304, and no framing any more.
    assert closed.status == 200 and directives(closed)["frame-ancestors"] == "'none'"
    assert closed.headers["X-Frame-Options"] == "DENY"
    # Only the page may be framed: not its preview, not its files.
    assert directives(preview)["frame-ancestors"] == "'none'"


async def test_a_protected_boards_password_form_is_never_framed(api: Api) -> None:
    _board, slug = await published_board(api, "s3cret-pass", embed_origins=["https://wiki.example.com"])
    async with browser_session() as http:
        form = await fetch(http, page_url(api, slug))
        assert form.forms and directives(form)["frame-ancestors"] == "'none'"
        assert (await open_protected(api, http, slug, "s3cret-pass")).status == 303
        page = await fetch(http, page_url(api, slug))
    assert directives(page)["frame-ancestors"] == "https://wiki.example.com"


# -- setting the options: refusals change nothing -------------------------------------------


async def options_of(api: Api, board: Board) -> dict[str, Any]:
    got = await api.ok("dashboard_get", board.token, dashboard_id=board.id)
    return dict(got["dashboard"]["publicOptions"])


async def test_bad_origins_a_non_owner_and_an_unknown_board_are_refused(api: Api) -> None:
    board, _slug = await published_board(api, downloads=True, embed_origins=["https://wiki.example.com"])
    before = await options_of(api, board)
    editor = api.token("ed")
    await api.ok("dashboard_grant", board.token, dashboard_id=board.id, user="ed", role="editor")
    refusals: list[tuple[str, dict[str, Any], int, str]] = [
        (
            board.token,
            {"dashboard_id": board.id, "embed_origins": ["https://wiki.example.com/"]},
            400,
            "invalid_request",
        ),
        (board.token, {"dashboard_id": board.id, "embed_origins": ["*"]}, 400, "invalid_request"),
        (editor, {"dashboard_id": board.id, "downloads": False}, 403, "forbidden"),
        (board.token, {"dashboard_id": "dash_nosuchboard0000", "downloads": False}, 404, "not_found"),
    ]
    for token, body, status, code in refusals:
        got_status, answer = await api.request("POST", TOOL, token, json=body)
        assert_error(got_status, answer, status, code)
    assert await options_of(api, board) == before


# -- downloads ------------------------------------------------------------------------


async def test_the_page_links_a_csv_per_displayed_table_and_chart_with_its_choices(api: Api) -> None:
    _board, slug = await published_board(api, downloads=True)
    async with browser_session() as http:
        page = await fetch(http, page_url(api, slug, "?region=us&utm_source=mail"))
        async with http.get(api.base + f"/public/dashboards/{slug}/blocks/detail.csv?region=us") as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
            assert response.headers["Content-Disposition"] == 'attachment; filename="detail.csv"'
            assert response.headers["X-Ballast-Rows"] == "3"
            body = await response.text()
    csv_links = [link for link in page.links if ".csv" in link]
    assert csv_links == [
        f"/public/dashboards/{slug}/blocks/amounts.csv?region=us",
        f"/public/dashboards/{slug}/blocks/detail.csv?region=us",
    ]
    assert csv_rows(body) == [
        {"id": "3", "amount": "30"},
        {"id": "4", "amount": "40"},
        {"id": "5", "amount": "50"},
    ]


async def test_no_csv_links_and_404_while_downloads_are_off(api: Api) -> None:
    board, slug = await published_board(api)
    async with browser_session() as http:
        page = await fetch(http, page_url(api, slug))
        status, body = await api.request("GET", f"/public/dashboards/{slug}/blocks/detail.csv")
        assert_error(status, body, 404, "not_found")
        await api.ok("dashboard_set_public_options", board.token, dashboard_id=board.id, downloads=True)
        on = await fetch(http, page_url(api, slug))
        async with http.get(csv_url(api, slug, "detail")) as response:
            assert response.status == 200
    assert not [link for link in page.links if ".csv" in link]
    assert [link for link in on.links if ".csv" in link]
    assert on.headers["ETag"] != page.headers["ETag"]


async def test_hidden_blocks_metrics_other_boards_and_bad_choices_are_refused(api: Api) -> None:
    board, slug = await published_board(api, downloads=True)
    other = await build_board(api, board.token, "Other Board")
    await publish(api, other)
    cases = [
        ("by_region", "", 404, "not_found"),  # hidden
        ("secret_internal", "", 404, "not_found"),
        (board.blocks["by_region"], "", 404, "not_found"),  # hidden, by id
        ("total", "", 404, "not_found"),  # a metric: no table, no chart
        (other.blocks["detail"], "", 404, "not_found"),  # another board's table
        ("detail", "?region=mars", 400, "invalid_request"),
    ]
    for name, query, status, code in cases:
        got, body = await api.request("GET", f"/public/dashboards/{slug}/blocks/{name}.csv{query}")
        assert_error(got, body, status, code)
        assert "hush" not in body["message"] and "orders" not in body["message"]
    got, body = await api.request("GET", "/public/dashboards/nothing-000000000000/blocks/detail.csv")
    assert_error(got, body, 404, "not_found")


async def test_a_protected_boards_csv_needs_its_password_cookie(api: Api) -> None:
    _board, slug = await published_board(api, "s3cret-pass", downloads=True)
    status, body = await api.request("GET", f"/public/dashboards/{slug}/blocks/detail.csv")
    assert_error(status, body, 403, "password_required")
    assert "Regional" not in str(body)
    async with browser_session() as http:
        form = await fetch(http, csv_url(api, slug, "detail"), headers={"Accept": "text/html"})
        assert form.status == 403 and form.forms and "<svg" not in form.body
        assert "amount" not in form.text.lower()
        assert (await open_protected(api, http, slug, "s3cret-pass")).status == 303
        async with http.get(csv_url(api, slug, "detail", "?region=us")) as response:
            assert response.status == 200
            assert response.headers["Cache-Control"] == "private, no-store"
            rows = csv_rows(await response.text())
    assert [row["id"] for row in rows] == ["3", "4", "5"]


async def test_new_choices_in_csv_downloads_are_limited_like_the_pages(api: Api) -> None:
    """More than 30 new choices a minute from one client answer 429, CSVs and pages together."""
    owner = api.token("olivia")
    board = (await api.ok("dashboard_create", owner, title="Visits"))["dashboard"]["id"]
    period = await api.ok(
        "dashboard_add_block", owner, dashboard_id=board, type="filter-daterange", name="period", config={}
    )
    visits = await api.ok(
        "dashboard_add_block",
        owner,
        dashboard_id=board,
        type="sql",
        name="visits",
        config={
            "sql": "select range as day from range(100) where range <= ($period_end - $period_start)",
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
    slug = (await api.ok("dashboard_publish", owner, dashboard_id=board))["slug"]
    await api.ok("dashboard_set_public_options", owner, dashboard_id=board, downloads=True)
    statuses: list[int] = []
    retry: list[str] = []
    async with aiohttp.ClientSession() as http:
        for day in range(32):
            end = f"2026-{3 + day // 28:02d}-{1 + day % 28:02d}"
            query = f"?period=custom&period.start=2026-01-01&period.end={end}"
            async with http.get(csv_url(api, slug, "visits", query)) as response:
                statuses.append(response.status)
                if response.status == 429:
                    retry.append(response.headers["Retry-After"])
                await response.read()
        async with http.get(csv_url(api, slug, "visits")) as stored:
            assert stored.status == 200  # the stored values are no new choice: never limited
    assert statuses[:30] == [200] * 30 and statuses[30:] == [429, 429], statuses
    assert all(int(wait) >= 1 for wait in retry)
