"""Block tools: adding each type, refusals that save nothing, versions, renames, deletes."""

from __future__ import annotations

from typing import Any

import pytest

from ballast_tui.engine.errors import Conflict, InvalidRequest, NotFound
from tests.conftest import ToolClient

VALID_BLOCKS: list[tuple[str, dict[str, Any]]] = [
    ("sql", {"sql": "SELECT * FROM sales"}),
    ("chart", {"source": "sales", "kind": "line", "x": "day", "y": "amount", "title": "Sales"}),
    ("chart", {"source": "sales", "kind": "bar", "x": "day", "y": ["amount"]}),
    ("table", {"source": "sales", "columns": ["day"]}),
    ("table", {"source": "sales"}),
    ("metric", {"source": "sales", "column": "amount", "format": "0.0"}),
    ("markdown", {"text": "# Hello"}),
    ("filter-daterange", {"default": "30d"}),
    ("filter-daterange", {"default": "today"}),
    ("filter-daterange", {"default": {"start": "2024-01-01", "end": "2024-01-31"}}),
    ("param-enum", {"options": ["a", "b"], "default": "b"}),
    ("param-enum", {"options": [1, 2, 3]}),
]


def _state(call: ToolClient, board: str) -> Any:
    """What a refused add or update must leave alone: blocks (names, configs, versions) and the audit."""
    blocks = call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]
    audit = call("dashboard_audit", dashboard_id=board)["events"]
    return [(b["id"], b["name"], b["config"], b["version"], b.get("value")) for b in blocks], len(audit)


@pytest.fixture
def sales_board(call: ToolClient, board: str) -> str:
    call(
        "catalog_push",
        dashboard_id=board,
        name="sales",
        rows=[{"day": "2024-01-01", "amount": 3}, {"day": "2024-01-02", "amount": 5}],
    )
    return board


def _add(call: ToolClient, board: str, block_type: str, name: str | None = None, **config: Any) -> Any:
    args: dict[str, Any] = {"dashboard_id": board, "type": block_type, "config": config}
    if name is not None:
        args["name"] = name
    return call("dashboard_add_block", **args)["block"]


@pytest.mark.parametrize(("block_type", "config"), VALID_BLOCKS)
def test_each_block_type_is_saved_hidden_and_runs(
    call: ToolClient, sales_board: str, block_type: str, config: dict[str, Any]
) -> None:
    answer = call("dashboard_add_block", dashboard_id=sales_board, type=block_type, config=config)
    block = answer["block"]
    assert block["type"] == block_type
    assert block["displayed"] is False
    assert block["version"] == 1
    assert block["state"] == "success", block["error"]
    assert answer["cascade"]["ran"] == [block["id"]]
    assert block["name"] == block_type.replace("-", "_") + "_1"
    for key, value in config.items():
        assert block["config"][key] == value
    stored = call("dashboard_get", dashboard_id=sales_board)["dashboard"]["blocks"]
    assert [b["id"] for b in stored] == [block["id"]]


def test_control_default_is_its_first_option_and_its_stored_value(call: ToolClient, board: str) -> None:
    block = _add(call, board, "param-enum", "region", options=["north", "south"])
    assert block["config"]["default"] == "north"
    assert block["value"] == "north"


