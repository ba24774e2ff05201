"""A published link's options: setting them (owner only, audited, announced), what an origin is, and
the CSV a link's reader may download; the phone's one-block-per-row layout."""

from __future__ import annotations

from typing import Any

import pytest

from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import Forbidden, InvalidRequest, NotFound, ToolError
from ballast_tui.engine.events import BoardChanged, Event
from ballast_tui.engine.public_options import parse_origin
from ballast_tui.engine.workspace import Workspace
from ballast_tui.published.board import one_per_row
from ballast_tui.tools.registry import load_registry
from tests.conftest import ToolClient

ROWS = [{"id": i, "region": "eu" if i <= 2 else "us", "amount": 10 * i} for i in range(1, 6)]


@pytest.fixture
def published(call: ToolClient, board: str) -> dict[str, Any]:
    """A published board: a region control, a hidden SQL block, a displayed chart, table and metric."""
    call("catalog_push", dashboard_id=board, name="orders", rows=ROWS)
    ids = {}
    specs = [
        ("region", "param-enum", {"options": ["eu", "us"], "default": "eu"}, True),
        (
            "picked",
            "sql",
            {"sql": "select id, amount from orders where region = $region order by id", "inputs": ["region"]},
            False,
        ),
        ("amounts", "chart", {"source": "picked", "kind": "bar", "x": "id", "y": "amount"}, True),
        ("detail", "table", {"source": "picked"}, True),
        ("total", "metric", {"source": "picked", "column": "amount"}, True),
    ]
    for name, kind, config, shown in specs:
        ids[name] = call("dashboard_add_block", dashboard_id=board, type=kind, name=name, config=config)[
            "block"
        ]["id"]
        if shown:
            call("dashboard_set_displayed", dashboard_id=board, block_id=ids[name], displayed=True)
    slug = call("dashboard_publish", dashboard_id=board)["slug"]
    return {"board": board, "slug": slug, "ids": ids}


def options(call: ToolClient, board: str) -> dict[str, Any]:
    answer: dict[str, Any] = call("dashboard_get", dashboard_id=board)["dashboard"]["publicOptions"]
    return answer


def audit_actions(call: ToolClient, board: str) -> list[str]:
    return [event["action"] for event in call("dashboard_audit", dashboard_id=board)["events"]]


def anonymous(ws: Workspace, tool: str, **arguments: Any) -> dict[str, Any]:
    return load_registry().call(Context.anonymous(ws), tool, arguments)


# -- origins ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("https://wiki.example.com", "https://wiki.example.com"),
        ("https://Wiki.Example.com:8443", "https://wiki.example.com:8443"),
        ("http://intranet:8080", "http://intranet:8080"),
        ("https://10.0.0.7", "https://10.0.0.7"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
    ],
)
def test_an_origin_is_scheme_host_and_port(text: str, origin: str) -> None:
    assert parse_origin(text) == origin


