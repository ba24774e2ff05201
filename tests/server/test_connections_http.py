"""Connection tools over HTTP: administrators only, and the URL's password nowhere in what the
server answers or logs (an unreachable database, so no PostgreSQL is needed here)."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest

from ballast_tui.config import Settings
from tests.pg_server import free_port
from tests.server.conftest import ServeFactory

SECRET = "http-s3cret/p@ss"


async def test_connection_password_never_leaves_the_server(
    serve: ServeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api = await serve(Settings())
    admin, other = api.token("admin"), api.token("other")  # the first user administers the workspace
    url = f"postgresql://reader:{quote(SECRET, safe='')}@127.0.0.1:{free_port()}/sales"
    answers = []
    status, body = await api.call("connection_add", other, name="wh", url=url, check=False, grant=["*"])
    assert (status, body["error"]) == (403, "forbidden")
    status, body = await api.call("connection_add", admin, name="wh", url=url, grant=["*"])
    assert status == 400 and body["message"].startswith("connection 'wh': could not connect")
    answers.append(body)
    answers.append(await api.ok("connection_add", admin, name="wh", url=url, check=False, grant=["*"]))
    answers.append(await api.ok("connection_list", admin))
    board = (await api.ok("dashboard_create", admin, title="Sales"))["dashboard"]["id"]
    added = await api.ok(
        "dashboard_add_block",
        admin,
        dashboard_id=board,
        type="sql",
        name="orders",
        config={"sql": "SELECT * FROM wh.public.orders"},
    )
    assert added["block"]["state"] == "error"
    assert added["block"]["error"].startswith("connection 'wh': could not connect")
    answers += [added, await api.ok("dashboard_runs", admin, dashboard_id=board, block_id="orders")]
    answers.append(await api.ok("catalog_list", admin, dashboard_id=board))
    text = json.dumps(answers) + caplog.text
    for spelling in (SECRET, quote(SECRET, safe=""), url):
        assert spelling not in text
    assert "127.0.0.1" in json.dumps(answers[2])  # where it points is shown; how to log in is not
