"""Every `ballast` command, walked from the parser itself, given the wrong thing.

Whatever is wrong (an option it does not know, a missing argument, a workspace
that is missing, a file, or not a workspace, an option that means nothing to
that command, values that name nothing), the user sees one line on standard
error and a non-zero status (2 for a command line it does not understand, 1 for
the rest), never a traceback, and nothing is created or changed. A command
added later is walked too, with no edit here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ballast_tui.cli import CREATES_WORKSPACE, NO_WORKSPACE, TOKEN_COMMANDS, _parser
from ballast_tui.engine.workspace import Workspace
from tests.cli_run import assert_one_line, content, keep_umask, no_env, run  # noqa: F401 (fixtures)


def leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command a user can run: (its words, its parser); `ballast` alone first."""
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    if sub is None or not path:
        yield path, parser
    if sub is not None:
        for name, child in sub.choices.items():
            yield from leaves(child, (*path, name))


COMMANDS = list(leaves(_parser()))
IDS = [" ".join(words) or "(ballast)" for words, _ in COMMANDS]


def needed(parser: argparse.ArgumentParser) -> list[list[str]]:
    """Arguments of the right shape that name nothing, one group per positional and required option."""
    given: list[list[str]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
            continue
        value = str(next(iter(action.choices))) if action.choices else "nothing_here"
        if not action.option_strings and action.nargs != "?":
            given.append([value])
        elif action.option_strings and action.required:
            given.append([action.option_strings[0], value])
    return given


def placeholders(parser: argparse.ArgumentParser) -> list[str]:
    """Every argument `needed` gives, in one list."""
    return [word for group in needed(parser) for word in group]


def takes(parser: argparse.ArgumentParser, option: str) -> bool:
    return any(option in action.option_strings for action in parser._actions)


@pytest.mark.parametrize(("words", "parser"), COMMANDS, ids=IDS)
def test_an_unknown_option_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    words: tuple[str, ...],
    parser: argparse.ArgumentParser,
) -> None:
    status, out, err = run(capsys, *words, *placeholders(parser), "--no-such-option")
    assert_one_line(
        status, err, 2, "--no-such-option", f"`ballast{' ' if words else ''}{' '.join(words)} --help`"
    )
    assert out == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("words", "parser"), COMMANDS, ids=IDS)
def test_a_missing_argument_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], words: tuple[str, ...], parser: argparse.ArgumentParser
) -> None:
    groups = needed(parser)
    if not groups:
        pytest.skip("this command needs no argument")
    status, _out, err = run(capsys, *words, *[word for group in groups[:-1] for word in group])
    assert_one_line(status, err, 2, "the following arguments are required")


@pytest.mark.parametrize(("words", "parser"), COMMANDS, ids=IDS)
def test_a_missing_workspace_is_refused_and_not_created(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    words: tuple[str, ...],
    parser: argparse.ArgumentParser,
) -> None:
    typo = tmp_path / "typo"
    status, out, err = run(capsys, "--workspace", str(typo), *words, *placeholders(parser))
    command = words[0] if words else None
    if command in NO_WORKSPACE:
        assert_one_line(status, err, 2, "--workspace does not apply")
    elif command in CREATES_WORKSPACE:
        pytest.skip("this command creates its workspace")
    else:
        assert_one_line(status, err, 1, f"no workspace at {typo}", "ballast init")
    assert out == ""
    assert not typo.exists()


@pytest.mark.parametrize(("words", "parser"), COMMANDS, ids=IDS)
def test_a_workspace_that_is_a_file_is_one_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    words: tuple[str, ...],
    parser: argparse.ArgumentParser,
) -> None:
    if words and words[0] in NO_WORKSPACE:
        pytest.skip("this command takes no workspace")
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    args = placeholders(parser)
    if words == ("init",):
        args = [str(notes)]
    status, _out, err = run(capsys, "--workspace", str(notes), *words, *args)
    assert_one_line(status, err, 1, f"{notes} is a file")
    assert notes.read_text() == "my notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(("words", "parser"), COMMANDS, ids=IDS)
