"""Catalog tools: importing files, pushing rows and Arrow, listing, renaming with rewrites."""

from __future__ import annotations

import base64
import io
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ballast_tui.engine.errors import Forbidden, InvalidRequest, NotFound
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient

CSV = b"day,amount,price\n2024-01-01,3,1.5\n2024-01-02,5,2.5\n"
JSON = json.dumps([{"day": "2024-01-01", "amount": 3}, {"day": "2024-01-02", "amount": 5}]).encode()
EXPECTED_TYPES = {"day": "DATE", "amount": "BIGINT"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def parquet_bytes() -> bytes:
    table = pa.table({"day": [date(2024, 1, 1), date(2024, 1, 2)], "amount": pa.array([3, 5], pa.int64())})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def arrow_stream(table: pa.Table) -> str:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return b64(sink.getvalue())


FILES = {"csv": CSV, "json": JSON, "parquet": parquet_bytes()}


def _columns(source: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["type"] for c in source["columns"]}


def _sources(call: ToolClient, board: str) -> list[dict[str, Any]]:
    return [s for s in call("catalog_list", dashboard_id=board)["sources"] if s["kind"] != "block"]


def _data_files(ws: Workspace, board: str) -> list[str]:
    directory = ws.board_dir(board)
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def _nothing_created(call: ToolClient, ws: Workspace, board: str) -> None:
    assert _sources(call, board) == []
    assert _data_files(ws, board) == []
    assert [e["action"] for e in call("dashboard_audit", dashboard_id=board)["events"]] == ["create"]


@pytest.mark.parametrize("file_format", ["csv", "json", "parquet"])
def test_import_base64_content_infers_types(call: ToolClient, board: str, file_format: str) -> None:
    source = call(
        "catalog_import",
        dashboard_id=board,
        name="sales",
        format=file_format,
        content=b64(FILES[file_format]),
    )["source"]
    assert source["name"] == "sales"
    assert source["row_count"] == 2
    columns = _columns(source)
    for name, expected in EXPECTED_TYPES.items():
        assert columns[name] == expected
    if file_format == "csv":
        assert columns["price"] == "DOUBLE"
    block = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="total",
        config={"sql": "SELECT sum(amount) AS total, min(day) AS first FROM sales"},
    )["block"]
    data = call("dashboard_block_data", dashboard_id=board, block_id=block["id"])
    assert data["rows"] == [{"total": 8, "first": "2024-01-01"}]


@pytest.mark.parametrize("file_format", ["csv", "json", "parquet"])
def test_import_from_the_workspace_import_directory(
    call: ToolClient, ws: Workspace, board: str, file_format: str
) -> None:
    (ws.paths.imports / "nested").mkdir(exist_ok=True)
    path = ws.paths.imports / "nested" / f"sales.{file_format}"
    path.write_bytes(FILES[file_format])
    relative = call(
        "catalog_import",
        dashboard_id=board,
        name="rel",
        format=file_format,
        path=f"nested/sales.{file_format}",
    )
    absolute = call("catalog_import", dashboard_id=board, name="abs", format=file_format, path=str(path))
    for answer in (relative, absolute):
        assert answer["source"]["row_count"] == 2
        assert _columns(answer["source"])["day"] == "DATE"
    assert path.exists()  # the original is left where it was


def _outside_paths(ws: Workspace) -> list[str]:
    link = ws.paths.imports / "sneaky.csv"
    link.symlink_to(ws.paths.db)
    dir_link = ws.paths.imports / "etc"
    dir_link.symlink_to("/etc", target_is_directory=True)
    return [
        "/etc/passwd",
        "../ballast.db",
        str(ws.paths.db),
        "sneaky.csv",
        "etc/passwd",
        "nested/../../ballast.db",
    ]


def test_paths_outside_the_import_directory_are_refused(call: ToolClient, ws: Workspace, board: str) -> None:
    for path in _outside_paths(ws):
        with pytest.raises(InvalidRequest) as refused:
            call("catalog_import", dashboard_id=board, name="stolen", format="csv", path=path)
        assert "outside" in refused.value.message, path
    _nothing_created(call, ws, board)


def test_missing_import_file_is_refused(call: ToolClient, ws: Workspace, board: str) -> None:
    with pytest.raises(InvalidRequest):
        call("catalog_import", dashboard_id=board, name="ghost", format="csv", path="ghost.csv")
    with pytest.raises(InvalidRequest):  # a directory is not a file
        call("catalog_import", dashboard_id=board, name="ghost", format="csv", path=".")
    _nothing_created(call, ws, board)


