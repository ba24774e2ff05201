"""What a published page shows: the viewer's control choices, the page key, and the drawing."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import date
from typing import Any

import pytest
from PIL import Image
from rich.segment import Segment
from rich.style import Style

from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import InvalidRequest, NotFound
from ballast_tui.engine.workspace import Workspace
from ballast_tui.published.page import page_key
from ballast_tui.published.raster import CELL_H, CELL_W, paint
from ballast_tui.published.render import NARROW_WIDTH, WIDTH, draw
from ballast_tui.published.view_app import BoardView, PublishedBackend
from ballast_tui.storage import repos
from ballast_tui.tools.registry import load_registry
from ballast_tui.widgets.chart_series import SERIES_COLORS
from tests.conftest import ToolClient

ROWS = [{"id": i, "region": "eu" if i <= 2 else "us", "amount": 10 * i} for i in range(1, 6)]


@pytest.fixture
def published(call: ToolClient, board: str) -> dict[str, Any]:
    """A published board: region and period controls, a hidden SQL block, a displayed metric."""
    call("catalog_push", dashboard_id=board, name="orders", rows=ROWS)
    ids = {}
    specs = [
        ("region", "param-enum", {"options": ["eu", "us"], "default": "eu"}, True),
        ("period", "filter-daterange", {"default": "30d"}, True),
        (
            "picked",
            "sql",
            {"sql": "select sum(amount) as total from orders where region = $region", "inputs": ["region"]},
            False,
        ),
        ("total", "metric", {"source": "picked", "column": "total"}, True),
    ]
    for name, kind, config, shown in specs:
        ids[name] = call("dashboard_add_block", dashboard_id=board, type=kind, name=name, config=config)[
            "block"
        ]["id"]
        if shown:
            call("dashboard_set_displayed", dashboard_id=board, block_id=ids[name], displayed=True)
    slug = call("dashboard_publish", dashboard_id=board)["slug"]
    return {"board": board, "slug": slug, "ids": ids}


def blocks_of(ws: Workspace, board: str) -> list[dict[str, Any]]:
    return repos.blocks(ws.db, board)


def anonymous(ws: Workspace, tool: str, **arguments: Any) -> dict[str, Any]:
    """A published-link tool, called as someone without an account."""
    return load_registry().call(Context.anonymous(ws), tool, arguments)


def overrides_from_query(ws: Workspace, slug: str, query: dict[str, str]) -> dict[str, Any]:
    chosen: dict[str, Any] = anonymous(ws, "public_page", slug=slug, choices=query)["overrides"]
    return chosen


def test_choices_are_read_by_control_name_and_unknown_parameters_ignored(
    ws: Workspace, published: dict[str, Any]
) -> None:
    slug = published["slug"]
    ids = published["ids"]
    chosen = overrides_from_query(ws, slug, {"region": "us", "period": "7d", "utm_source": "slack"})
    assert chosen == {ids["region"]: "us", ids["period"]: "7d"}
    custom = {"period": "custom", "period.start": "2026-01-01", "period.end": "2026-01-31"}
    assert overrides_from_query(ws, slug, custom) == {
        ids["period"]: {"start": "2026-01-01", "end": "2026-01-31"}
    }


def test_a_choice_equal_to_the_stored_value_is_no_override(ws: Workspace, published: dict[str, Any]) -> None:
    assert overrides_from_query(ws, published["slug"], {"region": "eu", "period": "30d"}) == {}


@pytest.mark.parametrize(
    "query",
    [
        {"region": "mars"},
        {"period": "sometime"},
        {"period": "custom", "period.start": "2026-01-01"},
        {"period": "custom", "period.start": "2026-02-01", "period.end": "2026-01-01"},
    ],
)
def test_a_choice_the_control_does_not_allow_is_refused(
    ws: Workspace, published: dict[str, Any], query: dict[str, str]
) -> None:
    with pytest.raises(InvalidRequest):
        overrides_from_query(ws, published["slug"], query)


def test_hidden_blocks_cannot_be_chosen(ws: Workspace, call: ToolClient, published: dict[str, Any]) -> None:
    ids = published["ids"]
    call("dashboard_set_displayed", dashboard_id=published["board"], block_id=ids["region"], displayed=False)
    assert overrides_from_query(ws, published["slug"], {"region": "us"}) == {}


def test_the_key_changes_with_runs_choices_and_the_day_only(
    ws: Workspace, call: ToolClient, published: dict[str, Any]
) -> None:
    board_id = published["board"]
    board = repos.board(ws.db, board_id)
    assert board is not None
    blocks = blocks_of(ws, board_id)
    today = date(2026, 11, 23)
    key = page_key(board, blocks, {}, today)
    assert page_key(board, blocks, {}, today) == key
    assert page_key(board, blocks, {published["ids"]["region"]: "us"}, today) != key
    assert page_key(board, blocks, {}, date(2026, 11, 24)) != key  # "30d" moves with the day
    call("dashboard_refresh", dashboard_id=board_id)
    refreshed = repos.board(ws.db, board_id)
    assert refreshed is not None
    assert page_key(refreshed, blocks_of(ws, board_id), {}, today) != key


def test_an_unpublished_slug_has_no_state(ws: Workspace, call: ToolClient, published: dict[str, Any]) -> None:
    assert anonymous(ws, "public_page", slug=published["slug"])["key"]
    call("dashboard_unpublish", dashboard_id=published["board"])
    with pytest.raises(NotFound):
        anonymous(ws, "public_page", slug=published["slug"])


def test_a_choice_recomputes_the_shown_blocks_and_stores_nothing(
    ws: Workspace, published: dict[str, Any]
) -> None:
    slug = published["slug"]
    runs_before = ws.db.row("SELECT count(*) AS n FROM runs")["n"]
    shown = anonymous(ws, "public_board_view", slug=slug, filter_overrides={"region": "us"})
    assert [b["name"] for b in shown["blocks"]] == ["region", "period", "total"]
    region, _period, _total = shown["blocks"]
    assert region["value"] == "us"
    assert "sql" not in str(shown) and "sum(amount)" not in str(shown)
    data = anonymous(ws, "public_block_data", slug=slug, block_id="total", filter_overrides={"region": "us"})
    assert data["rows"] == [{"total": 120}]
    assert ws.db.row("SELECT count(*) AS n FROM runs")["n"] == runs_before


def test_the_drawing_shows_the_blocks_and_a_preview_of_1200x630(
    ws: Workspace, published: dict[str, Any]
) -> None:
    registry, ctx, choices = load_registry(), Context.anonymous(ws), {"region": "us"}
    answer = registry.call(ctx, "public_board_view", {"slug": published["slug"], "filter_overrides": choices})
    backend = PublishedBackend(registry, ctx, BoardView.from_answer(published["slug"], choices, answer))
    drawing = asyncio.run(draw(backend))
    assert drawing.svg.startswith("<svg") and "https://" not in drawing.svg.split("</style>")[0]
    assert "total" in drawing.svg and "120" in drawing.svg
    assert "picked" not in drawing.svg and "sum(amount)" not in drawing.svg
    assert "total: 120" in drawing.description
    assert Image.open(io.BytesIO(drawing.png)).size == (1200, 630)


def test_the_phones_drawing_is_narrow_with_one_block_per_row_and_ids_of_its_own(
    ws: Workspace, published: dict[str, Any]
) -> None:
    registry, ctx = load_registry(), Context.anonymous(ws)
    answer = registry.call(ctx, "public_board_view", {"slug": published["slug"]})
    view = BoardView.from_answer(published["slug"], {}, answer)
    wide = asyncio.run(draw(PublishedBackend(registry, ctx, view)))
    narrow = asyncio.run(draw(PublishedBackend(registry, ctx, view.stacked()), NARROW_WIDTH, preview=False))
    in_order = [block for row in view.layout["rows"] for block in row["blocks"]]
    assert view.stacked().layout["rows"] == [{"blocks": [block]} for block in in_order]

    def view_width(svg: str) -> float:
        found = re.search(r'viewBox="0 0 ([0-9.]+) ', svg)
        assert found is not None
        return float(found[1])

    assert view_width(narrow.svg) / view_width(wide.svg) == pytest.approx(NARROW_WIDTH / WIDTH, rel=0.02)
    assert "total" in narrow.svg and "10" in narrow.svg and narrow.png == b""
    ids = re.compile(r'id="([^"]+)"')
    assert set(ids.findall(wide.svg)).isdisjoint(ids.findall(narrow.svg))  # one page holds both


def test_paint_places_each_character_on_its_cell_and_draws_braille_as_dots() -> None:
    red = Style.parse("#ff0000 on #000000")
    png = paint([[Segment("█⣿", red)]], (4 * CELL_W, CELL_H), padding=(0, 0))
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (4 * CELL_W, CELL_H)
    block_pixel = image.getpixel((CELL_W // 2, CELL_H // 2))
    assert block_pixel[0] > 150 and block_pixel[1] < 80  # the full block is red
    dots = [image.getpixel((CELL_W + 3, 2 + row * 5)) for row in range(4)]
    assert all(p[0] > 150 for p in dots)  # all eight dots of ⣿ in the second cell
    assert image.getpixel((CELL_W + 1, 0))[0] < 50  # and the gaps between them stay black


def test_a_chart_with_series_shows_its_legend_on_the_page_and_in_the_preview(
    ws: Workspace, call: ToolClient, board: str
) -> None:
    rows = [
        {"day": f"2026-01-{d:02d}", "region": region, "revenue": 100 * (4 - i) + 10 * d}
        for d in range(1, 29)
        for i, region in enumerate(["Nordics", "Iberia", "Benelux", "Balkans"])
    ]
    call("catalog_push", dashboard_id=board, name="sales", rows=rows)
    config = {"source": "sales", "kind": "area", "x": "day", "y": "revenue", "series": "region"}
    chart = call("dashboard_add_block", dashboard_id=board, type="chart", name="trend", config=config)[
        "block"
    ]
    call("dashboard_set_displayed", dashboard_id=board, block_id=chart["id"], displayed=True)
    slug = call("dashboard_publish", dashboard_id=board)["slug"]
    registry, ctx = load_registry(), Context.anonymous(ws)
    answer = registry.call(ctx, "public_board_view", {"slug": slug})
    assert answer["blocks"][0]["config"]["series"] == "region"
    backend = PublishedBackend(registry, ctx, BoardView.from_answer(slug, {}, answer))
    drawing = asyncio.run(draw(backend))
    for region in ("Nordics", "Iberia", "Benelux", "Balkans"):
        assert region in drawing.svg, region
    # The preview is painted from the same cells: each series' colour is on it.
    image = Image.open(io.BytesIO(drawing.png)).convert("RGB")
    colours = {rgb for _count, rgb in image.getcolors(maxcolors=1_000_000) or []}
    for rgb in SERIES_COLORS[:4]:
        assert rgb in colours, rgb
    public = anonymous(ws, "public_dashboard", slug=slug)["dashboard"]["blocks"][0]
    assert public["series"]["names"] == ["Nordics", "Iberia", "Benelux", "Balkans"]
