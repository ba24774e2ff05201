"""The built wheel, installed into a fresh virtual environment (not editable), works on its own:
a demo workspace, a server, a published page with its styles, script and preview image. Package data
(styles, fonts, templates, assets) cannot go missing, and nothing but Ballast's own names is
installed at the top level of site-packages."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.pg_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def run(*command: str | Path, cwd: Path, timeout: float = 600) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout


def fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.status, answer.headers.get("Content-Type", ""), answer.read()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ROOT, cwd=out)
    (built,) = out.glob("ballast_tui-*.whl")
    return built


def test_the_wheel_installs_only_ballast_prefixed_packages(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"ballast_tui", "ballast_server"}
    for data in (
        "ballast_server/templates/page.html",
        "ballast_server/public_assets/public.css",
        "ballast_server/public_assets/public.js",
        "ballast_tui/app.tcss",
    ):
        assert data in names, data
    assert any(name.startswith("ballast_tui/published/fonts/") for name in names)


@pytest.mark.timeout(1200)
def test_the_installed_wheel_runs_the_demo_a_server_and_a_published_page(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    run(venv / "bin" / "pip", "install", "-q", wheel, cwd=tmp_path, timeout=1100)
    ballast = venv / "bin" / "ballast"
    workspace = tmp_path / "ws"
    # Away from the repository, so nothing is imported from the source tree.
    run(ballast, "--workspace", workspace, "demo", "--no-tui", cwd=tmp_path)
    (board,) = json.loads(
        run(ballast, "--workspace", workspace, "tool", "dashboard_list", "{}", cwd=tmp_path)
    )["dashboards"]
    published = json.loads(
        run(
            ballast,
            "--workspace",
            workspace,
            "tool",
            "dashboard_publish",
            json.dumps({"dashboard_id": board["id"]}),
            cwd=tmp_path,
        )
    )
    port = free_port()
    server = subprocess.Popen(
        [ballast, "--workspace", workspace, "serve", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                status, kind, page = fetch(f"{base}/public/dashboards/{published['slug']}")
                break
            except OSError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.3)
        assert status == 200 and kind.startswith("text/html")
        assert b"Sales overview" in page
        for asset, expected in (("public.css", "text/css"), ("public.js", "javascript")):
            status, kind, _ = fetch(f"{base}/public/assets/{asset}")
            assert status == 200 and expected in kind, asset
        status, kind, image = fetch(f"{base}/public/dashboards/{published['slug']}/preview.png")
        assert status == 200 and kind == "image/png" and image.startswith(b"\x89PNG")
    finally:
        server.terminate()
        server.wait(timeout=30)
