"""Imports as people bring them: the files they have, names as they come, replacing said aloud.

One rule names sources from files in the command line, the app and the tool
(`2026-sales.csv` is `_2026_sales`); every accepted extension imports; a file
that cannot be read is refused naming the user's file, never a staging path;
a refused import changes nothing.
"""

from __future__ import annotations

import base64
import gzip
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.import_files import ACCEPTED, IMPORT_FORMATS, source_name, source_name_for
from ballast_tui.engine.workspace import Workspace
from tests.cli_run import assert_one_line, content, keep_umask, no_env, run  # noqa: F401 (fixtures)
from tests.conftest import ToolClient
from tests.xlsx_files import write_xlsx

CSV = "day,amount\n2026-01-01,10\n2026-01-02,12.5\n"


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ("2026-sales.csv", "_2026_sales"),
        ("Q3 Targets (final).CSV", "q3_targets_final"),
        ("orders.csv.gz", "orders"),
        ("events.TSV.GZ", "events"),
        ("---.json", "data"),
        ("déjà vu.parquet", "d_j_vu"),
        ("already_fine.pq", "already_fine"),
        ("_private.jsonl", "_private"),
        ("x" * 80 + ".csv", "x" * 63),
    ],
)
def test_one_rule_names_a_source_from_its_file(given: str, name: str) -> None:
    assert source_name_for(Path(given)) == name


