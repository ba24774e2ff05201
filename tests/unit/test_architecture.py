"""The rules of DESIGN.md that code review alone would let slip."""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

from ballast_tui.cli import _parser

ROOT = Path(__file__).resolve().parents[2]


CORE_PACKAGES = ("engine", "storage", "tools")
TRANSPORTS = ("textual", "aiohttp", "mcp", "ballast_server", "server")


def modules_under(*packages: str) -> list[str]:
    """Every module of `ballast_tui.<package>`, by dotted name."""
    names = []
    for package in packages:
        for path in sorted((ROOT / "ballast_tui" / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_engine_storage_and_tools_module_imports_no_transport() -> None:
    modules = modules_under(*CORE_PACKAGES)
    assert len(modules) > 40
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "import ballast_tui.tools.registry\n"
        "ballast_tui.tools.registry.load_registry()\n"
        f"bad = sorted(m for m in {TRANSPORTS!r} if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def imported_by(path: Path) -> set[str]:
    """The modules a file imports, by dotted name (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_server_reaches_no_storage_module() -> None:
    # The server reaches data through tools (and the engine's workspace), never SQLite rows.
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_by(path) if m.startswith("ballast_tui.storage")
        )
        for path in sorted((ROOT / "server").rglob("*.py"))
    }
    assert {path: found for path, found in offenders.items() if found} == {}


def test_the_server_package_is_imported_by_its_installed_name_only() -> None:
    # Installed, the `server/` folder is the package `ballast_server` (a bare `server` would collide
    # with any other distribution's): importing it as `server` would load every module twice.
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_by(path) if m.split(".")[0] == "server")
        for folder in ("ballast_tui", "server", "tests", "bench")
        for path in sorted((ROOT / folder).rglob("*.py"))
    }
    assert {path: found for path, found in offenders.items() if found} == {}
    assert (ROOT / "ballast_server").resolve() == (ROOT / "server").resolve()


def test_no_tool_module_imports_another_tool_module() -> None:
    tools = ROOT / "ballast_tui" / "tools"
    for path in sorted(tools.glob("*.py")):
        if path.name in ("__init__.py", "registry.py"):
            continue
        others = {
            m
            for m in imported_by(path)
            if m.startswith("ballast_tui.tools.") and m.split(".")[2] != "registry"
        }
        assert others == set(), f"{path.name} imports {sorted(others)}"


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
