"""JSON in and out: answers that serialize dates, decimals and non-finite floats safely;
requests parsed only once their nesting is known to be shallow enough.

`json.loads` recurses once per level of nesting, so a body of 100,000 ``[``
would end in a `RecursionError` deep inside the parser (a 500). Every piece of
JSON a client sends is measured first, over its bytes and without recursion,
and refused (400 `invalid_request`) when deeper than `MAX_JSON_DEPTH`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from decimal import Decimal
from itertools import accumulate
from typing import Any

from aiohttp import web

from ballast_tui.engine.errors import InvalidRequest


def _default(value: object) -> object:
    """What `json.dumps` cannot write natively: ISO dates, base64 bytes, anything else as text."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _finite(value: Any) -> Any:
    """`value` with every NaN or infinity replaced by None (strict JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def dumps(value: Any) -> str:
    """Strict JSON text for an answer (no NaN/Infinity tokens; dates as ISO strings)."""
    try:
        return json.dumps(value, default=_default, allow_nan=False)
    except ValueError:
        # Rare: a non-finite float somewhere; only then walk the whole value.
        return json.dumps(_finite(value), default=_default, allow_nan=False)


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer written with `dumps`."""
    return web.json_response(value, status=status, headers=headers, dumps=dumps)


MAX_JSON_DEPTH = 64
"""The deepest nesting of arrays and objects accepted in JSON a client sends (``{}`` is 1)."""

_KEEP_BRACKETS_AND_QUOTES = bytes(b for b in range(256) if b not in b'[]{}"')
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1
_CHUNK = 1 << 16


def _brackets_outside_strings(text: bytes) -> bytes:
    """The ``[]{}`` of JSON text that are not inside a string, in order.

    Escaped backslashes, then escaped quotes, go first, so every quote left opens or
    closes a string. Keeping only brackets and quotes, removing each ``""`` (an empty
    string, or the end of one string and the start of the next: the brackets stay on
    their side either way), then every other piece between quotes, leaves the
    brackets outside strings. All of it runs in C: no Python step per byte or string.
    """
    kept = text.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _KEEP_BRACKETS_AND_QUOTES)
    return b"".join(kept.replace(b'""', b"").split(b'"')[::2])


def too_deep(text: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects deeper than `limit`, found without parsing it.

    Brackets inside strings do not count. The depth is summed a chunk at a time by
    C iterators, so a body that goes deep at once is refused after its first chunk
    and a large flat one costs a few passes over its bytes. Text that is not JSON
    may be called deep here; the parser would refuse it anyway.
    """
    if text.count(b"[") + text.count(b"{") <= limit:
        return False
    brackets = _brackets_outside_strings(text)
    depth = 0
    for start in range(0, len(brackets), _CHUNK):
        sums = list(accumulate(map(_STEP.__getitem__, brackets[start : start + _CHUNK]), initial=depth))
        if max(sums) > limit:
            return True
        depth = sums[-1]
    return False


def parse_json(text: bytes | str, what: str = "the body") -> Any:
    """Client JSON as a value; 400 `invalid_request` when it is not JSON or nests too deep."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if too_deep(raw):
        raise InvalidRequest(f"{what} nests arrays and objects deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(raw)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidRequest(f"{what} is not valid JSON: {error}") from None
    except RecursionError:  # not expected past the depth check; never a 500 all the same
        raise InvalidRequest(f"{what} nests too deep") from None


def parse_object(body: bytes) -> dict[str, Any]:
    """A request body as a JSON object; an empty body is ``{}``; anything else is 400."""
    if not body.strip():
        return {}
    value = parse_json(body)
    if not isinstance(value, dict):
        raise InvalidRequest(f"the body must be a JSON object, not {_json_type(value)}")
    return value


def _json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array"