def test_a_name_already_valid_is_kept_and_sheets_join_the_file_name() -> None:
    assert source_name("sales__2026") == "sales__2026"
    assert source_name("2026") == "_2026"
    assert source_name_for(Path("Budget 2026.xlsx"), "Q1 Plan") == "budget_2026_q1_plan"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A workspace with one dashboard, closed: the command opens it."""
    path = tmp_path / "ws"
    with Workspace(path) as ws:
        ToolClient(ws, ws.users.local())("dashboard_create", title="Imports")
    return path


def board_of(root: Path) -> str:
    with Workspace(root) as ws:
        return str(ToolClient(ws, ws.users.local())("dashboard_list")["dashboards"][0]["id"])


def sources(root: Path) -> dict[str, int]:
    with Workspace(root) as ws:
        call = ToolClient(ws, ws.users.local())
        listed = call("catalog_list", dashboard_id=board_of(root))["sources"]
        return {s["name"]: s["row_count"] for s in listed if s["kind"] == "import"}


def files_for_every_extension(folder: Path) -> dict[str, Path]:
    """One small file of each accepted extension, each holding the same two rows."""
    table = pa.table({"day": ["2026-01-01", "2026-01-02"], "amount": [10.0, 12.5]})
    made = {
        ".csv": ("t_csv.csv", CSV.encode()),
        ".csv.gz": ("t_csvgz.csv.gz", gzip.compress(CSV.encode())),
        ".tsv": ("t_tsv.tsv", CSV.replace(",", "\t").encode()),
        ".tsv.gz": ("t_tsvgz.tsv.gz", gzip.compress(CSV.replace(",", "\t").encode())),
        ".json": (
            "t_json.json",
            b'[{"day": "2026-01-01", "amount": 10}, {"day": "2026-01-02", "amount": 12.5}]',
        ),
        ".jsonl": (
            "t_jsonl.jsonl",
            b'{"day": "2026-01-01", "amount": 10}\n{"day": "2026-01-02", "amount": 12.5}\n',
        ),
        ".ndjson": (
            "t_ndjson.ndjson",
            b'{"day": "2026-01-01", "amount": 10}\n{"day": "2026-01-02", "amount": 12.5}\n',
        ),
    }
    paths = {}
    for suffix, (name, data) in made.items():
        paths[suffix] = folder / name
        paths[suffix].write_bytes(data)
    for suffix, name in ((".parquet", "t_parquet.parquet"), (".pq", "t_pq.pq")):
        paths[suffix] = folder / name
        pq.write_table(table, paths[suffix])
    paths[".xlsx"] = write_xlsx(
        folder / "t_xlsx.xlsx", {"Sheet1": [["day", "amount"], ["2026-01-01", 10], ["2026-01-02", 12.5]]}
    )
    return paths


def test_every_accepted_extension_imports_through_the_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, root: Path
) -> None:
    board = board_of(root)
    paths = files_for_every_extension(tmp_path)
    assert set(paths) == set(IMPORT_FORMATS)
    for suffix, path in paths.items():
        status, out, err = run(capsys, "--workspace", str(root), "import", str(path), "--dashboard", board)
        assert (status, err) == (0, ""), (suffix, err)
        assert f"imported 2 rows as {source_name_for(path)} (" in out, out
        assert "amount DOUBLE" in out or "amount DECIMAL" in out, (suffix, out)
    assert sources(root) == {source_name_for(p): 2 for p in paths.values()}


def test_a_leading_digit_gets_a_prefix_not_an_error(tmp_path: Path, root: Path) -> None:
    # The issue's own example, in a real process.
    sales = tmp_path / "2026-sales.csv"
    sales.write_text(CSV)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ballast_tui.cli",
            "--workspace",
            str(root),
            "import",
            str(sales),
            "--dashboard",
            board_of(root),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("imported 2 rows as _2026_sales (")
    assert result.stderr == ""  # no progress bar: standard error is not a terminal
    assert sources(root) == {"_2026_sales": 2}


def test_an_unknown_extension_lists_exactly_the_accepted_ones(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, root: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text(CSV)
    before = content(root / "ballast.db")
    status, out, err = run(
        capsys, "--workspace", str(root), "import", str(notes), "--dashboard", board_of(root)
    )
    assert_one_line(status, err, 1, "notes.txt")
    assert err.rstrip().endswith(f"one of {ACCEPTED}")
    assert ACCEPTED == ".csv, .csv.gz, .tsv, .tsv.gz, .parquet, .pq, .json, .jsonl, .ndjson, .xlsx"
    assert out == "" and content(root / "ballast.db") == before


def test_a_bad_parquet_file_is_refused_naming_the_users_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, root: Path
) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not really parquet")
    before = content(root / "ballast.db")
    status, _out, err = run(
        capsys, "--workspace", str(root), "import", str(broken), "--dashboard", board_of(root)
    )
    assert_one_line(status, err, 1, str(broken))
    assert "staged_" not in err and "imports/" not in err
    assert content(root / "ballast.db") == before
    assert list((root / "imports").iterdir()) == []  # the staged copy is gone too


def test_a_bad_workbook_and_a_missing_sheet_name_the_users_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, root: Path
) -> None:
    board = board_of(root)
    fake = tmp_path / "budget.xlsx"
    fake.write_text("not a zip")
    before = content(root / "ballast.db")
    status, _out, err = run(capsys, "--workspace", str(root), "import", str(fake), "--dashboard", board)
    assert_one_line(status, err, 1, str(fake), "not an Excel workbook")
    book = write_xlsx(tmp_path / "book.xlsx", {"Plan": [["a"], [1]]})
    status, _out, err = run(
        capsys, "--workspace", str(root), "import", str(book), "--dashboard", board, "--sheet", "Nope"
    )
    assert_one_line(status, err, 1, str(book), "no sheet 'Nope'", "'Plan'")
    assert "staged_" not in err
    csv = tmp_path / "plain.csv"
    csv.write_text(CSV)
    status, _out, err = run(
        capsys, "--workspace", str(root), "import", str(csv), "--dashboard", board, "--sheet", "Plan"
    )
    assert_one_line(status, err, 1, "--sheet is for Excel workbooks")
    assert content(root / "ballast.db") == before


def test_each_sheet_becomes_a_source_or_only_the_one_asked_for(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, root: Path
) -> None:
    board = board_of(root)
    book = write_xlsx(
        tmp_path / "Budget 2026.xlsx",
        {
            "Q1": [["team", "amount", "approved"], ["ops", 100, True], ["data", 250.5, False]],
            "Q2 Plan": [["team", "amount"], ["ops", 120], ["data", "tbd"], [None, None], ["web", 3]],
            "Sheet3": [],
        },
    )
    status, out, err = run(capsys, "--workspace", str(root), "import", str(book), "--dashboard", board)
    assert (status, err) == (0, "")
    assert "as budget_2026_q1 from sheet 'Q1' (team VARCHAR, amount DOUBLE, approved BOOLEAN)" in out
    # A column of numbers and text is text; an empty row is skipped.
    assert "as budget_2026_q2_plan from sheet 'Q2 Plan' (team VARCHAR, amount VARCHAR)" in out
    assert "Sheet3" not in out  # a blank sheet is no table
    assert sources(root) == {"budget_2026_q1": 2, "budget_2026_q2_plan": 3}
    status, out, _err = run(
        capsys,
        "--workspace",
        str(root),
        "import",
        str(book),
        "--dashboard",
        board,
        "--sheet",
        "Q1",
        "--name",
        "q1",
    )
    assert status == 0 and "imported 2 rows as q1 from sheet 'Q1'" in out


def test_replacing_a_source_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path, root: Path) -> None:
    board = board_of(root)
    sales = tmp_path / "sales.csv"
    sales.write_text(CSV)
    status, out, _err = run(capsys, "--workspace", str(root), "import", str(sales), "--dashboard", board)
    assert status == 0 and "replaced" not in out
    sales.write_text(CSV + "2026-01-03,7\n")
    status, out, _err = run(capsys, "--workspace", str(root), "import", str(sales), "--dashboard", board)
    assert status == 0
    assert out.splitlines() == [
        "imported 3 rows as sales (day DATE, amount DOUBLE)",
        "replaced the source sales that was there (2 rows before)",
    ]


def test_the_tool_follows_the_same_name_rule_and_reads_tsv_and_xlsx(
    call: ToolClient, board: str, tmp_path: Path
) -> None:
    tsv = base64.b64encode(gzip.compress(CSV.replace(",", "\t").encode())).decode()
    answer = call("catalog_import", dashboard_id=board, name="2026-sales", format="tsv", content=tsv)
    assert answer["source"]["name"] == "_2026_sales" and answer["source"]["row_count"] == 2
    assert answer["replaced"] is None
    book = write_xlsx(tmp_path / "b.xlsx", {"One": [["x"], [1]], "Two": [["y"], [2], [3]]})
    content_b64 = base64.b64encode(book.read_bytes()).decode()
    answer = call(
        "catalog_import",
        dashboard_id=board,
        name="_2026_sales",
        format="xlsx",
        sheet="Two",
        content=content_b64,
    )
    assert answer["source"]["row_count"] == 2 and answer["replaced"] == {"row_count": 2, "format": "tsv"}
    before = call("catalog_list", dashboard_id=board)
    for arguments, fragment in (
        ({"format": "csv", "sheet": "Two", "content": content_b64}, "sheet is for Excel workbooks"),
        ({"format": "xlsx", "sheet": "Three", "content": content_b64}, "no sheet 'Three'"),
        ({"format": "parquet", "content": base64.b64encode(b"PAR1 nope").decode()}, "the uploaded file"),
        ({"format": "csv", "content": content_b64, "name": "  "}, "name is empty"),
    ):
        with pytest.raises(InvalidRequest) as refused:
            call("catalog_import", dashboard_id=board, **{"name": "other", **arguments})
        assert fragment in refused.value.message
        assert "upload_" not in refused.value.message
    assert call("catalog_list", dashboard_id=board) == before


def with_stderr_on_a_terminal(*argv: str) -> tuple[int, str, str]:
    """`ballast ARGV` in a process whose standard error is a terminal (a pty), the progress bar shown at
    once: (status, stdout, what the terminal got)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "ballast_tui.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=follower,
        env={**os.environ, "BALLAST_PROGRESS_AFTER_S": "0"},
        text=True,
    )
    os.close(follower)
    seen = b""
    while select.select([leader], [], [], 120)[0]:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    out = process.communicate(timeout=120)[0]
    os.close(leader)
    return process.returncode, out, seen.decode(errors="replace")


