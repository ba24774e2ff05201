"""Where published links point: `publish` warns of a loopback base or a port taken by chance and says
how to set `public_url`; the server keeps its port across restarts; `ballast serve` takes its address,
body limit and log file from the settings. Real servers, real processes."""

from __future__ import annotations

import asyncio
import json
import socket
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from ballast_server.embedded import start_embedded
from ballast_tui.config import Settings
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient
from tests.server.test_runner import START_TIMEOUT_S, stop
from tests.server.test_two_ballasts import Terminal, wait_for, workspace  # noqa: F401 (fixture)
from tests.unit.test_settings import ballast, clean_env, make_workspace


def tool(root: Path, name: str, env: dict[str, str] | None = None, **arguments: Any) -> dict[str, Any]:
    result = ballast("--workspace", root, "tool", name, json.dumps(arguments), env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@contextmanager
def occupied() -> Iterator[int]:
    """A port on 127.0.0.1 held by someone else for the duration."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_publish_warns_of_a_loopback_link_and_says_how_to_set_public_url(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    make_workspace(root)
    board = tool(root, "dashboard_create", title="Sales")["dashboard"]["id"]
    answer = tool(root, "dashboard_publish", dashboard_id=board)
    assert answer["publicUrl"] == f"http://127.0.0.1:8765/public/dashboards/{answer['slug']}"
    warning = answer["publicUrlWarning"]
    assert warning.startswith("The link points at 127.0.0.1, which opens only on this machine.")
    assert "--public-url" in warning and "BALLAST_PUBLIC_URL" in warning and "ballast.toml" in warning
    # dashboard_get says the same, for the share screen of any client.
    got = tool(root, "dashboard_get", dashboard_id=board)["dashboard"]
    assert got["publicUrlWarning"] == warning


def test_publish_with_public_url_set_does_not_warn_and_a_bad_one_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    make_workspace(root)
    board = tool(root, "dashboard_create", title="Sales")["dashboard"]["id"]
    bad = ballast(
        "--workspace",
        root,
        "tool",
        "dashboard_publish",
        json.dumps({"dashboard_id": board}),
        env=clean_env(BALLAST_PUBLIC_URL="dash.example.com"),
    )
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.splitlines() == [
        "ballast: invalid setting public_url = 'dash.example.com' (from env BALLAST_PUBLIC_URL): an http:// "
        "or https:// URL without query or fragment, e.g. https://dash.example.com"
    ]
    assert tool(root, "dashboard_get", dashboard_id=board)["dashboard"]["visibility"] == "private"
    env = clean_env(BALLAST_PUBLIC_URL="https://dash.example.com/")
    answer = tool(root, "dashboard_publish", env=env, dashboard_id=board)
    assert answer["publicUrl"] == f"https://dash.example.com/public/dashboards/{answer['slug']}"
    assert answer["publicUrlWarning"] is None


async def publish_while_served(ws: Workspace, board: str) -> tuple[str, str | None]:
    stop_server = await start_embedded(ws)
    try:
        answer = ToolClient(ws, ws.users.local())("dashboard_publish", dashboard_id=board)
        return answer["publicUrl"], answer["publicUrlWarning"]
    finally:
        await stop_server()


async def test_the_server_keeps_its_port_across_restarts_and_links_say_when_it_had_to_move(
    tmp_path: Path,
) -> None:
    with occupied() as wanted, Workspace(tmp_path / "ws", Settings(host="127.0.0.1", port=wanted)) as ws:
        board = ToolClient(ws, ws.users.local())("dashboard_create", title="Sales")["dashboard"]["id"]
        first, warning = await publish_while_served(ws, board)
        port = int(first.split(":")[2].split("/")[0])
        assert port != wanted
        assert warning is not None and f"because port {wanted} was taken" in warning
        assert "public_url" in warning
        assert ws.paths.last_port.read_text() == f"{port}\n"
        assert stat.S_IMODE(ws.paths.last_port.stat().st_mode) == 0o600
        again, _ = await publish_while_served(ws, board)
        assert again == first  # the same link after a restart
    with Workspace(tmp_path / "ws", Settings(host="127.0.0.1", port=wanted)) as ws:
        # The wanted port is free now, but the remembered one comes first: links keep working.
        later, _ = await publish_while_served(ws, board)
        assert later == first


async def test_a_chosen_port_comes_before_the_remembered_one_and_a_garbled_record_is_ignored(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    with occupied() as chosen:
        pass  # free again: the person's choice
    with Workspace(root, Settings(port=chosen, port_chosen=True)) as ws:
        ws.paths.last_port.write_text("not a port\n")
        board = ToolClient(ws, ws.users.local())("dashboard_create", title="Sales")["dashboard"]["id"]
        url, warning = await publish_while_served(ws, board)
        assert url.startswith(f"http://127.0.0.1:{chosen}/public/dashboards/")
        assert warning is not None and "was taken" not in warning  # only the loopback warning
        assert ws.paths.last_port.read_text() == f"{chosen}\n"


async def test_serve_takes_its_address_body_limit_and_log_file_from_the_settings(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    with occupied() as port:
        pass
    log_file = tmp_path / "logs" / "ballast.log"
    log_file.parent.mkdir()
    (root / "ballast.toml").write_text(f'port = {port}\nmax_body = "4KiB"\nlog_file = "{log_file}"\n')
    with Workspace(root) as ws:
        token = ws.users.add_token(ws.users.local().id)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ballast_tui.cli",
        "--workspace",
        str(root),
        "serve",
        env=clean_env(BALLAST_HOST="127.0.0.1"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT_S)).decode()
        assert line == f"Ballast serving http://127.0.0.1:{port}\n"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/api/v1/health") as health:
                assert health.status == 200
            async with http.post(
                f"http://127.0.0.1:{port}/api/v1/tools/dashboard_list",
                data=b"x" * 8192,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            ) as big:
                assert big.status == 413
                assert (await big.json())["error"] == "too_large"
    finally:
        status, stderr = await stop(proc)
    assert status == 0, stderr
    assert stderr == ""  # the log went to the file, not to the terminal
    logged = log_file.read_text()
    assert '"path": "/api/v1/health"' in logged and '"status": 413' in logged
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600


def test_the_app_serves_on_the_port_and_logs_to_the_file_its_flags_give(
    workspace: tuple[Path, str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    root, board, _token = workspace
    with occupied() as port:
        pass
    log_file = tmp_path / "app.log"
    app = Terminal("open", board, "--workspace", str(root), "--port", str(port), "--log-file", str(log_file))
    try:
        info = wait_for(
            lambda: (root / "server.json").exists() and json.loads((root / "server.json").read_text()),
            30,
            "the app to serve the workspace",
        )
        assert info["url"] == f"http://127.0.0.1:{port}"
        app.drain(1)
    finally:
        assert app.quit() == 0
    assert f"embedded server on 127.0.0.1:{port}" in log_file.read_text()
    assert not (root / "server.log").exists()


def test_the_app_with_a_bad_flag_starts_nothing(workspace: tuple[Path, str, str]) -> None:  # noqa: F811
    root, board, _token = workspace
    before = sorted(p.name for p in root.iterdir())
    result = ballast("--workspace", root, "open", board, "--port", "nope")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "ballast: invalid setting port = 'nope' (from flag --port): Input should be a valid integer, "
        "unable to parse string as an integer"
    ]
    assert sorted(p.name for p in root.iterdir()) == before  # no server.json, no log, no lock taken
