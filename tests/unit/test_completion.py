"""`ballast completion SHELL`: a script made from the parser itself, offering options only where they act.

Bash runs the script here, as a user's shell does on Tab; zsh and fish check
its syntax when they are installed. Asking for another shell is refused in one
line.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.cli_run import assert_one_line, keep_umask, no_env, run  # noqa: F401 (fixtures)


def script(shell: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ballast_tui.cli", "completion", shell],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stderr == ""
    return result.stdout


@pytest.fixture(scope="module")
def bash_script() -> str:
    return script("bash")


def tab(bash_script: str, line: str) -> list[str]:
    """What bash offers on Tab at the end of `line`, with the script loaded as a user loads it."""
    program = (
        bash_script + '\nCOMP_LINE="$1"; COMP_POINT=${#COMP_LINE}; read -r -a COMP_WORDS <<< "$COMP_LINE"\n'
        'if [[ "$COMP_LINE" == *" " ]]; then COMP_WORDS+=(""); fi\n'
        "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
        '_shtab_ballast ballast "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(["bash", "-c", program, "bash", line], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return sorted(word.strip() for word in result.stdout.splitlines() if word.strip())


def test_bash_completes_commands_and_their_own_options(bash_script: str) -> None:
    assert tab(bash_script, "ballast se") == ["serve", "settings"]
    assert {"demo", "init", "import", "export", "completion", "user", "connection"} <= set(
        tab(bash_script, "ballast ")
    )
    serve = tab(bash_script, "ballast serve --")
    assert {"--host", "--port", "--workspace"} <= set(serve)
    assert "--token" not in serve  # the server acts as nobody
    assert "--token" in tab(bash_script, "ballast import --")
    assert "--sheet" in tab(bash_script, "ballast import --")
    assert tab(bash_script, "ballast user re") == ["remove", "revoke"]
    assert tab(bash_script, "ballast completion ") == ["bash", "fish", "zsh"]
    assert "--workspace" not in tab(bash_script, "ballast connect --")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_script_names_every_command_and_parses(shell: str) -> None:
    text = script(shell)
    for command in ("demo", "init", "open", "serve", "import", "export", "completion", "backup", "restore"):
        assert command in text
    program = shutil.which(shell)
    if program is None:
        pytest.skip(f"{shell} is not installed here")
    checked = subprocess.run([program, "-n"], input=text, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr


def test_help_shows_defaults_of_host_and_port(capsys: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ballast_tui.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    help_text = " ".join(result.stdout.split())
    assert "--host HOST address the server listens on (default: 127.0.0.1)" in help_text
    assert "--port PORT port the server listens on (0: any free port) (default: 8765)" in help_text
    assert "--token" not in help_text


def test_an_unknown_shell_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "completion", "powershell")
    assert_one_line(status, err, 2, "invalid choice: 'powershell'", "bash", "zsh", "fish")
    assert out == ""
