"""Bad bearer tokens: each refused with 401 at the cost of a good one, and a client sending more than
30 a minute refused with 429 and `Retry-After`, while good tokens keep working. Real server."""

from __future__ import annotations

import asyncio

from tests.server.conftest import Api

BAD = "blt_000000000000_" + "x" * 43


async def test_more_than_thirty_bad_tokens_a_minute_answer_429_and_good_tokens_go_on(api: Api) -> None:
    good = api.token("alice")
    await api.ok("dashboard_list", good)  # remembered from now on
    statuses = []
    for _ in range(30):
        status, body = await api.request("GET", "/api/v1/tools", BAD)
        statuses.append(status)
        assert body["success"] is False
    assert set(statuses) == {401}
    async with api.http.get(
        api.base + "/api/v1/tools", headers={"Authorization": f"Bearer {BAD}"}
    ) as limited:
        assert limited.status == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert (await limited.json())["error"] == "rate_limited"
    # A good token from the same client is not held back by someone else's bad ones.
    answers = await asyncio.gather(*(api.call("dashboard_list", good) for _ in range(5)))
    assert [status for status, _ in answers] == [200] * 5


async def test_malformed_and_unknown_tokens_get_the_same_answer(api: Api) -> None:
    api.token("alice")
    answers = set()
    for token in (BAD, "not-a-token", "blt_" + "a" * 12 + "_" + "b" * 43, "Bearer"):
        status, body = await api.request("GET", "/api/v1/tools", token)
        answers.add((status, body["error"], body["message"]))
    assert len(answers) == 1 and next(iter(answers))[:2] == (401, "unauthorized")
