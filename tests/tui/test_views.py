"""The block views on the demo dashboard, driven through the real app as a person would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Digits, Input, Markdown, Select, Static

from ballast_tui.engine.workspace import Workspace
from ballast_tui.screens.dashboard import DashboardScreen
from ballast_tui.tools.registry import Context, load_registry
from ballast_tui.widgets.block_cell import BlockCell
from ballast_tui.widgets.chart_axes import abbreviate, date_ticks, nice_ticks, to_days
from ballast_tui.widgets.chart_view import DRAWINGS, ChartView
from ballast_tui.widgets.controls import DateRangeView, EnumView, parse_range
from ballast_tui.widgets.table_view import TableView
from ballast_tui.widgets.views import MetricView, format_metric
from tests.tui.conftest import make_app, settle

BIG = (120, 40)


def call(ws: Workspace, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool called as the workspace's local user, the way the app's backend does."""
    return load_registry().call(Context(ws, ws.users.local(), client="test"), tool, arguments)


def block_id(ws: Workspace, board_id: str, name: str) -> str:
    blocks = call(ws, "dashboard_get", dashboard_id=board_id)["dashboard"]["blocks"]
    return next(b["id"] for b in blocks if b["name"] == name)


def stored_value(ws: Workspace, board_id: str, name: str) -> Any:
    blocks = call(ws, "dashboard_get", dashboard_id=board_id)["dashboard"]["blocks"]
    return next(b["value"] for b in blocks if b["name"] == name)


def cell_of(pilot: Pilot[None], ws: Workspace, board_id: str, name: str) -> BlockCell:
    screen = pilot.app.screen
    assert isinstance(screen, DashboardScreen)
    cell = screen.query_one(f"#cell-{block_id(ws, board_id, name)}", BlockCell)
    return cell


async def wait_until(pilot: Pilot[None], done: Callable[[], bool], rounds: int = 40) -> None:
    """Let the app work (events, cascades, loads) until `done()` holds."""
    for _ in range(rounds):
        await settle(pilot, rounds=1)
        if done():
            return
        await pilot.pause(0.05)
    assert done(), "the app did not get there"


def metric_text(cell: BlockCell) -> str:
    view = cell.view
    assert isinstance(view, MetricView)
    return view.text


def kpi(ws: Workspace, board_id: str, column: str) -> Any:
    data = call(
        ws, "dashboard_block_data", dashboard_id=board_id, block_id=block_id(ws, board_id, "kpis"), limit=1
    )
    return data["rows"][0][column]


# ---------------------------------------------------------------- metrics, markdown