BAD_ADDS: list[tuple[str, str, str | None, dict[str, Any]]] = [
    ("unknown type", "pie", None, {"text": "x"}),
    ("name with capitals and dash", "markdown", "Bad-Name", {"text": "x"}),
    ("name starting with a digit", "markdown", "1abc", {"text": "x"}),
    ("empty name", "markdown", "", {"text": "x"}),
    ("name taken by a block", "markdown", "existing", {"text": "x"}),
    ("name taken by a source", "markdown", "sales", {"text": "x"}),
    ("sql not a string", "sql", None, {"sql": 42}),
    ("empty sql", "sql", None, {"sql": ""}),
    ("chart kind pie", "chart", None, {"source": "sales", "kind": "pie", "x": "day", "y": "amount"}),
    ("chart y empty list", "chart", None, {"source": "sales", "kind": "line", "x": "day", "y": []}),
    ("chart missing x", "chart", None, {"source": "sales", "kind": "line", "y": "amount"}),
    ("enum options empty", "param-enum", None, {"options": []}),
    ("enum default not an option", "param-enum", None, {"options": ["a", "b"], "default": "c"}),
    ("enum default true vs option 1", "param-enum", None, {"options": [1, 2], "default": True}),
    ("daterange 7x", "filter-daterange", None, {"default": "7x"}),
    ("daterange 0d", "filter-daterange", None, {"default": "0d"}),
    (
        "daterange start after end",
        "filter-daterange",
        None,
        {"default": {"start": "2024-02-01", "end": "2024-01-01"}},
    ),
    (
        "daterange not a date",
        "filter-daterange",
        None,
        {"default": {"start": "2024-13-01", "end": "2024-12-31"}},
    ),
    ("unknown config field", "markdown", None, {"text": "x", "color": "red"}),
    ("unknown config field on sql", "sql", None, {"sql": "SELECT 1", "limit": 10}),
    ("unknown source name", "table", None, {"source": "nowhere"}),
    ("sql reads an unknown table", "sql", None, {"sql": "SELECT * FROM nowhere"}),
    ("input that is not a control", "sql", None, {"sql": "SELECT 1", "inputs": ["existing"]}),
    ("input that does not exist", "sql", None, {"sql": "SELECT 1", "inputs": ["ghost"]}),
    ("undeclared $param", "sql", None, {"sql": "SELECT * FROM sales WHERE amount > $min"}),
    ("two statements", "sql", None, {"sql": "SELECT 1; SELECT 2"}),
    ("not a query", "sql", None, {"sql": "DELETE FROM sales"}),
    ("attach", "sql", None, {"sql": "ATTACH 'x.db'"}),
    ("self reference is a cycle", "sql", "loop", {"sql": "SELECT * FROM loop"}),
]


@pytest.mark.parametrize(
    ("block_type", "name", "config"), [c[1:] for c in BAD_ADDS], ids=[c[0] for c in BAD_ADDS]
)
def test_invalid_block_is_refused_and_nothing_is_saved(
    call: ToolClient, sales_board: str, block_type: str, name: str | None, config: dict[str, Any]
) -> None:
    _add(call, sales_board, "markdown", "existing", text="here")
    before = _state(call, sales_board)
    args: dict[str, Any] = {"dashboard_id": sales_board, "type": block_type, "config": config}
    if name is not None:
        args["name"] = name
    with pytest.raises(InvalidRequest):
        call("dashboard_add_block", **args)
    assert _state(call, sales_board) == before


@pytest.mark.parametrize(
    "arguments",
    [
        {"type": "markdown", "config": {"text": "x"}, "colour": "red"},  # unknown argument
        {"type": "markdown"},  # missing config
        {"config": {"text": "x"}},  # missing type
        {"type": "markdown", "config": "text"},  # config not an object
        {"type": "markdown", "config": {"text": "x"}, "name": 7},  # name not a string
    ],
    ids=["unknown-arg", "missing-config", "missing-type", "config-not-object", "name-not-string"],
)
def test_malformed_arguments_are_refused(call: ToolClient, board: str, arguments: dict[str, Any]) -> None:
    before = _state(call, board)
    with pytest.raises(InvalidRequest):
        call.raw("dashboard_add_block", {"dashboard_id": board, **arguments})
    assert _state(call, board) == before


def test_arguments_must_be_an_object(call: ToolClient) -> None:
    with pytest.raises(InvalidRequest):
        call.raw("dashboard_list", ["include_conversations"])


def test_cycle_is_refused_naming_its_blocks(call: ToolClient, board: str) -> None:
    first = _add(call, board, "sql", "first", sql="SELECT 1 AS n")
    _add(call, board, "sql", "second", sql="SELECT n + 1 AS n FROM first")
    before = _state(call, board)
    with pytest.raises(InvalidRequest) as refused:
        call(
            "dashboard_update_block",
            dashboard_id=board,
            block_id=first["id"],
            config={"sql": "SELECT * FROM second"},
        )
    assert "cycle" in refused.value.message
    assert "first" in refused.value.message and "second" in refused.value.message
    assert _state(call, board) == before