@pytest.mark.parametrize(
    ("file_format", "arguments"),
    [
        ("csv", {"content": "not base64!!"}),
        ("csv", {"content": b64(b"\xff\xfe\x00\x01broken")}),  # not UTF-8 text
        ("csv", {"content": ""}),  # an empty file
        ("json", {"content": b64(b"{not json")}),
        ("parquet", {"content": b64(b"PAR1 but no parquet")}),
        ("parquet", {"content": b64(CSV)}),  # the wrong format
        ("csv", {}),  # neither content nor path
        ("csv", {"content": b64(CSV), "path": "sales.csv"}),  # both
    ],
    ids=["bad-base64", "not-utf8", "empty", "bad-json", "bad-parquet", "csv-as-parquet", "neither", "both"],
)
def test_unreadable_imports_are_refused_and_nothing_is_created(
    call: ToolClient, ws: Workspace, board: str, file_format: str, arguments: dict[str, Any]
) -> None:
    with pytest.raises(InvalidRequest):
        call("catalog_import", dashboard_id=board, name="broken", format=file_format, **arguments)
    _nothing_created(call, ws, board)


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_source_name_is_refused(call: ToolClient, ws: Workspace, board: str, name: str) -> None:
    with pytest.raises(InvalidRequest):
        call("catalog_push", dashboard_id=board, name=name, rows=[{"a": 1}])
    _nothing_created(call, ws, board)


@pytest.mark.parametrize(("given", "stored"), [("Bad-Name", "bad_name"), ("1abc", "_1abc"), ("ok_1", "ok_1")])
def test_source_names_follow_the_one_rule_of_every_door(
    call: ToolClient, board: str, given: str, stored: str
) -> None:
    # The same rule as the command line and the app (engine.import_files.source_name).
    answer = call("catalog_push", dashboard_id=board, name=given, rows=[{"a": 1}])
    assert answer["source"]["name"] == stored


def test_source_name_taken_by_a_block_is_refused(call: ToolClient, board: str) -> None:
    call("dashboard_add_block", dashboard_id=board, type="markdown", name="notes", config={"text": "x"})
    with pytest.raises(InvalidRequest):
        call("catalog_push", dashboard_id=board, name="notes", rows=[{"a": 1}])
    with pytest.raises(InvalidRequest):
        call("catalog_import", dashboard_id=board, name="notes", format="csv", content=b64(CSV))
    assert _sources(call, board) == []


def test_push_rows_replace_and_append(call: ToolClient, board: str) -> None:
    source = call("catalog_push", dashboard_id=board, name="events", rows=[{"id": 1, "kind": "a"}])["source"]
    assert source["row_count"] == 1
    assert _columns(source) == {"id": "BIGINT", "kind": "VARCHAR"}
    source = call(
        "catalog_push", dashboard_id=board, name="events", rows=[{"kind": "b", "id": 2}], mode="append"
    )["source"]
    assert source["row_count"] == 2
    source = call("catalog_push", dashboard_id=board, name="events", rows=[{"id": 9, "kind": "z"}])["source"]
    assert source["row_count"] == 1
    block = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="q",
        config={"sql": "SELECT * FROM events"},
    )["block"]
    assert call("dashboard_block_data", dashboard_id=board, block_id=block["id"])["rows"] == [
        {"id": 9, "kind": "z"}
    ]


def test_append_to_a_new_name_creates_the_source(call: ToolClient, board: str) -> None:
    source = call("catalog_push", dashboard_id=board, name="fresh", rows=[{"a": 1}], mode="append")["source"]
    assert source["row_count"] == 1


@pytest.mark.parametrize(
    "rows",
    [
        [{"id": 2, "other": "x"}],  # a column the source lacks, and one missing
        [{"id": 2}],  # a column missing
        [{"id": 2, "kind": "b", "extra": 1}],  # an extra column
        [{"id": "two", "kind": "b"}],  # a column of another type
    ],
    ids=["different", "missing", "extra", "retyped"],
)
def test_append_with_mismatched_columns_is_refused(call: ToolClient, board: str, rows: list[Any]) -> None:
    call("catalog_push", dashboard_id=board, name="events", rows=[{"id": 1, "kind": "a"}])
    before = _sources(call, board)
    with pytest.raises(InvalidRequest):
        call("catalog_push", dashboard_id=board, name="events", rows=rows, mode="append")
    assert _sources(call, board) == before


