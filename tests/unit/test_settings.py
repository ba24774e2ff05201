"""Settings (contract §13): defaults < ballast.toml < BALLAST_* < flags, for every key; `ballast settings`
says where each value came from; a bad value stops any command with one line naming its key and source,
and nothing is started or changed. Real processes on real workspaces."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ballast_tui.engine.workspace import Workspace
from ballast_tui.settings import KEYS, load_settings

SLOW_SQL = "select sum(hash(a.range)) as h from range(1000000000000) a"


def make_workspace(root: Path) -> None:
    """An empty workspace (commands other than init and demo refuse a directory that is none)."""
    with Workspace(root) as ws:
        ws.users.local()


def clean_env(**variables: str) -> dict[str, str]:
    """This process's environment without any BALLAST_* variable, plus `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALLAST_")}
    env.update(variables)
    return env


def ballast(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ballast_tui.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env if env is not None else clean_env(),
    )


def shown(root: Path, *flags: str, env: dict[str, str] | None = None) -> dict[str, tuple[Any, str]]:
    """`ballast settings --json`: key -> (value, source)."""
    result = ballast("--workspace", root, "settings", "--json", *flags, env=env)
    assert result.returncode == 0, result.stderr
    return {row["key"]: (row["value"], row["source"]) for row in json.loads(result.stdout)["settings"]}


# key: (value in ballast.toml, value of BALLAST_KEY and of the flag, the flag, the effective value)
EVERY_KEY: dict[str, tuple[str, str, str, Any]] = {
    "host": ('"0.0.0.0"', "127.0.0.2", "--host", "127.0.0.2"),
    "port": ("9001", "9002", "--port", 9002),
    "public_url": (
        '"https://a.example.com"',
        "https://b.example.com/",
        "--public-url",
        "https://b.example.com",
    ),
    "max_body": ("4096", "64MiB", "--max-body", 64 * 1024 * 1024),
    "query_timeout_s": ("12", "7.5", "--query-timeout", 7.5),
    "memory_limit": ('"1GB"', "3GB", "--memory-limit", "3GB"),
    "remote_query_timeout_s": ("40", "9", "--remote-query-timeout", 9.0),
    "log_file": ('"logs.txt"', "{tmp}/other.log", "--log-file", "{tmp}/other.log"),
    "trusted_proxies": (
        '["10.0.0.1"]',
        "10.0.0.2, 10.1.0.0/16",
        "--trusted-proxies",
        ["10.0.0.2", "10.1.0.0/16"],
    ),
}


def test_every_key_is_in_the_table() -> None:
    assert set(EVERY_KEY) == set(KEYS)


@pytest.mark.parametrize("key", list(EVERY_KEY))
def test_each_layer_overrides_the_one_before_for_every_key(tmp_path: Path, key: str) -> None:
    toml_value, given, flag, expected = EVERY_KEY[key]
    given = given.replace("{tmp}", str(tmp_path))
    expected = expected.replace("{tmp}", str(tmp_path)) if isinstance(expected, str) else expected
    root = tmp_path / "ws"
    make_workspace(root)
    assert load_settings(root, environ={}).sources[key] == "default"
    (root / "ballast.toml").write_text(f"{key} = {toml_value}\n")
    from_file = load_settings(root, environ={})
    assert from_file.sources[key] == "ballast.toml"
    if key == "log_file":  # a relative path in ballast.toml is taken from the workspace
        assert from_file.values.log_file == str(root / "logs.txt")
    variable = f"BALLAST_{key.upper()}"
    from_env = load_settings(root, environ={variable: given})
    assert from_env.sources[key] == f"env {variable}"
    value = getattr(from_env.values, key)
    assert (list(value) if isinstance(value, tuple) else value) == expected
    flagged = load_settings(root, {key: given}, environ={variable: "8000"})
    assert flagged.sources[key] == f"flag {flag}"