def test_daterange_binds_start_and_end_as_dates(call: ToolClient, board: str) -> None:
    _add(call, board, "filter-daterange", "period", default={"start": "2024-01-01", "end": "2024-01-31"})
    block = _add(
        call,
        board,
        "sql",
        "span",
        sql="SELECT $period_start AS s, $period_end AS e, $period_end - $period_start AS days",
        inputs=["period"],
    )
    data = call("dashboard_block_data", dashboard_id=board, block_id=block["id"])
    assert data["rows"] == [{"s": "2024-01-01", "e": "2024-01-31", "days": 30}]
    assert [c["type"] for c in data["columns"]][:2] == ["DATE", "DATE"]


def test_version_starts_at_one_and_grows_by_one_per_update(call: ToolClient, board: str) -> None:
    block = _add(call, board, "markdown", "note", text="v1")
    assert block["version"] == 1
    for expected in (2, 3, 4):
        block = call(
            "dashboard_update_block",
            dashboard_id=board,
            block_id=block["id"],
            config={"text": f"v{expected}"},
            version=block["version"],
        )["block"]
        assert block["version"] == expected


def test_stale_version_is_a_conflict_naming_the_current_version(call: ToolClient, board: str) -> None:
    block = _add(call, board, "markdown", "note", text="v1")
    call("dashboard_update_block", dashboard_id=board, block_id=block["id"], config={"text": "v2"}, version=1)
    before = _state(call, board)
    with pytest.raises(Conflict) as refused:
        call(
            "dashboard_update_block",
            dashboard_id=board,
            block_id=block["id"],
            config={"text": "mine"},
            version=1,
        )
    assert refused.value.status == 409
    assert refused.value.extra["current_version"] == 2
    assert "2" in refused.value.message
    assert _state(call, board) == before


def test_update_with_nothing_to_change_is_refused(call: ToolClient, board: str) -> None:
    block = _add(call, board, "markdown", "note", text="x")
    with pytest.raises(InvalidRequest):
        call("dashboard_update_block", dashboard_id=board, block_id=block["id"])


def test_invalid_update_saves_nothing(call: ToolClient, sales_board: str) -> None:
    block = _add(call, sales_board, "sql", "q", sql="SELECT * FROM sales")
    before = _state(call, sales_board)
    for config in (
        {"sql": "SELECT * FROM ghost"},
        {"sql": "SELECT 1; SELECT 2"},
        {"sql": "SELECT 1", "x": 1},
    ):
        with pytest.raises(InvalidRequest):
            call("dashboard_update_block", dashboard_id=sales_board, block_id=block["id"], config=config)
    with pytest.raises(InvalidRequest):
        call("dashboard_update_block", dashboard_id=sales_board, block_id=block["id"], name="sales")
    assert _state(call, sales_board) == before


def test_update_reruns_the_block_and_its_readers(call: ToolClient, board: str) -> None:
    base = _add(call, board, "sql", "base", sql="SELECT 1 AS n")
    reader = _add(call, board, "sql", "reader", sql="SELECT n * 10 AS m FROM base")
    _add(call, board, "markdown", "other", text="untouched")
    answer = call(
        "dashboard_update_block", dashboard_id=board, block_id=base["id"], config={"sql": "SELECT 2 AS n"}
    )
    assert set(answer["cascade"]["ran"]) == {base["id"], reader["id"]}
    assert call("dashboard_block_data", dashboard_id=board, block_id=reader["id"])["rows"] == [{"m": 20}]


