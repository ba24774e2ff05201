"""Connection URLs: which driver, what may be shown, what must be hidden.

Accepted forms::

    postgresql://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=require   (or postgres://)
    sqlite:///absolute/path/app.db
    duckdb:///absolute/path/warehouse.duckdb

`parse_url` never puts the password in anything it returns for display, and
lists every spelling of it (raw, percent-decoded, the whole URL) so that
`scrub` can take it out of any driver message before a user sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from ballast_tui.engine.errors import InvalidRequest

Driver = Literal["postgresql", "sqlite", "duckdb"]
DRIVERS: tuple[Driver, ...] = ("postgresql", "sqlite", "duckdb")
CONNECT_TIMEOUT_S = 10
_SCHEMES: dict[str, Driver] = {"postgresql": "postgresql", "postgres": "postgresql"}
_FILE_SCHEMES: dict[str, Driver] = {"sqlite": "sqlite", "duckdb": "duckdb"}
# Query parameters libpq reads that are secrets themselves.
_SECRET_PARAMS = frozenset({"password", "sslpassword"})
_FORMS = (
    "postgresql://user:password@host:5432/database, sqlite:///absolute/path.db "
    "or duckdb:///absolute/path.duckdb"
)


@dataclass(frozen=True)
class Target:
    """A parsed connection URL.

    ``uri``: what the driver opens (with Ballast's session options for
    PostgreSQL); ``display``: what may be shown (never the password);
    ``secrets``: every string that must never be shown.
    """

    driver: Driver
    uri: str
    display: dict[str, Any]
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def __repr__(self) -> str:  # never the URI, whatever prints this object
        return f"Target(driver={self.driver!r}, display={self.display!r})"


def parse_url(url: str, statement_timeout_s: float) -> Target:
    """The driver, display and secrets of `url`; `InvalidRequest` (never quoting it) when malformed."""
    text = url.strip()
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme in _SCHEMES:
        return _postgresql(text, statement_timeout_s)
    if scheme in _FILE_SCHEMES:
        return _file(text, _FILE_SCHEMES[scheme])
    raise InvalidRequest(f"a connection URL starts with postgresql://, sqlite: or duckdb: ({_FORMS})")


def _postgresql(url: str, statement_timeout_s: float) -> Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidRequest(f"the PostgreSQL URL is malformed; write it as {_FORMS}") from None
    if parts.fragment:
        raise InvalidRequest("the PostgreSQL URL has a '#' part; percent-encode '#' in a password as %23")
    query = parse_qsl(parts.query, keep_blank_values=True)
    secrets = {url}
    if parts.password:
        secrets.update({parts.netloc, parts.password, unquote(parts.password)})
    for key, value in query:
        if key.lower() in _SECRET_PARAMS and value:
            secrets.update({value, quote(value, safe="")})
    options = " ".join(
        [
            *(value for key, value in query if key == "options"),
            # Every transaction read-only, and the engine's time limit on the server's side too.
            "-c default_transaction_read_only=on",
            f"-c statement_timeout={max(1, round(statement_timeout_s * 1000))}",
        ]
    )
    kept = [(key, value) for key, value in query if key != "options"]
    names = {key for key, _ in kept}
    kept.append(("options", options))
    if "application_name" not in names:
        kept.append(("application_name", "ballast"))
    if "connect_timeout" not in names:
        kept.append(("connect_timeout", str(CONNECT_TIMEOUT_S)))
    uri = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(kept, quote_via=quote), ""))
    secrets.add(uri)
    display = {
        "driver": "postgresql",
        "host": parts.hostname or dict(query).get("host") or "localhost",
        "port": port or 5432,
        "database": unquote(parts.path.lstrip("/")) or dict(query).get("dbname") or None,
        "user": unquote(parts.username) if parts.username else dict(query).get("user"),
    }
    return Target("postgresql", uri, display, tuple(s for s in secrets if s))


def _file(url: str, driver: Driver) -> Target:
    rest = url.split(":", 1)[1]
    if rest.startswith("//"):
        rest = rest[2:]
        if not rest.startswith("/"):
            raise InvalidRequest(
                f"a {driver} URL names an absolute file: {driver}:///absolute/path (three slashes)"
            )
    path = unquote(rest.split("?", 1)[0])
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    if not path.startswith("/"):
        raise InvalidRequest(f"a {driver} URL names an absolute file: {driver}:///absolute/path")
    if "\x00" in path:
        raise InvalidRequest("a file path cannot contain a NUL character")
    return Target(driver, path, {"driver": driver, "path": path}, ())


_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]*:)[^@\s]*@")
_KEY_PASSWORD = re.compile(r"(?i)\b((?:ssl)?password\s*=\s*)('[^']*'|\S+)")


def scrub(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """`text` with every secret replaced by ``***``, and any password-looking part of a URL or DSN too."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\1***@", text)
    return _KEY_PASSWORD.sub(r"\1***", text)