async def test_metric_shows_the_formatted_value_with_its_column_name(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        cell = cell_of(pilot, ws, board_id, "revenue")
        expected = format_metric(kpi(ws, board_id, "revenue"), "$,.0f")
        assert expected.startswith("$") and "," in expected
        assert metric_text(cell) == expected
        line = cell.query_one("#metric-line", Static)
        assert line.display and expected in str(line.render())
        assert "revenue" in str(cell.query_one(".metric-label", Static).render())
        assert "revenue" in cell.title_text
        cell.locked_by = "bob"
        assert "locked by bob" in cell.title_text and cell.has_class("-locked")
        cell.locked_by = ""
        assert "locked" not in cell.title_text


async def test_metric_uses_big_digits_when_its_cell_is_tall(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    rows = call(ws, "dashboard_get", dashboard_id=board_id)["dashboard"]["layout"]["rows"]
    revenue = block_id(ws, board_id, "revenue")
    for row in rows:
        if revenue in row["blocks"]:
            row["height"] = 160
    call(ws, "dashboard_set_layout", dashboard_id=board_id, rows=rows)
    app = make_app(ws, board_id)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        cell = cell_of(pilot, ws, board_id, "revenue")
        big = cell.query_one(Digits)
        assert big.display and big.value == metric_text(cell)
        assert not cell.query_one("#metric-line", Static).display


async def test_markdown_shows_the_text(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        cell = cell_of(pilot, ws, board_id, "intro")
        assert "5 regions" in cell.query_one(Markdown).source


# ---------------------------------------------------------------- tables


async def test_table_shows_formatted_rows_and_a_footer(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        view = cell_of(pilot, ws, board_id, "top_products").view
        assert isinstance(view, TableView)
        table = view.query_one(DataTable)
        assert table.row_count == 8
        assert [str(c.label) for c in table.ordered_columns][:3] == ["product", "category", "revenue"]
        revenue = table.get_row_at(0)[2]
        assert "," in str(revenue) and str(revenue).count(".") == 1 and revenue.justify == "right"
        assert "rows 1–8 of 8" in str(view.query_one(".table-footer", Static).render())


async def test_sql_table_pages_from_the_engine_as_the_cursor_goes_down(
    demo_ws: tuple[Workspace, str],
) -> None:
    ws, board_id = demo_ws
    filtered = block_id(ws, board_id, "filtered")
    call(ws, "dashboard_set_displayed", dashboard_id=board_id, block_id=filtered, displayed=True)
    total = call(ws, "dashboard_block_data", dashboard_id=board_id, block_id=filtered, limit=0)["row_count"]
    assert total > 1000
    app = make_app(ws, board_id)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        view = cell_of(pilot, ws, board_id, "filtered").view
        assert isinstance(view, TableView)
        table = view.query_one(DataTable)
        footer = view.query_one(".table-footer", Static)
        assert table.row_count == 100
        assert f"rows 1–100 of {total:,}" in str(footer.render())
        table.focus()
        for _ in range(9):
            await pilot.press("pagedown")
        await wait_until(pilot, lambda: table.row_count >= 200)
        assert table.row_count < total  # a page more, not everything
        assert f"rows 1–{table.row_count} of {total:,}" in str(footer.render())


# ---------------------------------------------------------------- charts


async def test_charts_draw_the_engine_series_with_readable_axes(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        line = cell_of(pilot, ws, board_id, "daily_revenue").view
        assert isinstance(line, ChartView) and line.series is not None
        assert line.series["points"] > 30 and line.series["kind"] == "line"
        text = line.plot.render().plain  # type: ignore[union-attr]
        assert any(month in text for month in ("Sep", "Oct", "Nov"))  # dates, not day numbers
        assert "k" in text or "M" in text  # abbreviated revenue
        assert "2026-" not in text
        for name in (
            "revenue_by_region",
            "revenue_by_product",
            "channel_mix",
            "order_sizes",
            "product_orders",
        ):
            view = cell_of(pilot, ws, board_id, name).view
            assert isinstance(view, ChartView) and view.series and view.series["points"] > 0, name
            assert not view.has_class("-empty"), name
        mix = cell_of(pilot, ws, board_id, "channel_mix").view
        assert isinstance(mix, ChartView)
        legend = mix.plot.render().plain  # type: ignore[union-attr]
        assert all(channel in legend for channel in ("online", "retail", "partner"))
        bars = cell_of(pilot, ws, board_id, "revenue_by_region").view
        assert isinstance(bars, ChartView)
        assert "North" in bars.plot.render().plain  # type: ignore[union-attr]


async def test_chart_asks_for_points_to_fit_its_width_and_again_when_it_widens(
    demo_ws: tuple[Workspace, str],
) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        view = cell_of(pilot, ws, board_id, "daily_revenue").view
        assert isinstance(view, ChartView)
        assert view.asked_width == view.size.width
        assert view.data_request()["max_points"] == max(20, 2 * view.size.width)
        assert view.data_request()["limit"] == 0
        before = view.asked_width
        await pilot.resize_terminal(160, 40)
        await pilot.pause(0.5)
        await wait_until(pilot, lambda: view.asked_width != before)
        assert view.asked_width == view.size.width > before * 1.1


CHARTS = ("daily_revenue", "revenue_by_region", "revenue_by_product", "channel_mix", "order_sizes")


def drawings(pilot: Pilot[None], ws: Workspace, board_id: str) -> dict[str, tuple[int, int, str]]:
    """Each chart's drawing as the screen shows it: its plot's size and plotext's text."""
    shown = {}
    for name in CHARTS:
        view = cell_of(pilot, ws, board_id, name).view
        assert isinstance(view, ChartView) and not view.has_class("-empty"), name
        width, height = view.plot.size.width, view.plot.size.height
        shown[name] = (width, height, view.plot.drawing(width, height))
    return shown


def kept_drawings(ws: Workspace) -> int:
    folder = ws.paths.cache / DRAWINGS
    return len(list(folder.glob("*.json"))) if folder.is_dir() else 0


async def test_a_chart_drawn_before_is_the_drawing_plotext_makes_and_follows_new_data_and_sizes(
    demo_ws: tuple[Workspace, str],
) -> None:
    """A drawing kept on the workspace is what plotext builds for the same inputs; a new app shows it
    as is, and a new value or a new size draws anew, never an older drawing."""
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        first = drawings(pilot, ws, board_id)
        await wait_until(pilot, lambda: kept_drawings(ws) >= len(CHARTS))
    again = make_app(ws, board_id)
    async with again.run_test(size=BIG) as pilot:
        await settle(pilot)
        assert drawings(pilot, ws, board_id) == first  # read back: the same text at the same sizes
        for name, (width, height, text) in first.items():
            view = cell_of(pilot, ws, board_id, name).view
            assert isinstance(view, ChartView)
            assert view.plot._build(width, height) == text, name  # what plotext draws now
        select = cell_of(pilot, ws, board_id, "region").query_one(Select)
        select.focus()
        await pilot.press("enter", "down", "enter")  # All → North: new series
        await wait_until(
            pilot, lambda: drawings(pilot, ws, board_id)["daily_revenue"] != first["daily_revenue"]
        )
        line = cell_of(pilot, ws, board_id, "daily_revenue").view
        assert isinstance(line, ChartView)
        width, height, text = drawings(pilot, ws, board_id)["daily_revenue"]
        assert line.plot._build(width, height) == text
        await pilot.resize_terminal(150, 44)
        await wait_until(pilot, lambda: line.plot.size.width != first["daily_revenue"][0])
        await settle(pilot)
        width, height, text = drawings(pilot, ws, board_id)["daily_revenue"]
        assert (width, height) != first["daily_revenue"][:2]
        assert line.plot._build(width, height) == text
        assert len(text.splitlines()) == height


def test_axis_helpers_read_like_a_person_writes() -> None:
    assert [abbreviate(t, 500) for t in nice_ticks(0, 1900, 4)] == ["0", "500", "1k", "1.5k", "2k"]
    assert abbreviate(53_855_587) == "54M"
    assert abbreviate(-1_200, 100) == "-1.2k"

    lo = to_days(datetime.fromisoformat("2026-08-26T00:00:00+00:00"))
    hi = to_days(datetime.fromisoformat("2026-11-23T00:00:00+00:00"))
    assert date_ticks(lo, hi, 5)[1] == ["Sep", "Oct", "Nov"]
    assert date_ticks(lo, lo + 10, 6)[1][0] == "Aug 26"
    assert date_ticks(lo, lo + 1.5, 6)[1][:2] == ["Aug 26", "06:00"]


# ---------------------------------------------------------------- controls


async def test_choosing_a_region_stores_it_and_the_metric_follows(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        region = cell_of(pilot, ws, board_id, "region")
        assert isinstance(region.view, EnumView)
        revenue = cell_of(pilot, ws, board_id, "revenue")
        before = metric_text(revenue)
        select = region.query_one(Select)
        assert select.region.height == 1  # fits its row
        select.focus()
        await pilot.press("enter", "down", "enter")  # All → North
        await wait_until(pilot, lambda: stored_value(ws, board_id, "region") == "North")
        expected = format_metric(kpi(ws, board_id, "revenue"), "$,.0f")
        assert expected != before
        await wait_until(pilot, lambda: metric_text(revenue) == expected)
        assert select.value == "North"


async def test_a_value_pushed_by_the_board_shows_without_being_sent_back(
    demo_ws: tuple[Workspace, str],
) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        region = cell_of(pilot, ws, board_id, "region")
        period = cell_of(pilot, ws, board_id, "period")
        sent: list[Any] = []
        original = app.backend.call

        async def spy(tool: str, **arguments: Any) -> dict[str, Any]:
            if tool == "dashboard_set_control":
                sent.append(arguments)
            return await original(tool, **arguments)

        app.backend.call = spy  # type: ignore[method-assign]
        call(ws, "dashboard_set_control", dashboard_id=board_id, block_id=region.block["id"], value="West")
        call(
            ws,
            "dashboard_set_control",
            dashboard_id=board_id,
            block_id=period.block["id"],
            value={"start": "2026-10-01", "end": "2026-10-31"},
        )
        await wait_until(pilot, lambda: region.query_one(Select).value == "West")
        await wait_until(pilot, lambda: period.view.has_class("-custom"))
        assert period.query_one("#range-start", Input).value == "2026-10-01"
        assert period.query_one("#range-end", Input).value == "2026-10-31"
        assert sent == []


async def test_choosing_last_30_days_stores_30d(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        period = cell_of(pilot, ws, board_id, "period")
        assert isinstance(period.view, DateRangeView)
        select = period.query_one(Select)
        assert select.value == "90d"
        select.focus()
        await pilot.press("enter", "up", "enter")  # Last 90 days → Last 30 days
        await wait_until(pilot, lambda: stored_value(ws, board_id, "period") == "30d")
        await wait_until(pilot, lambda: "Oct 25" in str(period.query_one(".control-hint", Static).render()))


async def test_custom_range_refuses_a_bad_date_and_stores_a_good_one(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        period = cell_of(pilot, ws, board_id, "period")
        view = period.view
        assert isinstance(view, DateRangeView)
        period.query_one(Select).focus()
        await pilot.press("enter", "down", "down", "enter")  # Last 90 days → Today → Custom…
        await settle(pilot)
        start = period.query_one("#range-start", Input)
        end = period.query_one("#range-end", Input)
        assert view.has_class("-custom") and start.has_focus
        await pilot.press(*"2026-13-01", "enter")  # Enter with no end yet moves to the end
        assert end.has_focus
        await pilot.press(*"2026-11-01", "enter")
        await settle(pilot)
        assert "not a date" in view.error
        assert "not a date" in str(period.query_one(".control-hint", Static).render())
        assert stored_value(ws, board_id, "period") == "90d"

        start.focus()
        await pilot.press(*["backspace"] * 10, *"2026-11-05", "enter")
        await settle(pilot)
        assert "after the end" in view.error
        assert stored_value(ws, board_id, "period") == "90d"

        await pilot.press(*["backspace"] * 10, *"2026-10-01", "enter")
        await wait_until(
            pilot,
            lambda: stored_value(ws, board_id, "period") == {"start": "2026-10-01", "end": "2026-11-01"},
        )
        assert view.error == ""


def test_parse_range_messages() -> None:
    assert parse_range("2026-01-01", "2026-01-31") == ("", {"start": "2026-01-01", "end": "2026-01-31"})
    assert "not a date" in parse_range("2026-02-30", "2026-03-01")[0]
    assert "start" in parse_range("", "2026-03-01")[0]
    assert "after the end" in parse_range("2026-03-02", "2026-03-01")[0]


# ---------------------------------------------------------------- states and small screens


async def test_a_failing_block_shows_its_error_in_a_red_cell(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    answer = call(
        ws,
        "dashboard_add_block",
        dashboard_id=board_id,
        type="sql",
        name="broken",
        config={"sql": "SELECT 'x'::INTEGER AS n"},
    )
    call(ws, "dashboard_set_displayed", dashboard_id=board_id, block_id=answer["block"]["id"], displayed=True)
    app = make_app(ws, board_id)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        cell = cell_of(pilot, ws, board_id, "broken")
        assert cell.state == "error" and cell.has_class("-error")
        message = cell.query_one(".cell-error", Static)
        assert message.display and "x" in str(message.render())
        assert not cell.view.display


async def test_dashboard_at_80x24_shows_its_first_rows(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        first_rows = screen.dashboard["layout"]["rows"][:2]
        for row in first_rows:
            for bid in row["blocks"]:
                cell = screen.query_one(f"#cell-{bid}", BlockCell)
                assert cell.region.height >= 3 and cell.region.bottom <= 24, cell.block["name"]
                assert cell.state == "success"
        for name in ("period", "region"):
            select = cell_of(pilot, ws, board_id, name).query_one(Select)
            assert select.region.height == 1 and select.region.width >= 10
        chart = cell_of(pilot, ws, board_id, "daily_revenue").view
        assert isinstance(chart, ChartView) and chart.series is not None


async def test_every_chart_kind_draws_any_kind_of_x(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    call(
        ws,
        "dashboard_add_block",
        dashboard_id=board_id,
        type="sql",
        name="odd",
        config={
            "sql": "SELECT range AS n, (range - 5) * 1000.5 AS delta, "
            "CASE WHEN range % 3 = 0 THEN NULL ELSE range * range END AS sparse, "
            "TIMESTAMP '2026-11-23 00:00:00' + INTERVAL (range) HOUR AS at FROM range(12)"
        },
    )
    charts = {
        "bars_by_day": ("daily", "bar", "day", ["online", "retail"]),
        "scatter_by_day": ("daily", "scatter", "day", "orders"),
        "line_by_product": ("by_product", "line", "product", "revenue"),
        "area_by_product": ("by_product", "area", "product", ["units", "orders"]),
        "hist_of_days": ("daily", "histogram", "revenue", "orders"),
        "signed_line": ("odd", "line", "n", ["delta", "sparse"]),
        "hourly_area": ("odd", "area", "at", "delta"),
        "hourly_bars": ("odd", "bar", "at", "sparse"),
    }
    for name, (source, kind, x, y) in charts.items():
        answer = call(
            ws,
            "dashboard_add_block",
            dashboard_id=board_id,
            type="chart",
            name=name,
            config={"source": source, "kind": kind, "x": x, "y": y},
        )
        shown = answer["block"]["id"]
        call(ws, "dashboard_set_displayed", dashboard_id=board_id, block_id=shown, displayed=True)
    app = make_app(ws, board_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for size in ((80, 24), (130, 50)):
            await pilot.resize_terminal(*size)
            await settle(pilot)
            for name in charts:
                view = cell_of(pilot, ws, board_id, name).view
                assert isinstance(view, ChartView) and view.series and view.series["points"] > 0, name
                assert not view.has_class("-empty"), name
                text = view.plot.render().plain  # type: ignore[union-attr]
                assert "┤" in text, name  # an axis with ticks was drawn
        hourly = cell_of(pilot, ws, board_id, "hourly_area").view
        assert isinstance(hourly, ChartView)
        assert ":00" in hourly.plot.render().plain  # type: ignore[union-attr]


async def test_a_running_block_spins_and_an_idle_board_keeps_no_spinner(
    demo_ws: tuple[Workspace, str],
) -> None:
    """The spinner on a cell's border turns while its block runs, and stops (its timer with it) when
    the block is done: an idle board wakes nobody ten times a second."""
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        cells = list(app.screen.query(BlockCell))
        assert cells and all(cell._spinner is None for cell in cells)
        cell = cell_of(pilot, ws, board_id, "revenue")
        cell.running = True
        await pilot.pause(0.05)
        seen = {str(cell.border_subtitle)}
        for _ in range(6):
            await pilot.pause(0.12)
            seen.add(str(cell.border_subtitle))
        assert len(seen) >= 3 and all("running" in text for text in seen)  # it turns
        cell.running = False
        await pilot.pause(0.05)
        assert cell._spinner is None and "running" not in str(cell.border_subtitle)