def test_renaming_a_block_rewrites_its_readers(call: ToolClient, board: str) -> None:
    base = _add(call, board, "sql", "base", sql="SELECT 1 AS n, 'a' AS k")
    sql = (
        "-- keep this comment\nSELECT base.n,\n       'base' AS label  -- base stays in strings\nFROM   base"
    )
    reader = _add(call, board, "sql", "reader", sql=sql)
    chart = _add(call, board, "chart", "plot", source="base", kind="bar", x="k", y="n")
    table = _add(call, board, "table", "rows", source="reader")

    answer = call("dashboard_update_block", dashboard_id=board, block_id=base["id"], name="totals")
    assert answer["block"]["name"] == "totals"
    assert answer["rewritten"] == sorted([reader["id"], chart["id"]])

    blocks = {b["id"]: b for b in call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]}
    assert blocks[reader["id"]]["config"]["sql"] == (
        "-- keep this comment\nSELECT totals.n,\n"
        "       'base' AS label  -- base stays in strings\nFROM   totals"
    )
    assert blocks[chart["id"]]["config"]["source"] == "totals"
    assert blocks[table["id"]]["config"]["source"] == "reader"
    assert blocks[reader["id"]]["version"] == 2
    assert call("dashboard_block_data", dashboard_id=board, block_id=reader["id"])["rows"] == [
        {"n": 1, "label": "base"}
    ]


def test_renaming_a_bound_control_is_refused(call: ToolClient, board: str) -> None:
    control = _add(call, board, "param-enum", "region", options=["a"])
    _add(call, board, "sql", "q", sql="SELECT $region AS r", inputs=["region"])
    before = _state(call, board)
    with pytest.raises(InvalidRequest):
        call("dashboard_update_block", dashboard_id=board, block_id=control["id"], name="area")
    assert _state(call, board) == before


def test_deleting_a_block_that_others_read_is_refused(call: ToolClient, board: str) -> None:
    base = _add(call, board, "sql", "base", sql="SELECT 1 AS n")
    _add(call, board, "sql", "reader", sql="SELECT * FROM base")
    before = _state(call, board)
    with pytest.raises(InvalidRequest) as refused:
        call("dashboard_delete_block", dashboard_id=board, block_id=base["id"])
    assert "reader" in refused.value.message
    assert _state(call, board) == before


def test_deleting_a_leaf_removes_it_and_its_layout_place_but_keeps_its_runs(
    call: ToolClient, board: str
) -> None:
    base = _add(call, board, "sql", "base", sql="SELECT 1 AS n")
    leaf = _add(call, board, "table", "leaf", source="base")
    call("dashboard_set_displayed", dashboard_id=board, block_id=base["id"], displayed=True)
    call("dashboard_set_displayed", dashboard_id=board, block_id=leaf["id"], displayed=True)
    call("dashboard_run_block", dashboard_id=board, block_id=leaf["id"])
    runs = call("dashboard_runs", dashboard_id=board, block_id=leaf["id"])["runs"]
    assert len(runs) == 2

    call("dashboard_delete_block", dashboard_id=board, block_id=leaf["id"])

    dashboard = call("dashboard_get", dashboard_id=board)["dashboard"]
    assert [b["name"] for b in dashboard["blocks"]] == ["base"]
    assert dashboard["layout"] == {"rows": [{"blocks": [base["id"]]}]}
    assert call("dashboard_runs", dashboard_id=board, block_id=leaf["id"])["runs"] == runs
    with pytest.raises(NotFound):
        call("dashboard_block_data", dashboard_id=board, block_id=leaf["id"])
    # The name is free again.
    _add(call, board, "markdown", "leaf", text="new")


def test_unknown_block_is_not_found(call: ToolClient, board: str) -> None:
    with pytest.raises(NotFound):
        call(
            "dashboard_update_block", dashboard_id=board, block_id="blk_nosuchblock0000", config={"text": "x"}
        )
    with pytest.raises(NotFound):
        call("dashboard_delete_block", dashboard_id=board, block_id="blk_nosuchblock0000")


