"""Authenticated request latency alone, and while 40 clients send bad bearer tokens.

    python bench/bench_auth.py [--seconds 5] [--rounds 3] [--flooders 40]

A real `ballast serve` process on a temporary workspace (127.0.0.1, a free
port). The measured client, in this process, sends one request at a time with
a good token: `GET /api/v1/analytics/dashboards` (the `dashboard_list` tool:
authentication, then one SQLite read on the tool pool). The flood, in a
process of its own, is `--flooders` clients, each from its own loopback
address (127.0.1.x), each sending `GET /api/v1/tools` with a bad token again
as soon as the last one was answered (401, then 429 once an address passed its
30 bad tokens a minute).

Rounds alternate "alone" and "under flood" so a change in the machine's speed
affects both. Prints p50 and p99 of each, and p99 under flood / p99 alone.
Target: within 3x.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import ClientSession, TCPConnector

BAD = "blt_000000000000_" + "x" * 43


async def measure(url: str, token: str, seconds: float) -> list[float]:
    """Latencies (ms) of sequential authenticated requests for `seconds`."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with ClientSession(connector=TCPConnector(limit=1)) as http:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            async with http.get(f"{url}/api/v1/analytics/dashboards", headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def flood(url: str, flooders: int, seconds: float) -> dict[str, int]:
    """`flooders` clients, each from its own loopback address, sending bad tokens back to back."""
    statuses: dict[str, int] = {}
    deadline = time.perf_counter() + seconds

    async def one(index: int) -> None:
        address = f"127.0.1.{index + 1}"
        connector = TCPConnector(limit=1, local_addr=(address, 0))
        async with ClientSession(connector=connector) as http:
            while time.perf_counter() < deadline:
                async with http.get(
                    f"{url}/api/v1/tools", headers={"Authorization": f"Bearer {BAD}"}
                ) as response:
                    await response.read()
                    statuses[str(response.status)] = statuses.get(str(response.status), 0) + 1

    await asyncio.gather(*(one(i) for i in range(flooders)))
    return statuses


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def start_server(root: Path) -> tuple[subprocess.Popen[str], str, str]:
    """A `ballast serve` process on `root`; (process, base URL, a good token)."""
    cli = [sys.executable, "-m", "ballast_tui.cli", "--workspace", str(root)]
    token = (
        subprocess.run([*cli, "user", "add", "bench"], check=True, capture_output=True, text=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    for title in ("One", "Two", "Three"):
        subprocess.run(
            [*cli, "tool", "dashboard_create", json.dumps({"title": title})], check=True, capture_output=True
        )
    server = subprocess.Popen(
        [*cli, "serve", "--port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )
    deadline = time.monotonic() + 60
    while not (root / "server.json").exists():
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.1)
    time.sleep(0.3)
    url = json.loads((root / "server.json").read_text())["url"]
    return server, url, token


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--flooders", type=int, default=40)
    parser.add_argument("--flood", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flood:
        print(json.dumps(asyncio.run(flood(args.flood, args.flooders, args.seconds))))
        return

    system = f"{platform.system()} {platform.release()}"
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {system}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="ballast-bench-auth-") as folder:
        server, url, token = start_server(Path(folder) / "ws")
        try:
            asyncio.run(measure(url, token, 1.0))  # warm-up: the token is checked once, then remembered
            alone: list[float] = []
            flooded: list[float] = []
            statuses: dict[str, int] = {}
            for round_number in range(1, args.rounds + 1):
                alone_round = asyncio.run(measure(url, token, args.seconds))
                alone += alone_round
                flooder = subprocess.Popen(
                    [
                        sys.executable,
                        __file__,
                        "--flood",
                        url,
                        "--flooders",
                        str(args.flooders),
                        "--seconds",
                        str(args.seconds + 1.0),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                time.sleep(0.5)  # the flood is under way
                flood_round = asyncio.run(measure(url, token, args.seconds))
                flooded += flood_round
                out, _ = flooder.communicate(timeout=args.seconds + 30)
                for status, count in json.loads(out).items():
                    statuses[status] = statuses.get(status, 0) + count
                print(
                    f"round {round_number}: alone p50 {statistics.median(alone_round):.2f} ms "
                    f"p99 {percentile(alone_round, 0.99):.2f} ms ({len(alone_round)} requests) | "
                    f"under flood p50 {statistics.median(flood_round):.2f} ms "
                    f"p99 {percentile(flood_round, 0.99):.2f} ms ({len(flood_round)} requests)"
                )
        finally:
            server.terminate()
            server.wait(timeout=20)
    p99_alone, p99_flood = percentile(alone, 0.99), percentile(flooded, 0.99)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"flood answers: {dict(sorted(statuses.items()))}")
    print()
    print(f"{'case':<40} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9}")
    for label, values, p99 in (
        ("authenticated request, alone (baseline)", alone, p99_alone),
        (f"... while {args.flooders} clients send bad tokens", flooded, p99_flood),
    ):
        print(f"{label:<40} {statistics.median(values):>8.2f} {p99:>8.2f} {len(values):>9}")
    ratio = p99_flood / p99_alone
    print(
        f"p99 under flood / p99 alone = {ratio:.2f}x (target: within 3x) {'pass' if ratio <= 3 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
