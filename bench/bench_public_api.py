"""Public JSON benchmark: ``POST /api/v1/public/dashboards/{slug}`` against a bare aiohttp handler.

    python bench/bench_public_api.py [--seconds 5] [--concurrency 16] [--rounds 3]

One process serves both, on 127.0.0.1, each on its own free port:

- ours: the published board's JSON answer, as anyone with its link asks for it,
  through the whole server (its middlewares, the body's parsing, the password
  limiter, the answers' cache). A small board: a region control, a chart, a
  table and a metric over 24 rows (four displayed blocks, about 2 KB). Two
  cases: the stored values (no body), and a viewer's choice
  (``{"filter_overrides": {"region": "us"}}``), each after one warm-up request.
- baseline: a bare aiohttp handler on the same route answering the very same
  bytes (`web.Response(body=…)`), no middlewares.

A separate client process (`bench_public_page.client`: aiohttp, `--concurrency`
kept-alive connections, each in a loop) posts to each for `--seconds`; the rounds
alternate bare and ours so a change in the machine's speed affects both. Prints
requests per second of each round, the best of each, and ours / bare. Target:
ours at least 50% of the bare handler.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web

sys.path.insert(0, str(Path(__file__).parent))
from bench_public_page import measure

from ballast_server.runner import start_server
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Context, load_registry

ROUTE = "/api/v1/public/dashboards/{slug}"
REGIONS = ("eu", "us", "apac")
CASES = {"stored values": None, "a viewer's choice": json.dumps({"filter_overrides": {"region": "us"}})}


async def build_board(ws: Workspace) -> str:
    """A small published board (a control, a chart, a table, a metric); its slug."""
    registry = load_registry()
    ctx = Context(ws, ws.users.local(), "bench")

    async def call(tool: str, **arguments: Any) -> dict[str, Any]:
        return await registry.acall(ctx, tool, arguments)

    board = (await call("dashboard_create", title="Sales"))["dashboard"]["id"]
    rows = [
        {"month": m, "region": r, "amount": 100 * m + i} for i, r in enumerate(REGIONS) for m in range(1, 9)
    ]
    await call("catalog_push", dashboard_id=board, name="sales", rows=rows)
    specs: list[tuple[str, str, dict[str, Any], bool]] = [
        ("region", "param-enum", {"options": list(REGIONS), "default": "eu"}, True),
        (
            "monthly",
            "sql",
            {
                "sql": "select month, amount from sales where region = $region order by month",
                "inputs": ["region"],
            },
            False,
        ),
        ("trend", "chart", {"source": "monthly", "kind": "line", "x": "month", "y": "amount"}, True),
        ("detail", "table", {"source": "monthly"}, True),
        ("total", "metric", {"source": "monthly", "column": "amount", "format": "{:,}"}, True),
    ]
    for name, kind, config, displayed in specs:
        block = (await call("dashboard_add_block", dashboard_id=board, type=kind, name=name, config=config))[
            "block"
        ]
        if displayed:
            await call("dashboard_set_displayed", dashboard_id=board, block_id=block["id"], displayed=True)
    return str((await call("dashboard_publish", dashboard_id=board))["slug"])


async def serve_bare(answers: dict[str, bytes]) -> tuple[web.AppRunner, int]:
    """A bare aiohttp app answering `answers[body]` on the same route."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=answers[await request.text()], content_type="application/json")

    app = web.Application()
    app.router.add_post(ROUTE, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port


async def main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="ballast-bench-public-api-"))
    try:
        ws = Workspace(root / "ws")
        slug = await build_board(ws)
        runner, port = await start_server(ws, "127.0.0.1", 0)
        ours = f"http://127.0.0.1:{port}{ROUTE.format(slug=slug)}"
        answers: dict[str, bytes] = {}
        async with ClientSession() as http:
            for body in CASES.values():
                async with http.post(
                    ours, data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    assert response.status == 200, await response.text()
                    answers[body or ""] = await response.read()
        bare_runner, bare_port = await serve_bare(answers)
        bare = f"http://127.0.0.1:{bare_port}{ROUTE.format(slug=slug)}"
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"answers: {', '.join(f'{len(a):,} bytes' for a in answers.values())}; machine: "
            f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; "
            f"load average before: {load}"
        )
        summary = []
        for case, body in CASES.items():
            print(f"\n{case}:")
            best = {"bare": 0.0, "ours": 0.0}
            for round_no in range(1, args.rounds + 1):
                for name, url in (("bare", bare), ("ours", ours)):
                    result = await asyncio.to_thread(
                        measure, url, args.seconds, args.concurrency, "POST", body
                    )
                    assert result["failed"] == 0, f"{name}: {result['failed']} failed requests"
                    best[name] = max(best[name], result["rps"])
                    print(f"round {round_no}: {name:4} {result['rps']:8.0f} req/s")
            ratio = best["ours"] / best["bare"]
            summary.append(
                f"{case}: best bare {best['bare']:.0f} req/s, ours {best['ours']:.0f} req/s, "
                f"ours / bare = {ratio:.0%} (target: at least 50%)"
            )
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print("\n".join(summary))
        await bare_runner.cleanup()
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
    asyncio.run(main(parser.parse_args()))