@pytest.mark.parametrize(
    "text",
    [
        "wiki.example.com",  # no scheme
        "https://wiki.example.com/",  # a path, even an empty one
        "https://wiki.example.com/page",
        "https://*.example.com",  # a wildcard
        "*",
        "'self'",
        "ftp://wiki.example.com",
        "javascript://x",
        "https://user@wiki.example.com",
        "https://wiki.example.com:0",
        "https://wiki.example.com:65536",
        "https://300.1.1.1",
        "https://wiki.example.com; script-src *",  # would smuggle a directive into the CSP
        "https://wiki example.com",
        "https://-bad-.example.com",
        "https://[::g]",
        "",
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_origin(text)


# -- setting them ------------------------------------------------------------------


def test_options_are_off_by_default_and_the_owner_sets_them(
    ws: Workspace, call: ToolClient, published: dict[str, Any]
) -> None:
    board = published["board"]
    assert options(call, board) == {"downloads": False, "embed_origins": []}
    seen: list[Event] = []
    unsubscribe = ws.bus.subscribe(board, seen.append)
    try:
        answer = call(
            "dashboard_set_public_options",
            dashboard_id=board,
            downloads=True,
            embed_origins=["https://Wiki.example.com", "https://wiki.example.com", "http://intranet:8080"],
        )
    finally:
        unsubscribe()
    expected = {"downloads": True, "embed_origins": ["https://wiki.example.com", "http://intranet:8080"]}
    assert {k: answer[k] for k in expected} == expected
    assert options(call, board) == expected
    assert audit_actions(call, board).count("public_options") == 1
    assert [e.change for e in seen if isinstance(e, BoardChanged)] == ["public_options"]
    # Leaving one out keeps it; an empty list allows no site.
    call("dashboard_set_public_options", dashboard_id=board, embed_origins=[])
    assert options(call, board) == {"downloads": True, "embed_origins": []}
    # Asking for what is already there changes nothing, so nothing is audited.
    call("dashboard_set_public_options", dashboard_id=board, downloads=True)
    assert audit_actions(call, board).count("public_options") == 2


def test_options_outlive_unpublishing_and_a_republished_link_keeps_them(
    call: ToolClient, published: dict[str, Any]
) -> None:
    board = published["board"]
    call("dashboard_set_public_options", dashboard_id=board, downloads=True)
    call("dashboard_unpublish", dashboard_id=board)
    assert options(call, board)["downloads"] is True
    call("dashboard_publish", dashboard_id=board)
    assert options(call, board)["downloads"] is True


@pytest.mark.parametrize(
    "arguments",
    [
        {"embed_origins": ["https://ok.example", "https://bad.example/path"]},
        {"embed_origins": "https://one.example"},
        {"embed_origins": [f"https://site{i}.example" for i in range(21)]},
        {"downloads": "yes"},
        {"frame": ["https://ok.example"]},
    ],
)
def test_bad_options_are_400_and_change_nothing(
    call: ToolClient, published: dict[str, Any], arguments: dict[str, Any]
) -> None:
    board = published["board"]
    before = options(call, board), audit_actions(call, board)
    with pytest.raises(InvalidRequest):
        call("dashboard_set_public_options", dashboard_id=board, **{"downloads": True, **arguments})
    assert (options(call, board), audit_actions(call, board)) == before


@pytest.mark.parametrize(
    ("role", "refusal"), [("editor", Forbidden), ("viewer", Forbidden), (None, Forbidden)]
)
def test_only_the_owner_sets_options(
    call: ToolClient,
    make_client: Any,
    published: dict[str, Any],
    role: str | None,
    refusal: type[ToolError],
) -> None:
    board = published["board"]
    other: ToolClient = make_client("bob")
    if role is not None:
        call("dashboard_grant", dashboard_id=board, user="bob", role=role)
    before = options(call, board), audit_actions(call, board)
    with pytest.raises(refusal):
        other("dashboard_set_public_options", dashboard_id=board, downloads=True)
    assert (options(call, board), audit_actions(call, board)) == before


def test_an_unknown_board_is_404(call: ToolClient) -> None:
    with pytest.raises(NotFound):
        call("dashboard_set_public_options", dashboard_id="dash_nosuchboard0000", downloads=True)


# -- the CSV a link's reader downloads -------------------------------------------------


def test_no_csv_until_the_owner_turns_downloads_on(
    ws: Workspace, call: ToolClient, published: dict[str, Any]
) -> None:
    slug = published["slug"]
    with pytest.raises(NotFound):
        anonymous(ws, "public_block_csv", slug=slug, block_id="detail")
    assert anonymous(ws, "public_page", slug=slug)["downloads"] == []
    call("dashboard_set_public_options", dashboard_id=published["board"], downloads=True)
    answer = anonymous(ws, "public_block_csv", slug=slug, block_id="detail", choices={"region": "us"})
    assert answer["row_count"] == 3 and [c["name"] for c in answer["columns"]] == ["id", "amount"]
    assert answer["download"] == f"/public/dashboards/{slug}/blocks/detail.csv?region=us"


def test_the_page_links_each_displayed_table_and_chart_with_its_choices(
    ws: Workspace, call: ToolClient, published: dict[str, Any]
) -> None:
    slug = published["slug"]
    call("dashboard_set_public_options", dashboard_id=published["board"], downloads=True)
    state = anonymous(ws, "public_page", slug=slug, choices={"region": "us", "utm_source": "mail"})
    assert [(d["name"], d["href"]) for d in state["downloads"]] == [
        ("amounts", f"/public/dashboards/{slug}/blocks/amounts.csv?region=us"),
        ("detail", f"/public/dashboards/{slug}/blocks/detail.csv?region=us"),
    ]


@pytest.mark.parametrize("block", ["picked", "total", "region", "nothing"])
def test_hidden_blocks_metrics_and_controls_have_no_csv(
    ws: Workspace, call: ToolClient, published: dict[str, Any], block: str
) -> None:
    call("dashboard_set_public_options", dashboard_id=published["board"], downloads=True)
    with pytest.raises(NotFound):
        anonymous(ws, "public_block_csv", slug=published["slug"], block_id=block)


def test_another_boards_block_is_not_found(
    ws: Workspace, call: ToolClient, published: dict[str, Any]
) -> None:
    other = call("dashboard_create", title="Other")["dashboard"]["id"]
    note = call("dashboard_add_block", dashboard_id=other, type="markdown", config={"text": "x"})["block"]
    call("dashboard_set_public_options", dashboard_id=published["board"], downloads=True)
    with pytest.raises(NotFound) as refused:
        anonymous(ws, "public_block_csv", slug=published["slug"], block_id=note["id"])
    assert other not in refused.value.message


def test_a_choice_the_control_does_not_allow_is_400(
    ws: Workspace, call: ToolClient, published: dict[str, Any]
) -> None:
    call("dashboard_set_public_options", dashboard_id=published["board"], downloads=True)
    with pytest.raises(InvalidRequest):
        anonymous(ws, "public_block_csv", slug=published["slug"], block_id="detail", choices={"region": "x"})


# -- the phone's layout -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "stacked"),
    [
        ({"rows": []}, {"rows": []}),
        (
            {"rows": [{"blocks": ["a", "b", "c"], "cols": [4, 4, 4]}, {"blocks": ["d"]}]},
            {"rows": [{"blocks": ["a"]}, {"blocks": ["b"]}, {"blocks": ["c"]}, {"blocks": ["d"]}]},
        ),
        (
            {"rows": [{"blocks": ["a", "b"], "height": 400}]},
            {"rows": [{"blocks": ["a"], "height": 400}, {"blocks": ["b"], "height": 400}]},
        ),
    ],
)
def test_a_narrow_screen_gets_one_block_per_row(layout: dict[str, Any], stacked: dict[str, Any]) -> None:
    assert one_per_row(layout) == stacked
