"""The `ballast` command, run as a user runs it: a real process on a real workspace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ballast_tui.engine.workspace import Workspace


def ballast(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ballast_tui.cli", *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def tool(ws: Path, tool_name: str, **arguments: Any) -> dict[str, Any]:
    return json.loads(ballast("--workspace", str(ws), "tool", tool_name, json.dumps(arguments)).stdout)  # type: ignore[no-any-return]


def test_user_add_prints_a_working_token_alone_on_the_last_line(tmp_path: Path) -> None:
    ballast("init", str(tmp_path))
    result = ballast("--workspace", str(tmp_path), "user", "add", "robot", "--agent")
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("blt_") and " " not in token
    with Workspace(tmp_path) as ws:
        user = ws.users.authenticate(token)
        assert (user.name, user.kind) == ("robot", "agent")
        assert token.encode() not in ws.paths.db.read_bytes()


def test_workspace_option_works_before_and_after_the_command(tmp_path: Path) -> None:
    ballast("init", str(tmp_path))
    ballast("--workspace", str(tmp_path), "user", "add", "ann")
    again = ballast("user", "add", "ann", "--workspace", str(tmp_path), check=False)
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_import_then_export_round_trips_every_row(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ballast("init", str(ws))
    board = tool(ws, "dashboard_create", title="Imports")["dashboard"]["id"]
    csv = tmp_path / "orders.csv"
    csv.write_text(
        "id,day,amount\n" + "".join(f"{i},2026-01-{i % 28 + 1:02d},{i * 1.5}\n" for i in range(5000))
    )
    imported = ballast("--workspace", str(ws), "import", str(csv), "--dashboard", board)
    assert "imported 5000 rows as orders" in imported.stdout
    assert "day DATE" in imported.stdout
    tool(
        ws,
        "dashboard_add_block",
        dashboard_id=board,
        type="sql",
        name="big",
        config={"sql": "select * from orders where amount >= 3"},
    )
    out = tmp_path / "big.parquet"
    ballast("--workspace", str(ws), "export", board, "--block", "big", "--format", "parquet", "-o", str(out))
    assert pq.read_metadata(out).num_rows == 4998
    as_json = json.loads(
        ballast("--workspace", str(ws), "export", board, "--block", "big", "--format", "json").stdout
    )
    assert len(as_json) == 4998 and as_json[0] == {"id": 2, "day": "2026-01-03", "amount": 3.0}
    as_csv = ballast("--workspace", str(ws), "export", board, "--block", "big").stdout.splitlines()
    assert len(as_csv) == 4999 and as_csv[0] == '"id","day","amount"'


def test_tool_refusal_exits_non_zero_with_the_error_code(tmp_path: Path) -> None:
    ballast("init", str(tmp_path))
    result = ballast(
        "--workspace", str(tmp_path), "tool", "dashboard_get", '{"dashboard_id": "dash_nope"}', check=False
    )
    assert result.returncode == 1
    assert "not_found" in result.stderr


def test_tool_help_is_written_from_what_each_tool_declared(tmp_path: Path) -> None:
    from ballast_tui.tools.registry import load_registry

    registry = load_registry()
    listing = ballast("--workspace", str(tmp_path), "tool", "help").stdout.splitlines()
    assert [line.split()[0] for line in listing] == registry.names()
    delete = next(line for line in listing if line.startswith("dashboard_delete "))
    assert "destructive" in delete and registry.get("dashboard_delete").summary in delete
    get = next(line for line in listing if line.startswith("dashboard_get "))
    assert "read-only" in get
    one = ballast("--workspace", str(tmp_path), "tool", "help", "dashboard_add_block").stdout
    tool = registry.get("dashboard_add_block")
    assert one.startswith(f"dashboard_add_block: {tool.summary}")
    assert "role: editor" in one and tool.refuses in one.replace("\n", " ")
    assert json.dumps(tool.example) in one
    unknown = ballast("--workspace", str(tmp_path), "tool", "help", "nope", check=False)
    assert unknown.returncode == 1 and "no tool named 'nope'" in unknown.stderr