@pytest.mark.parametrize(
    "arguments",
    [
        {"rows": []},
        {"rows": [{"a": 1}, {"a": "x"}]},
        {"rows": [1, 2]},
        {"rows": [{"a": 1}], "arrow": arrow_stream(pa.table({"a": [1]}))},
        {},
        {"arrow": b64(b"not an arrow stream")},
        {"arrow": "%%%"},
        {"rows": [{"a": 1}], "mode": "merge"},
    ],
    ids=["empty", "mixed-types", "not-objects", "both", "neither", "bad-arrow", "bad-base64", "bad-mode"],
)
def test_bad_pushes_are_refused_and_nothing_is_created(
    call: ToolClient, ws: Workspace, board: str, arguments: dict[str, Any]
) -> None:
    with pytest.raises(InvalidRequest):
        call("catalog_push", dashboard_id=board, name="events", **arguments)
    _nothing_created(call, ws, board)


def test_push_arrow_stream(call: ToolClient, board: str) -> None:
    table = pa.table(
        {
            "day": pa.array([date(2024, 1, 1), date(2024, 1, 2)], pa.date32()),
            "amount": pa.array([3, 5], pa.int64()),
            "label": ["x", "y"],
        }
    )
    source = call("catalog_push", dashboard_id=board, name="sales", arrow=arrow_stream(table))["source"]
    assert source["row_count"] == 2
    assert _columns(source) == {"day": "DATE", "amount": "BIGINT", "label": "VARCHAR"}
    source = call("catalog_push", dashboard_id=board, name="sales", arrow=arrow_stream(table), mode="append")[
        "source"
    ]
    assert source["row_count"] == 4


def test_pushing_to_a_source_reruns_its_readers_and_they_see_the_new_data(
    call: ToolClient, board: str
) -> None:
    call("catalog_push", dashboard_id=board, name="sales", rows=[{"amount": 3}])
    total = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="total",
        config={"sql": "SELECT sum(amount) AS total FROM sales"},
    )["block"]
    metric = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="metric",
        name="big",
        config={"source": "total", "column": "total"},
    )["block"]
    other = call(
        "dashboard_add_block", dashboard_id=board, type="sql", name="other", config={"sql": "SELECT 1 AS one"}
    )["block"]

    answer = call("catalog_push", dashboard_id=board, name="sales", rows=[{"amount": 4}], mode="append")

    assert set(answer["cascade"]["ran"]) == {total["id"], metric["id"]}
    assert other["id"] not in answer["cascade"]["ran"] + answer["cascade"]["reused"]
    assert call("dashboard_block_data", dashboard_id=board, block_id=total["id"])["rows"] == [{"total": 7}]
    assert call("dashboard_block_data", dashboard_id=board, block_id=metric["id"])["rows"] == [{"total": 7}]


def test_catalog_list_shows_sources_and_block_outputs(call: ToolClient, board: str) -> None:
    call("catalog_import", dashboard_id=board, name="sales", format="csv", content=b64(CSV))
    call("catalog_push", dashboard_id=board, name="events", rows=[{"id": 1}])
    block = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="q",
        config={"sql": "SELECT count(*) AS n FROM sales"},
    )["block"]
    listed = {s["name"]: s for s in call("catalog_list", dashboard_id=board)["sources"]}
    assert set(listed) == {"sales", "events", "q"}
    assert listed["sales"]["kind"] == "import"
    assert listed["sales"]["row_count"] == 2
    assert _columns(listed["sales"]) == {"day": "DATE", "amount": "BIGINT", "price": "DOUBLE"}
    assert listed["events"]["kind"] == "push"
    assert listed["q"]["kind"] == "block"
    assert listed["q"]["block_id"] == block["id"]
    assert listed["q"]["row_count"] == 1
    assert _columns(listed["q"]) == {"n": "BIGINT"}


READER_SQL = """-- Sales by day; do not touch `sales` in this comment
SELECT  s.day,
        sales.amount   AS amount,   -- sales.amount stays as written here
        'sales'        AS label
FROM    sales
JOIN    sales AS s ON s.day = sales.day
WHERE   sales.amount > 0"""
REWRITTEN_SQL = """-- Sales by day; do not touch `sales` in this comment
SELECT  s.day,
        orders.amount   AS amount,   -- sales.amount stays as written here
        'sales'        AS label
FROM    orders
JOIN    orders AS s ON s.day = orders.day
WHERE   orders.amount > 0"""


