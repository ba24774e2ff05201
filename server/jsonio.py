"""JSON in and out: answers that serialize dates, decimals and non-finite floats safely."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from decimal import Decimal
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


def parse_object(body: bytes) -> dict[str, Any]:
    """A request body as a JSON object; an empty body is ``{}``; anything else is 400."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidRequest(f"the body is not valid JSON: {error}") from None
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