def test_settings_prints_each_value_and_where_it_came_from(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    make_workspace(root)
    (root / "ballast.toml").write_text('port = 9001\nquery_timeout_s = 12\nmemory_limit = "1GB"\n')
    env = clean_env(BALLAST_QUERY_TIMEOUT_S="7", BALLAST_MEMORY_LIMIT="3GB", BALLAST_WORKSPACE="/elsewhere")
    got = shown(root, "--memory-limit", "4GB", env=env)
    assert got["host"] == ("127.0.0.1", "default")
    assert got["port"] == (9001, "ballast.toml")
    assert got["query_timeout_s"] == (7.0, "env BALLAST_QUERY_TIMEOUT_S")
    assert got["memory_limit"] == ("4GB", "flag --memory-limit")
    before = snapshot(root)
    text = ballast("--workspace", root, "settings", env=env).stdout.splitlines()
    assert text[0] == f"workspace  {root}  (ballast.toml: found)"
    lines = {line.split()[0]: line.split() for line in text[1:]}
    assert set(lines) == set(KEYS)
    assert lines["port"][1:] == ["9001", "ballast.toml"]
    assert lines["query_timeout_s"][1:] == ["7", "env", "BALLAST_QUERY_TIMEOUT_S"]
    assert lines["memory_limit"][1:] == ["3GB", "env", "BALLAST_MEMORY_LIMIT"]
    assert lines["host"][1:] == ["127.0.0.1", "default"]
    assert snapshot(root) == before  # reading settings changes nothing


BAD: list[tuple[str, str | None, dict[str, str], list[str], str]] = [
    # (id, ballast.toml, environment, flags, the error line after "ballast: ")
    ("toml-type", 'port = "eighty"\n', {}, [], "invalid setting port = 'eighty' (from ballast.toml): "),
    ("toml-unknown", "prot = 8000\n", {}, [], "unknown setting 'prot' in {toml} (the settings are: host, "),
    ("toml-syntax", "port = [\n", {}, [], "{toml} is not valid TOML: Invalid value (at end of document)"),
    (
        "env-range",
        None,
        {"BALLAST_PORT": "70000"},
        [],
        "invalid setting port = '70000' (from env BALLAST_PORT): ",
    ),
    (
        "env-size",
        None,
        {"BALLAST_MEMORY_LIMIT": "lots"},
        [],
        "invalid setting memory_limit = 'lots' (from env BALLAST_MEMORY_LIMIT): not a size: 'lots'",
    ),
    (
        "env-proxy",
        None,
        {"BALLAST_TRUSTED_PROXIES": "10.0.0.1,10.0.0.300"},
        [],
        "invalid setting trusted_proxies = '10.0.0.1,10.0.0.300' (from env BALLAST_TRUSTED_PROXIES): "
        "'10.0.0.300' is not an IP address or network",
    ),
    (
        "flag-negative",
        None,
        {},
        ["--query-timeout=-1"],
        "invalid setting query_timeout_s = '-1' (from flag --query-timeout): Input should be greater than 0",
    ),
    (
        "flag-url",
        None,
        {},
        ["--public-url", "ftp://dash.example.com"],
        "invalid setting public_url = 'ftp://dash.example.com' (from flag --public-url): an http:// or https://",
    ),
    (
        "flag-log-dir",
        None,
        {},
        ["--log-file", "/nonexistent-dir/x.log"],
        "invalid setting log_file = '/nonexistent-dir/x.log' (from flag --log-file): its directory",
    ),
    (
        "flag-body",
        None,
        {},
        ["--max-body", "12"],
        "invalid setting max_body = '12' (from flag --max-body): at least 1024 bytes",
    ),
    (
        "flag-host",
        None,
        {},
        ["--host", "http://x"],
        "invalid setting host = 'http://x' (from flag --host): a host name or IP address",
    ),
]


def snapshot(root: Path) -> dict[str, bytes] | None:
    """Every file under `root` and its content (None when `root` does not exist)."""
    if not root.exists():
        return None
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("toml", "env", "flags", "error"), [case[1:] for case in BAD], ids=[c[0] for c in BAD]
)
def test_a_bad_value_stops_serve_with_one_line_naming_the_key_and_its_source(
    tmp_path: Path, toml: str | None, env: dict[str, str], flags: list[str], error: str
) -> None:
    root = tmp_path / "ws"
    make_workspace(root)
    if toml is not None:
        (root / "ballast.toml").write_text(toml)
    before = snapshot(root)
    result = ballast("--workspace", root, "serve", *flags, env=clean_env(**env))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    expected = "ballast: " + error.replace("{toml}", str(root / "ballast.toml"))
    assert len(lines) == 1 and lines[0].startswith(expected), result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(root) == before  # no server.json, nothing written