def test_rename_rewrites_every_reader_keeping_its_text(call: ToolClient, board: str) -> None:
    call("catalog_import", dashboard_id=board, name="sales", format="csv", content=b64(CSV))
    reader = call(
        "dashboard_add_block", dashboard_id=board, type="sql", name="daily", config={"sql": READER_SQL}
    )["block"]
    chart = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="chart",
        name="plot",
        config={"source": "sales", "kind": "line", "x": "day", "y": "amount"},
    )["block"]
    untouched = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="other",
        config={"sql": "SELECT 'sales' AS s"},
    )["block"]
    rows_before = call("dashboard_block_data", dashboard_id=board, block_id=reader["id"])["rows"]

    answer = call("catalog_rename", dashboard_id=board, name="sales", new_name="orders")

    assert answer["source"]["name"] == "orders"
    assert answer["rewritten"] == sorted([reader["id"], chart["id"]])
    blocks = {b["id"]: b for b in call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]}
    assert blocks[reader["id"]]["config"]["sql"] == REWRITTEN_SQL
    assert blocks[chart["id"]]["config"]["source"] == "orders"
    assert blocks[untouched["id"]]["config"]["sql"] == "SELECT 'sales' AS s"
    assert blocks[untouched["id"]]["version"] == 1
    assert [s["name"] for s in _sources(call, board)] == ["orders"]
    assert call("dashboard_block_data", dashboard_id=board, block_id=reader["id"])["rows"] == rows_before
    events = [
        e for e in call("dashboard_audit", dashboard_id=board)["events"] if e["action"] == "source_rename"
    ]
    assert len(events) == 1


def test_rename_to_a_taken_name_is_refused(call: ToolClient, board: str) -> None:
    call("catalog_push", dashboard_id=board, name="sales", rows=[{"a": 1}])
    call("catalog_push", dashboard_id=board, name="orders", rows=[{"a": 2}])
    call("dashboard_add_block", dashboard_id=board, type="markdown", name="notes", config={"text": "x"})
    before = call("catalog_list", dashboard_id=board)["sources"]
    for taken in ("orders", "notes"):
        with pytest.raises(InvalidRequest):
            call("catalog_rename", dashboard_id=board, name="sales", new_name=taken)
    with pytest.raises(InvalidRequest):
        call("catalog_rename", dashboard_id=board, name="sales", new_name="Bad-Name")
    with pytest.raises(NotFound):
        call("catalog_rename", dashboard_id=board, name="ghost", new_name="spirit")
    assert call("catalog_list", dashboard_id=board)["sources"] == before


def test_rename_that_a_cte_would_shadow_is_refused_and_changes_nothing(call: ToolClient, board: str) -> None:
    """Renaming `sales` to `recent` would make this reader read its own CTE instead of the source."""
    call("catalog_push", dashboard_id=board, name="sales", rows=[{"a": 1}])
    sql = "WITH recent AS (SELECT 5 AS a) SELECT a FROM recent UNION ALL SELECT a FROM sales"
    reader = call("dashboard_add_block", dashboard_id=board, type="sql", name="q", config={"sql": sql})[
        "block"
    ]
    before = call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"], _sources(call, board)
    with pytest.raises(InvalidRequest) as refused:
        call("catalog_rename", dashboard_id=board, name="sales", new_name="recent")
    assert "q" in refused.value.message
    assert (call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"], _sources(call, board)) == before
    assert call("dashboard_block_data", dashboard_id=board, block_id=reader["id"])["rows"] == [
        {"a": 5},
        {"a": 1},
    ]


def test_rename_of_a_bound_control_is_refused_and_changes_nothing(call: ToolClient, board: str) -> None:
    call(
        "dashboard_add_block", dashboard_id=board, type="param-enum", name="region", config={"options": ["a"]}
    )
    call(
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="q",
        config={"sql": "SELECT $region AS r", "inputs": ["region"]},
    )
    before = call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]
    with pytest.raises(InvalidRequest):
        call("catalog_rename", dashboard_id=board, name="region", new_name="area")
    assert call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"] == before


