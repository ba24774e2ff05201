"""Published page benchmark: a cached public page against the same page as a static file.

    python bench/bench_public_page.py [--seconds 5] [--concurrency 16] [--rounds 3]

One process serves both, on 127.0.0.1, each on its own free port:

- ours: ``GET /public/dashboards/{slug}`` of the demo dashboard, published,
  after one warm-up request (so the drawing and the built page are cached).
  Every request still looks the board up in SQLite (is it still published?
  which runs are current?) and checks its ETag.
- baseline: the very same HTML bytes written to a file (with its `.gz`
  beside it, as ours answers gzip too) and served by a bare aiohttp
  `web.static` route.

A separate client process (aiohttp, `--concurrency` connections, gzip
accepted) requests each for `--seconds`; the rounds alternate static and ours
so a change in the machine's speed affects both. Prints requests per second
of each, best round, and the ratio. Target: ours within 2x of the static file.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import ClientSession, TCPConnector, web

from ballast_server.runner import start_server
from ballast_tui.demo import build_demo
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Context, load_registry


async def client(
    url: str, seconds: float, concurrency: int, method: str = "GET", body: str | None = None
) -> dict[str, float]:
    """Request `url` from `concurrency` loops for `seconds` (kept-alive connections; `method`, with
    `body` as JSON when given); requests per second and failures."""
    done = failed = 0
    deadline = time.perf_counter() + seconds
    headers = {"Accept-Encoding": "gzip"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    async with ClientSession(connector=TCPConnector(limit=concurrency)) as http:

        async def loop() -> None:
            nonlocal done, failed
            while time.perf_counter() < deadline:
                async with http.request(method, url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        done += 1
                    else:
                        failed += 1

        started = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"rps": done / elapsed, "failed": failed}


def measure(
    url: str, seconds: float, concurrency: int, method: str = "GET", body: str | None = None
) -> dict[str, float]:
    """Run the client in its own process, so it does not share the servers' event loop."""
    extra = ["--method", method] + (["--body", body] if body is not None else [])
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--client",
            url,
            "--seconds",
            str(seconds),
            "--concurrency",
            str(concurrency),
            *extra,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout))


async def serve_static(folder: Path) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_static("/static", folder)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port


async def main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="ballast-bench-public-"))
    try:
        ws = Workspace(root / "ws")
        board = build_demo(ws)
        ctx = Context(ws, ws.users.local(), "bench")
        slug = (await load_registry().acall(ctx, "dashboard_publish", {"dashboard_id": board}))["slug"]
        runner, port = await start_server(ws, "127.0.0.1", 0)
        ours = f"http://127.0.0.1:{port}/public/dashboards/{slug}"
        async with (
            ClientSession() as http,
            http.get(ours, headers={"Accept-Encoding": "identity"}) as response,
        ):
            assert response.status == 200, response.status
            page = await response.read()
        static_dir = root / "static"
        static_dir.mkdir()
        (static_dir / "page.html").write_bytes(page)
        (static_dir / "page.html.gz").write_bytes(gzip.compress(page, 6, mtime=0))
        static_runner, static_port = await serve_static(static_dir)
        static = f"http://127.0.0.1:{static_port}/static/page.html"
        print(
            f"page: {len(page):,} bytes ({len(gzip.compress(page, 6)):,} gzipped); machine: "
            f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
        )
        best = {"static": 0.0, "ours": 0.0}
        for round_no in range(1, args.rounds + 1):
            for name, url in (("static", static), ("ours", ours)):
                result = await asyncio.to_thread(measure, url, args.seconds, args.concurrency)
                assert result["failed"] == 0, f"{name}: {result['failed']} failed requests"
                best[name] = max(best[name], result["rps"])
                print(f"round {round_no}: {name:6} {result['rps']:8.0f} req/s")
        ratio = best["static"] / best["ours"]
        print(f"\nbest: static {best['static']:.0f} req/s, ours {best['ours']:.0f} req/s")
        print(f"static / ours = {ratio:.2f}x (target: within 2x)")
        await static_runner.cleanup()
        await runner.cleanup()
        ws.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--method", default="GET", help=argparse.SUPPRESS)
    parser.add_argument("--body", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.client:
        measured = client(
            arguments.client, arguments.seconds, arguments.concurrency, arguments.method, arguments.body
        )
        print(json.dumps(asyncio.run(measured)))
    else:
        asyncio.run(main(arguments))