@pytest.mark.parametrize("command", [["tool", "dashboard_list"], ["settings"], ["list"], []])
def test_a_bad_value_stops_every_command_before_it_starts(tmp_path: Path, command: list[str]) -> None:
    root = tmp_path / "ws"
    result = ballast("--workspace", root, *command, env=clean_env(BALLAST_QUERY_TIMEOUT_S="soon"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "ballast: invalid setting query_timeout_s = 'soon' (from env BALLAST_QUERY_TIMEOUT_S): "
        "Input should be a valid number, unable to parse string as a number"
    ]
    assert not root.exists()


def test_other_ballast_variables_are_not_settings(tmp_path: Path) -> None:
    make_workspace(tmp_path / "ws")
    got = shown(tmp_path / "ws", env=clean_env(BALLAST_TOKEN="blt_x", BALLAST_PG_USER="postgres"))
    assert {source for _value, source in got.values()} == {"default"}


def test_the_query_time_limit_from_ballast_toml_fails_a_slow_block(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    make_workspace(root)
    (root / "ballast.toml").write_text("query_timeout_s = 0.5\n")

    def tool(tool_name: str, **arguments: Any) -> dict[str, Any]:
        result = ballast("--workspace", root, "tool", tool_name, json.dumps(arguments))
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    board = tool("dashboard_create", title="Slow")["dashboard"]["id"]
    block = tool("dashboard_add_block", dashboard_id=board, type="sql", name="slow", config={"sql": SLOW_SQL})
    assert block["block"]["state"] == "error"
    assert block["block"]["error"] == "the query ran longer than the time limit of 0.5 s"
    # The flag overrides the file for this command alone.
    result = ballast(
        "--workspace",
        root,
        "tool",
        "--query-timeout",
        "0.2",
        "dashboard_run_block",
        json.dumps({"dashboard_id": board, "block_id": "slow"}),
    )
    assert "time limit of 0.2 s" in result.stdout + result.stderr


def test_the_memory_limit_from_the_environment_bounds_the_engine(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    loaded = load_settings(root, environ={"BALLAST_MEMORY_LIMIT": "64MB"})
    greedy = (
        "select range % 3000000 as k, count(*) as n, max(repeat('y', 40)) as m from range(6000000) group by k"
    )
    with Workspace(root, loaded.engine()) as ws:
        from tests.conftest import ToolClient

        call = ToolClient(ws, ws.users.local())
        board = call("dashboard_create", title="Greedy")["dashboard"]["id"]
        block = call("dashboard_add_block", dashboard_id=board, type="sql", config={"sql": greedy})["block"]
    assert block["state"] == "error"
    assert "workspace's memory_limit of 64 MB" in block["error"], block["error"]


def test_the_defaults_without_the_settings_model_are_the_models_defaults(tmp_path: Path) -> None:
    """Where no layer names a setting, a command takes the defaults without loading pydantic-settings;
    they are exactly what the model gives, and the help of every flag is the model's description."""
    from ballast_tui.commands.settings import settings_of
    from ballast_tui.setting_keys import DESCRIPTIONS, chosen_anywhere
    from ballast_tui.settings import BallastSettings

    root = tmp_path / "ws"
    make_workspace(root)
    assert tuple(BallastSettings.model_fields) == KEYS
    assert {key: BallastSettings.model_fields[key].description for key in KEYS} == DESCRIPTIONS
    assert not chosen_anywhere(root, {}, environ={"BALLAST_WORKSPACE": str(root), "HOME": "/x"})
    args = __import__("argparse").Namespace(workspace=str(root))
    saved = {k: v for k, v in os.environ.items() if k.upper().startswith("BALLAST_")}
    for name in saved:
        del os.environ[name]
    try:
        assert settings_of(args) == load_settings(root, environ={}).engine()
    finally:
        os.environ.update(saved)


@pytest.mark.parametrize(
    "layer",
    ["toml", "toml-empty", "env", "env-lowercase", "flag"],
)
def test_any_layer_that_names_a_setting_is_read(tmp_path: Path, layer: str) -> None:
    """A ballast.toml (even an empty one), a BALLAST_* variable naming a key (in any case, as
    pydantic-settings reads them) or a flag each mean the layers are read; an empty variable does not."""
    from ballast_tui.setting_keys import chosen_anywhere

    root = tmp_path / "ws"
    root.mkdir()
    flags: dict[str, Any] = {}
    environ = {"BALLAST_PORT": "", "BALLAST_TOKEN": "t"}
    if layer == "toml":
        (root / "ballast.toml").write_text("port = 9001\n")
    elif layer == "toml-empty":
        (root / "ballast.toml").write_text("")
    elif layer == "env":
        environ["BALLAST_QUERY_TIMEOUT_S"] = "5"
    elif layer == "env-lowercase":
        environ["ballast_port"] = "9003"
    else:
        flags["port"] = "9004"
    assert chosen_anywhere(root, flags, environ)
    assert not chosen_anywhere(tmp_path, {"port": None}, {"BALLAST_PORT": "", "BALLAST_TOKEN": "t"})


def test_a_variable_in_lower_case_is_a_setting_for_every_command(tmp_path: Path) -> None:
    """`ballast settings` and a command's own check see `ballast_port` as pydantic-settings reads it."""
    root = tmp_path / "ws"
    make_workspace(root)
    assert shown(root, env=clean_env(ballast_port="9005"))["port"] == (9005, "env BALLAST_PORT")
    refused = ballast("--workspace", root, "list", env=clean_env(ballast_port="nope"))
    assert refused.returncode == 1 and "port" in refused.stderr
