"""A full schemathesis run against a live server finds nothing.

Every check, every phase (examples, coverage, fuzzing, stateful, the last
following the document's links), against a real server on a free port over
the demo workspace, as its administrator. The only allowance is the one the
document itself makes: an operation that declares (`x-ballast-refuses`) what
it refuses beyond its schema (SQL that does not parse, a name no source has)
may answer 400 to a request its schema calls valid, and the WebSocket's
accepted answer is its 101 handshake.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ballast_server.auth
from ballast_server.openapi import OPENAPI_PATH
from ballast_server.openapi.schema import REFUSES
from ballast_tui.demo import build_demo
from ballast_tui.engine.workspace import Workspace
from tests.server.test_openapi import ThreadedServer

EXAMPLES = os.environ.get("BALLAST_FUZZ_EXAMPLES", "3")
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
"""schemathesis's own default for `positive_data_acceptance`."""
NOT_A_SERVER_ERROR = ["2xx", "3xx", "4xx"]
"""schemathesis's own default for `not_a_server_error`."""


@pytest.fixture
def demo_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """The demo workspace served on a free port; its URL and the administrator's token."""
    # The ignored-auth check sends many bad tokens from one address; the limit on them (tested in
    # test_bad_tokens) would answer 429 where the check wants 401.
    monkeypatch.setattr(ballast_server.auth, "BAD_TOKENS_PER_MINUTE", 1_000_000)
    ws = Workspace(tmp_path / "demo")
    build_demo(ws, rows=2_000)
    admin = ws.users.local()
    assert admin.is_admin
    token = ws.users.add_token(admin.id)
    live = ThreadedServer(ws)
    try:
        yield f"http://127.0.0.1:{live.port}", token
    finally:
        live.stop()
        ws.close()


def allowances(document: dict[str, Any]) -> str:
    """schemathesis.toml: per operation, the statuses the document itself says a valid request may get."""
    entries = []
    for methods in document["paths"].values():
        for operation in methods.values():
            lines = []
            if REFUSES in operation:
                statuses = json.dumps([*ACCEPTED, "400"])
                lines.append(f"checks.positive_data_acceptance.expected-statuses = {statuses}")
            if "101" in operation["responses"]:  # an upgrade: its handshake is the answer
                statuses = json.dumps([*ACCEPTED, "101"])
                lines.append(f"checks.positive_data_acceptance.expected-statuses = {statuses}")
                statuses = json.dumps([*NOT_A_SERVER_ERROR, "101"])
                lines.append(f"checks.not_a_server_error.expected-statuses = {statuses}")
            if lines:
                entries.append(
                    f'[[operations]]\ninclude-operation-id = "{operation["operationId"]}"\n'
                    + "\n".join(lines)
                )
    return "\n".join(entries)


def test_a_full_schemathesis_run_finds_nothing(demo_server: tuple[str, str], tmp_path: Path) -> None:
    base, token = demo_server
    with urllib.request.urlopen(base + OPENAPI_PATH) as answer:
        document = json.load(answer)
    # The allowance is narrow: most operations are held to every request their schema allows.
    config = tmp_path / "schemathesis.toml"
    config.write_text(allowances(document))
    allowed = config.read_text().count("[[operations]]")
    operations = sum(len(methods) for methods in document["paths"].values())
    assert allowed < operations / 3
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run"),
        base + OPENAPI_PATH,
        *("--header", f"Authorization: Bearer {token}"),
        *("--checks", "all"),
        *("--phases", "examples,coverage,fuzzing,stateful"),
        *("--max-examples", EXAMPLES),
        *("--seed", "1"),
        *("--request-timeout", "30"),
        # requests keeps a connection the WebSocket handshake upgraded in its pool and sends the next
        # request down it; the server answers that with a WebSocket close. One retry opens a fresh one.
        *("--request-retries", "1"),
        *("--workers", "1"),
        "--no-color",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-20_000:]
    # Every operation selected and tested (all but the document's own route, which is where the
    # schema was loaded from), every phase run, none skipped.
    selected = re.search(r"Selected: (\d+)/(\d+)", report)
    assert selected is not None, report[-3_000:]
    assert selected[1] == selected[2] and int(selected[1]) >= operations - 1, report[-3_000:]
    assert f"Tested: {selected[1]}" in report
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅ {phase}\b", report), report[-3_000:]