def test_set_control_stores_the_value_and_reruns_readers(call: ToolClient, board: str) -> None:
    control = _add(call, board, "param-enum", "region", options=["a", "b"])
    reader = _add(call, board, "sql", "q", sql="SELECT $region AS r", inputs=["region"])
    answer = call("dashboard_set_control", dashboard_id=board, block_id=control["id"], value="b")
    assert reader["id"] in answer["cascade"]["ran"]
    assert call("dashboard_block_data", dashboard_id=board, block_id=reader["id"])["rows"] == [{"r": "b"}]
    blocks = {b["id"]: b for b in call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]}
    assert blocks[control["id"]]["value"] == "b"


@pytest.mark.parametrize(
    ("block_type", "config", "value"),
    [
        ("param-enum", {"options": ["a", "b"]}, "c"),
        ("param-enum", {"options": [1, 2]}, True),
        ("filter-daterange", {"default": "7d"}, "7x"),
        ("filter-daterange", {"default": "7d"}, {"start": "2024-02-01", "end": "2024-01-01"}),
    ],
)
def test_set_control_refuses_values_the_control_does_not_allow(
    call: ToolClient, board: str, block_type: str, config: dict[str, Any], value: Any
) -> None:
    control = _add(call, board, block_type, "ctl", **config)
    before = _state(call, board)
    with pytest.raises(InvalidRequest):
        call("dashboard_set_control", dashboard_id=board, block_id=control["id"], value=value)
    assert _state(call, board) == before


def test_set_control_on_a_non_control_is_refused(call: ToolClient, board: str) -> None:
    block = _add(call, board, "markdown", "note", text="x")
    with pytest.raises(InvalidRequest):
        call("dashboard_set_control", dashboard_id=board, block_id=block["id"], value="x")


def test_manual_run_is_recorded_newest_first(call: ToolClient, board: str) -> None:
    block = _add(call, board, "sql", "q", sql="SELECT 1 AS n")
    answer = call("dashboard_run_block", dashboard_id=board, block_id=block["id"])
    assert answer["run"]["rows"] == [{"n": 1}]
    assert answer["run"]["row_count"] == 1
    runs = call("dashboard_runs", dashboard_id=board, block_id=block["id"])["runs"]
    assert [r["trigger"] for r in runs] == ["manual", "edit"]
    assert runs[0]["id"] == answer["run"]["id"]


def test_run_block_with_a_draft_config_previews_without_saving(ws: Any, call: Any, board: str) -> None:
    block = call(
        "dashboard_add_block", dashboard_id=board, type="sql", name="q", config={"sql": "select 1 as v"}
    )
    block_id = block["block"]["id"]
    runs_before = call("dashboard_runs", dashboard_id=board, block_id=block_id)["runs"]
    preview = call(
        "dashboard_run_block", dashboard_id=board, block_id=block_id, config={"sql": "select 41 + 1 as v"}
    )
    assert preview["run"]["rows"] == [{"v": 42}] and preview["run"]["persisted"] is False
    saved = call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"][0]
    assert saved["config"]["sql"] == "select 1 as v" and saved["version"] == 1
    assert call("dashboard_runs", dashboard_id=board, block_id=block_id)["runs"] == runs_before
    with pytest.raises(InvalidRequest, match="statements"):
        call(
            "dashboard_run_block", dashboard_id=board, block_id=block_id, config={"sql": "select 1; select 2"}
        )


def test_block_data_reads_an_earlier_run(call: Any, board: str) -> None:
    block = call(
        "dashboard_add_block", dashboard_id=board, type="sql", name="q", config={"sql": "select 1 as v"}
    )
    block_id = block["block"]["id"]
    first_run = block["block"]["current_run_id"]
    call("dashboard_update_block", dashboard_id=board, block_id=block_id, config={"sql": "select 2 as v"})
    assert call("dashboard_block_data", dashboard_id=board, block_id=block_id)["rows"] == [{"v": 2}]
    old = call("dashboard_block_data", dashboard_id=board, block_id=block_id, run_id=first_run)
    assert old["rows"] == [{"v": 1}] and old["run_id"] == first_run
    with pytest.raises(NotFound):
        call("dashboard_block_data", dashboard_id=board, block_id=block_id, run_id="run_nope")
