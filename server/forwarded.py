"""Behind a reverse proxy: whom a request comes from, and whether it came over HTTPS.

Only a peer listed in the `trusted_proxies` setting (addresses or networks) is
believed when it says `X-Forwarded-For` and `X-Forwarded-Proto`; from anyone
else those headers are ignored, so a client cannot pose as another address to
dodge a rate limit, nor make the server think it is on HTTPS.

From a trusted proxy, the client is the right-most address of
`X-Forwarded-For` that is not itself a trusted proxy (each proxy appends the
peer it saw, so the left-most entries are whatever the client wrote), and
``X-Forwarded-Proto: https`` makes the request secure. The request handed on
is a clone with that `remote` and `scheme`, so the access log, the rate
limits, cookies (``Secure``) and the CSRF origin check all see the client's
view. A secure request's answers carry `Strict-Transport-Security`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from ballast_server.keys import WORKSPACE

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HSTS = "max-age=31536000"
"""`Strict-Transport-Security` on answers to requests that came over HTTPS (a year)."""

TRUSTED = web.AppKey("trusted_proxies", tuple)


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """The `trusted_proxies` setting as networks (an address is a network of one)."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        found = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(found, "ipv4_mapped", None)
    return mapped if mapped is not None else found


def is_trusted(address: str | None, trusted: tuple[Network, ...]) -> bool:
    """Whether `address` (a peer) lies in one of the trusted networks."""
    if not trusted or not address:
        return False
    found = _address(address)
    return found is not None and any(found in net for net in trusted if found.version == net.version)


def peer(request: web.Request) -> str | None:
    """The address of the TCP peer itself (what a cloned request's `remote` no longer says)."""
    transport = request.transport
    info = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(info, list | tuple) and info:
        return str(info[0])
    return request.remote


def forwarded_client(request: web.Request, trusted: tuple[Network, ...]) -> tuple[str | None, str | None]:
    """``(client address, scheme)`` a trusted proxy tells of the request; ``(None, None)`` when the peer
    is not trusted or says nothing usable."""
    if not is_trusted(peer(request), trusted):
        return None, None
    client: str | None = None
    hops = [hop.strip() for hop in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")]
    for hop in reversed([h for h in hops if h]):
        found = _address(hop)
        if found is None:
            break  # a garbled entry: believe nothing further left
        client = str(found)
        if not is_trusted(client, trusted):
            break
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
    return client, (proto if proto in ("http", "https") else None)


def setup_forwarded(app: web.Application) -> None:
    """Read the workspace's `trusted_proxies` and send HSTS on secure answers."""
    app[TRUSTED] = networks(app[WORKSPACE].settings.trusted_proxies)
    app.on_response_prepare.append(_hsts)


@web.middleware
async def forwarded_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Hand on the request as the client sees it, when a trusted proxy says so (see the module's doc)."""
    trusted = request.app[TRUSTED]
    if trusted:
        client, scheme = forwarded_client(request, trusted)
        if client is not None and scheme is not None:
            return await handler(request.clone(remote=client, scheme=scheme))
        if client is not None:
            return await handler(request.clone(remote=client))
        if scheme is not None:
            return await handler(request.clone(scheme=scheme))
    return await handler(request)


async def _hsts(request: web.Request, response: web.StreamResponse) -> None:
    secure = request.secure
    if not secure and request.app[TRUSTED]:
        secure = forwarded_client(request, request.app[TRUSTED])[1] == "https"
    if secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
