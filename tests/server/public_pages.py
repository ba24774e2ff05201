"""Helpers for tests of the published HTML page: fetching it, reading its tags and its cookies."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from typing import Any

import aiohttp

from tests.server.conftest import Api

PAGE = "/public/dashboards"


@dataclass
class Page:
    """An HTML answer: status, headers, body, and what a browser or an unfurler reads of it."""

    status: int
    headers: Any
    body: str
    meta: dict[str, str] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    forms: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The body as a reader sees the words: entities decoded, no-break spaces as spaces."""
        return html.unescape(self.body).replace("\xa0", " ")

    def set_cookies(self) -> dict[str, dict[str, str]]:
        """Every Set-Cookie of the answer: name -> its value and attributes (lower-case keys)."""
        cookies: dict[str, dict[str, str]] = {}
        for header in self.headers.getall("Set-Cookie", []):
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                attributes = {k: str(v) for k, v in morsel.items() if v}
                flags = {part.strip().lower() for part in header.split(";")}
                attributes["httponly"] = ("httponly" in flags and "true") or ""
                cookies[name] = {"value": morsel.value, **attributes}
        return cookies


class _Reader(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__()
        self.page = page
        self.form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "meta" and ("property" in a or "name" in a):
            self.page.meta[a.get("property") or a["name"]] = a.get("content", "")
        for attribute in ("href", "src", "action"):
            if attribute in a:
                self.page.links.append(a[attribute])
        if tag == "form":
            self.form = {"method": a.get("method", "get"), "action": a.get("action", ""), "fields": {}}
            self.page.forms.append(self.form)
        if tag in ("input", "select") and self.form is not None and "name" in a:
            self.form["fields"][a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None


async def fetch(http: aiohttp.ClientSession, url: str, method: str = "GET", **kwargs: Any) -> Page:
    """Request `url` (no redirects followed) and read the answer as a page."""
    async with http.request(method, url, allow_redirects=False, **kwargs) as response:
        raw = await response.read() if method != "HEAD" else b""
        body = raw.decode("utf-8", errors="replace")
        page = Page(response.status, response.headers, body)
    if "html" in page.headers.get("Content-Type", ""):
        _Reader(page).feed(body)
    return page


def page_url(api: Api, slug: str, query: str = "") -> str:
    return f"{api.base}{PAGE}/{slug}{query}"


async def open_protected(api: Api, http: aiohttp.ClientSession, slug: str, password: str) -> Page:
    """Read the password form (getting its CSRF cookie) and post `password` with its token."""
    form = await fetch(http, page_url(api, slug))
    assert form.status == 200 and form.forms, form.body
    token = form.forms[0]["fields"]["csrf"]
    return await fetch(http, page_url(api, slug), "POST", data={"password": password, "csrf": token})


def svg_texts(page: Page) -> str:
    """The words drawn in the page's board (its SVG text), spaces restored."""
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", page.body)
    return " ".join(html.unescape(text).replace("\xa0", " ") for text in texts)


def browser_session() -> aiohttp.ClientSession:
    """A client that keeps cookies as a browser does, also for 127.0.0.1."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
