"""The README's two commands and CI: the test command sets up what the tests need, CI runs exactly it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-system-packages"


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_the_readme_starts_with_an_app_command_and_a_test_command() -> None:
    app, tests = readme_commands()
    assert "ballast demo" in app
    assert tests.startswith("./scripts/install-system-packages && ")
    assert tests.endswith("pip install -e '.[test]' && pytest")


def test_ci_runs_exactly_the_readme_test_command_then_the_linters() -> None:
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    _, tests = readme_commands()
    assert "set -euo pipefail" in lines  # a failing linter fails CI
    at = lines.index(tests)
    assert "ruff check ." in lines[at + 1 :]
    assert any(line.startswith("mypy --strict ") for line in lines[at + 1 :])


def _path_with(tmp_path: Path, *tools: str) -> str:
    """A PATH holding only these tools (the real binaries), so a package can be 'missing'."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in tools:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def _run(path: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", str(SCRIPT), *args],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_missing_browser_is_named_and_a_dry_run_installs_nothing(tmp_path: Path) -> None:
    done = _run(_path_with(tmp_path, "ls", "id"), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "installing chromium" in done.stdout


def test_nothing_is_installed_when_everything_is_there(tmp_path: Path) -> None:
    bin_dir = Path(_path_with(tmp_path, "ls", "id"))
    for tool in ("chromium", "initdb", "zsh", "fish"):
        (bin_dir / tool).write_text("#!/bin/sh\n")
        (bin_dir / tool).chmod(0o755)
    done = _run(str(bin_dir))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "system packages: nothing to install"


def test_without_apt_the_missing_packages_are_one_clear_line(tmp_path: Path) -> None:
    done = _run(_path_with(tmp_path, "ls", "id"))
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1  # one line, no trace of bash internals
    assert "apt-get not found" in done.stderr and "chromium" in done.stderr


def test_an_unknown_option_is_refused(tmp_path: Path) -> None:
    done = _run(_path_with(tmp_path, "ls", "id"), "--yes")
    assert done.returncode == 2
    assert "usage:" in done.stderr