def test_a_long_import_and_export_show_a_progress_bar_on_a_terminal(tmp_path: Path, root: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_text("id,v\n" + "".join(f"{i},{i * 2}\n" for i in range(200_000)))
    board = board_of(root)
    status, out, drawn = with_stderr_on_a_terminal(
        "--workspace", str(root), "import", str(big), "--dashboard", board
    )
    assert status == 0
    assert "imported 200000 rows as big" in out
    assert "big.csv" in drawn and "░" in drawn and "\r" in drawn  # the bar, redrawn in place
    assert drawn.endswith("\r") and drawn.split("\r")[-2].strip() == ""  # wiped at the end
    assert "imported" not in drawn  # the command's message is on standard output
    with Workspace(root) as ws:
        sql = {"sql": "select * from big"}
        ToolClient(ws, ws.users.local())(
            "dashboard_add_block", dashboard_id=board, type="sql", name="all_rows", config=sql
        )
    target = tmp_path / "all.csv"
    status, _out, drawn = with_stderr_on_a_terminal(
        "--workspace", str(root), "export", board, "--block", "all_rows", "-o", str(target)
    )
    assert status == 0
    assert "exporting all_rows" in drawn and "wrote 200000 rows to" in drawn
    assert len(target.read_text().splitlines()) == 200_001
