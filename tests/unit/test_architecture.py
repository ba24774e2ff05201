"""The rules of DESIGN.md that code review alone would let slip."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from ballast_tui.cli import _parser

ROOT = Path(__file__).resolve().parents[2]


def test_engine_storage_and_tools_import_no_transport() -> None:
    code = (
        "import sys\n"
        "import ballast_tui.engine.workspace, ballast_tui.engine.cascade, ballast_tui.tools.registry\n"
        "ballast_tui.tools.registry.load_registry()\n"
        "bad = sorted(m for m in ('textual', 'aiohttp', 'mcp', 'server') if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_the_server_imports_no_part_of_the_terminal_app() -> None:
    # The published page is drawn by a worker process, so the server never loads Textual.
    code = (
        "import sys\n"
        "import server.app, server.runner\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'textual'\n"
        "             or m.startswith(('ballast_tui.screens', 'ballast_tui.widgets', 'ballast_tui.app')))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_readme_lists_every_command() -> None:
    readme = (ROOT / "README.md").read_text()
    subparsers = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    for command in subparsers.choices:
        assert f"`ballast {command}" in readme, f"README does not document `ballast {command}`"


def test_readme_test_command_is_what_ci_runs() -> None:
    readme_lines = (ROOT / "README.md").read_text().splitlines()
    test_command = next(line for line in readme_lines if line.rstrip().endswith("pytest"))
    assert test_command.strip() in (ROOT / ".ci" / "run").read_text()