def test_rename_of_a_block_output_rewrites_its_readers(call: ToolClient, board: str) -> None:
    base = call(
        "dashboard_add_block", dashboard_id=board, type="sql", name="base", config={"sql": "SELECT 1 AS n"}
    )["block"]
    reader = call(
        "dashboard_add_block", dashboard_id=board, type="table", name="t", config={"source": "base"}
    )["block"]
    answer = call("catalog_rename", dashboard_id=board, name="base", new_name="numbers")
    assert answer["rewritten"] == [reader["id"]]
    blocks = {b["id"]: b for b in call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"]}
    assert blocks[base["id"]]["name"] == "numbers"
    assert blocks[reader["id"]]["config"]["source"] == "numbers"


def test_viewer_may_list_but_not_change_the_catalog(call: ToolClient, board: str, make_client: Any) -> None:
    call("catalog_push", dashboard_id=board, name="sales", rows=[{"a": 1}])
    viewer = make_client("viola")
    call("dashboard_grant", dashboard_id=board, user="viola", role="viewer")
    assert [s["name"] for s in viewer("catalog_list", dashboard_id=board)["sources"]] == ["sales"]
    refused: list[tuple[str, dict[str, Any]]] = [
        ("catalog_push", {"name": "sales", "rows": [{"a": 2}]}),
        ("catalog_import", {"name": "more", "format": "csv", "content": b64(CSV)}),
        ("catalog_rename", {"name": "sales", "new_name": "orders"}),
    ]
    for tool, arguments in refused:
        with pytest.raises(Forbidden):
            viewer(tool, dashboard_id=board, **arguments)


def test_import_staging_files_do_not_linger(call: ToolClient, ws: Workspace, board: str) -> None:
    call("catalog_import", dashboard_id=board, name="sales", format="csv", content=b64(CSV))
    call("catalog_import", dashboard_id=board, name="sales", format="json", content=b64(JSON))
    files = _data_files(ws, board)
    assert len(files) == 1 and files[0].endswith(".parquet"), files
    assert not any(name.endswith(".tmp") for name in os.listdir(ws.board_dir(board)))
    assert Path(ws.board_dir(board) / files[0]).stat().st_size > 0


def test_append_casts_values_to_the_source_types(call: ToolClient, board: str) -> None:
    """Like an INSERT: JSON rows carry dates as text; the source keeps its DATE column."""
    call("catalog_import", dashboard_id=board, name="sales", format="csv", content=b64(CSV))
    source = call(
        "catalog_push",
        dashboard_id=board,
        name="sales",
        rows=[{"day": "2024-01-03", "amount": 7, "price": 1}],
        mode="append",
    )["source"]
    assert source["row_count"] == 3
    assert _columns(source) == {"day": "DATE", "amount": "BIGINT", "price": "DOUBLE"}
    with pytest.raises(InvalidRequest):
        call(
            "catalog_push",
            dashboard_id=board,
            name="sales",
            rows=[{"day": "someday", "amount": 7, "price": 1}],
            mode="append",
        )
    assert _sources(call, board)[0]["row_count"] == 3


def test_append_gives_an_all_null_column_its_type(call: ToolClient, board: str) -> None:
    call("catalog_push", dashboard_id=board, name="events", rows=[{"id": 1, "note": None}])
    source = call(
        "catalog_push", dashboard_id=board, name="events", rows=[{"id": 2, "note": "hi"}], mode="append"
    )["source"]
    assert source["row_count"] == 2
    assert _columns(source) == {"id": "BIGINT", "note": "VARCHAR"}


def test_a_failed_reimport_keeps_the_source_and_its_readers_data(
    call: ToolClient, ws: Workspace, board: str
) -> None:
    call("catalog_import", dashboard_id=board, name="sales", format="csv", content=b64(CSV))
    block = call(
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="total",
        config={"sql": "SELECT sum(amount) AS total FROM sales"},
    )["block"]
    before = _sources(call, board), _data_files(ws, board)
    with pytest.raises(InvalidRequest):
        call("catalog_import", dashboard_id=board, name="sales", format="json", content=b64(b"{broken"))
    with pytest.raises(InvalidRequest):
        call("catalog_push", dashboard_id=board, name="sales", rows=[{"other": 1}], mode="append")
    assert (_sources(call, board), _data_files(ws, board)) == before
    assert call("dashboard_block_data", dashboard_id=board, block_id=block["id"])["rows"] == [{"total": 8}]
    rerun = call("dashboard_run_block", dashboard_id=board, block_id=block["id"])
    assert rerun["run"]["rows"] == [{"total": 8}]