def test_a_token_given_to_a_command_that_acts_as_nobody_is_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    words: tuple[str, ...],
    parser: argparse.ArgumentParser,
) -> None:
    command = words[0] if words else None
    if command in TOKEN_COMMANDS:
        assert takes(parser, "--token")
        pytest.skip("this command acts as a user: --token is its own")
    assert not takes(parser, "--token"), "--token must not be offered where it does nothing"
    status, _out, err = run(capsys, "--token", "blt_x", *words, *placeholders(parser))
    assert_one_line(status, err, 2, "--token does not apply")


BLOCKING = {
    (): ["--token", "blt_not_a_token"],
    ("serve",): ["--port", "not-a-port"],
    ("demo",): ["--rows", "many"],
    ("mcp",): ["--token", "blt_not_a_token"],
}
"""Commands that would run until stopped (the app, a server) get a bad value that stops them first."""
MAY_SUCCEED = {
    ("list",),
    ("user", "list"),
    ("connection", "list"),
    ("completion",),
    ("user", "add"),
    ("settings",),
}
"""Commands that have nothing to name, or for which any name is a fine one (a user, a new workspace)."""


@pytest.mark.parametrize(("words", "parser"), COMMANDS, ids=IDS)
def test_arguments_that_name_nothing_fail_in_one_line_changing_nothing(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    words: tuple[str, ...],
    parser: argparse.ArgumentParser,
) -> None:
    root = tmp_path / "ws"
    with Workspace(root) as ws:
        ws.users.local()
    before = content(root / "ballast.db")
    args = BLOCKING.get(words, placeholders(parser))
    if words == ("backup",):
        args = [str(root / "inside")]  # a backup may not go inside the workspace it copies
    workspace = [] if words and words[0] in NO_WORKSPACE else ["--workspace", str(root)]
    monkeypatch.chdir(tmp_path)
    status, _out, err = run(capsys, *workspace, *words, *args)
    if words in MAY_SUCCEED:
        assert status == 0, err
        return
    assert status in (1, 2), (status, err)
    assert_one_line(status, err, status)
    assert err.startswith("ballast"), err
    assert content(root / "ballast.db") == before


def test_ballast_open_with_an_unknown_id_says_how_to_find_ids(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace(root).close()
    result = subprocess.run(
        [sys.executable, "-m", "ballast_tui.cli", "--workspace", str(root), "open", "dash_nope"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert (
        result.stderr == "ballast: no dashboard dash_nope that you may see; `ballast list` shows their ids\n"
    )


def test_a_typo_in_the_workspace_creates_nothing_in_a_real_process(tmp_path: Path) -> None:
    # The issue's own example, as a user's shell runs it.
    typo = tmp_path / "typo"
    result = subprocess.run(
        [sys.executable, "-m", "ballast_tui.cli", "--workspace", str(typo), "tool", "dashboard_list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"ballast: no workspace at {typo}: there is no such directory")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not typo.exists()


def test_a_directory_that_is_not_a_workspace_is_left_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    (home / "thesis.tex").write_text("\\begin{document}")
    for argv in (["list"], ["import", "x.csv", "--dashboard", "d"], ["serve"]):
        status, _out, err = run(capsys, "--workspace", str(home), *argv)
        assert_one_line(status, err, 1, f"{home} is not a Ballast workspace", f"ballast init {home}")
    status, _out, err = run(capsys, "init", str(home))
    assert_one_line(status, err, 1, "is not empty")
    status, _out, err = run(capsys, "--workspace", str(home), "demo", "--no-tui")
    assert_one_line(status, err, 1, "is not empty")
    assert sorted(p.name for p in home.iterdir()) == ["thesis.tex"]
    assert home.stat().st_mode & 0o777 == 0o755  # not made private: it is not ours


def test_init_makes_an_empty_workspace_with_this_user_as_administrator(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = tmp_path / "team"
    status, out, err = run(capsys, "init", str(root))
    assert (status, err) == (0, "")
    assert f"created the workspace {root}" in out and "administrator" in out
    with Workspace(root) as ws:
        users = ws.users.all()
        assert [(u["name"], u["is_admin"]) for u in users] == [(ws.users.local().name, 1)]
    status, _out, err = run(capsys, "--workspace", str(root), "list")
    assert status == 0
    before = content(root / "ballast.db")
    status, _out, err = run(capsys, "init", str(root))
    assert_one_line(status, err, 1, "already a workspace")
    assert content(root / "ballast.db") == before
