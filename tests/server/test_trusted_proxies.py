"""Behind a reverse proxy (`trusted_proxies`): only from a trusted peer do `X-Forwarded-For` and
`X-Forwarded-Proto` count — for the password limit, the access log, `Secure` cookies and HSTS. A real
server on 127.0.0.1; the forged headers come from the test's own client, a trusted peer or not."""

from __future__ import annotations

import logging
from http.cookies import SimpleCookie

import aiohttp
import pytest

from ballast_tui.config import Settings
from tests.server.conftest import Api, ServeFactory
from tests.server.public_pages import fetch, page_url
from tests.server.test_api import assert_error
from tests.server.test_public import PUBLIC
from tests.server.test_publish_passwords import plain_board, publish_with

PASSWORD = "right-pass-1234"
UNTRUSTED = {
    "nobody trusted": Settings(),
    "another proxy trusted": Settings(trusted_proxies=("10.0.0.1", "192.168.0.0/16")),
}
TRUSTED = Settings(trusted_proxies=("10.9.0.0/16", "127.0.0.1"))


async def protected_slug(api: Api) -> str:
    token, board = await plain_board(api)
    return str((await publish_with(api, token, board, {"password": PASSWORD}))["slug"])


async def guess(api: Api, slug: str, forwarded_for: str | None, password: str = "wrong") -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
    status, _body = await api.request(
        "POST", f"{PUBLIC}/{slug}", json={"password": password}, headers=headers
    )
    return status


async def exhaust(api: Api, slug: str, forwarded_for: str) -> None:
    """Ten wrong passwords from one client (as the proxy names it): the most a minute allows."""
    for _ in range(10):
        assert await guess(api, slug, forwarded_for) == 403


def cookie(headers: aiohttp.typedefs.LooseHeaders, name: str) -> tuple[str, set[str]]:
    """The value of the Set-Cookie `name` and its attribute names (lower case)."""
    for header in headers.getall("Set-Cookie", []):  # type: ignore[union-attr]
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(header)
        if name in parsed:
            return parsed[name].value, {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    raise AssertionError(f"no Set-Cookie {name}")


async def unlock(api: Api, slug: str, headers: dict[str, str]) -> tuple[aiohttp.typedefs.LooseHeaders, ...]:
    """The password form read and the right password posted, through `headers`; both answers' headers."""
    async with aiohttp.ClientSession() as http:
        form = await fetch(http, page_url(api, slug), headers=headers)
        assert form.status == 200 and form.forms, form.body
        nonce, _ = cookie(form.headers, "ballast_csrf")
        posted = await fetch(
            http,
            page_url(api, slug),
            "POST",
            data={"password": PASSWORD, "csrf": form.forms[0]["fields"]["csrf"]},
            headers={**headers, "Cookie": f"ballast_csrf={nonce}"},
        )
    assert posted.status in (200, 303), posted.body
    return form.headers, posted.headers


@pytest.mark.parametrize("settings", list(UNTRUSTED.values()), ids=list(UNTRUSTED))
async def test_forged_forwarded_for_from_an_untrusted_peer_is_one_client(
    serve: ServeFactory, settings: Settings
) -> None:
    api = await serve(settings)
    slug = await protected_slug(api)
    for n in range(10):  # ten "different" clients, all the same peer
        assert await guess(api, slug, f"203.0.113.{n}") == 403
    assert await guess(api, slug, "198.51.100.77") == 429
    assert await guess(api, slug, None, PASSWORD) == 429  # the right one too: the peer is limited


@pytest.mark.parametrize("settings", list(UNTRUSTED.values()), ids=list(UNTRUSTED))
async def test_forged_https_from_an_untrusted_peer_gives_no_secure_cookie_and_no_hsts(
    serve: ServeFactory, settings: Settings
) -> None:
    api = await serve(settings)
    slug = await protected_slug(api)
    form, posted = await unlock(api, slug, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert "secure" not in cookie(form, "ballast_csrf")[1]
    assert "secure" not in cookie(posted, "ballast_access")[1]
    assert "Strict-Transport-Security" not in form and "Strict-Transport-Security" not in posted  # type: ignore[operator]


async def test_a_trusted_proxy_names_the_client_the_password_limit_counts(serve: ServeFactory) -> None:
    api = await serve(TRUSTED)
    slug = await protected_slug(api)
    await exhaust(api, slug, "203.0.113.5")
    assert await guess(api, slug, "203.0.113.5") == 429
    # Another client behind the same proxy is not held up by it...
    assert await guess(api, slug, "203.0.113.6", PASSWORD) == 200
    # ...and a client cannot pose as another: what it writes left of the proxy's entry is ignored,
    # and trusted proxies in the chain are skipped.
    assert await guess(api, slug, "198.51.100.1, 203.0.113.5") == 429
    assert await guess(api, slug, "203.0.113.5, 10.9.4.4") == 429
    assert await guess(api, slug, "203.0.113.5, 198.51.100.1") == 403
    # Without the header, the client is the proxy itself: a fresh count.
    assert await guess(api, slug, None, PASSWORD) == 200


async def test_https_from_a_trusted_proxy_makes_cookies_secure_and_adds_hsts(serve: ServeFactory) -> None:
    api = await serve(TRUSTED)
    slug = await protected_slug(api)
    form, posted = await unlock(api, slug, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert {"secure", "httponly"} <= cookie(form, "ballast_csrf")[1]
    assert {"secure", "httponly"} <= cookie(posted, "ballast_access")[1]
    assert form["Strict-Transport-Security"] == "max-age=31536000"  # type: ignore[index]
    assert posted["Strict-Transport-Security"] == "max-age=31536000"  # type: ignore[index]
    async with api.http.get(api.base + "/api/v1/health", headers={"X-Forwarded-Proto": "https"}) as health:
        assert health.headers["Strict-Transport-Security"] == "max-age=31536000"
    # Plain http through the same proxy: neither.
    form, posted = await unlock(api, slug, {"X-Forwarded-Proto": "http"})
    assert "secure" not in cookie(form, "ballast_csrf")[1]
    assert "Strict-Transport-Security" not in posted  # type: ignore[operator]


@pytest.mark.parametrize(("settings", "logged"), [(TRUSTED, "203.0.113.5"), (Settings(), "127.0.0.1")])
async def test_the_access_log_records_the_client_only_a_trusted_proxy_names(
    serve: ServeFactory, caplog: pytest.LogCaptureFixture, settings: Settings, logged: str
) -> None:
    api = await serve(settings)
    with caplog.at_level(logging.INFO, logger="ballast.server.access"):
        status, body = await api.request("GET", "/api/v1/health", headers={"X-Forwarded-For": "203.0.113.5"})
        assert status == 200, body
    remotes = [r.__dict__.get("remote") for r in caplog.records if r.name == "ballast.server.access"]
    assert remotes == [logged]


async def test_bad_forwarded_headers_from_a_trusted_proxy_fall_back_to_the_peer(serve: ServeFactory) -> None:
    api = await serve(TRUSTED)
    slug = await protected_slug(api)
    for _ in range(10):
        assert await guess(api, slug, "not-an-address") == 403
    assert await guess(api, slug, None) == 429  # counted as the proxy itself, nothing else
    status, body = await api.request(
        "POST", f"{PUBLIC}/{slug}", json={"password": "x"}, headers={"X-Forwarded-Proto": "gopher"}
    )
    assert_error(status, body, 429, "rate_limited")
