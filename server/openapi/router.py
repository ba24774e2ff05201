"""Operations read from the app's router: paths, path parameters, summaries and known answers."""

from __future__ import annotations

import inspect
import re
from typing import Any

from aiohttp import web

from ballast_server.middlewares import _PUBLIC_ATTR
from ballast_server.openapi.routes import ROUTE_DOCS
from ballast_server.openapi.schema import ANY_OBJECT, AUTHED_ERRORS, BODY_ERRORS, REFUSES, errors, json_body


def _group_body(pattern: str, start: int) -> str:
    """The text of the regex group whose body begins at `start` (up to its closing parenthesis)."""
    depth, index, in_class = 1, start, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return pattern[start:index]
        index += 1
    return pattern[start:]


def path_parameters(resource: web.AbstractResource) -> tuple[str, dict[str, dict[str, Any]]]:
    """The OpenAPI path of a resource and the schema of each of its path parameters."""
    info = resource.get_info()
    if "path" in info:
        return str(info["path"]), {}
    if "formatter" in info:
        pattern = info["pattern"].pattern
        params: dict[str, dict[str, Any]] = {}
        for match in re.finditer(r"\(\?P<(\w+)>", pattern):
            body = _group_body(pattern, match.end())
            params[match[1]] = {"type": "string", "pattern": f"^(?:{body})$"}
        return str(info["formatter"]), params
    if "prefix" in info:  # a static directory
        prefix = str(info["prefix"]).rstrip("/")
        return f"{prefix}/{{filename}}", {"filename": {"type": "string"}}
    return resource.canonical, {}


def _summary(handler: Any, method: str, path: str) -> tuple[str, str | None]:
    """The first line of the handler's docstring (and the rest), else ``METHOD path``."""
    doc = inspect.getdoc(handler)
    if not doc:
        return f"{method} {path}", None
    first, _, rest = doc.partition("\n")
    return first.strip(), rest.strip() or None


def _operation_id(method: str, path: str, name: str | None) -> str:
    if name:
        return name
    slug = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")
    return f"{method.lower()}_{slug}"


def route_operation(route: web.AbstractRoute, path: str, params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    method = route.method.upper()
    is_public = bool(getattr(route.handler, _PUBLIC_ATTR, False))
    known = ROUTE_DOCS.get((method, path))
    summary, description = _summary(route.handler, method, path)
    operation: dict[str, Any] = {
        "operationId": _operation_id(method, path, route.name),
        "summary": summary,
        "tags": ["public" if is_public else "api"],
    }
    if description:
        operation["description"] = description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": schema} for name, schema in params.items()
    ]
    statuses: tuple[int, ...]
    if known is not None:
        operation["summary"] = known.get("summary", summary)
        for name, schema in known.get("path_params", {}).items():
            parameters = [
                {**param, "schema": schema} if param["name"] == name else param for param in parameters
            ]
        parameters.extend(known.get("parameters", []))
        if "requestBody" in known:
            operation["requestBody"] = known["requestBody"]
        responses = dict(known["responses"])
        statuses = tuple(known.get("errors", ()))
        statuses += (500,) if is_public else AUTHED_ERRORS
        if "requestBody" in known:
            statuses += BODY_ERRORS
        for status, answer in errors(statuses).items():
            responses.setdefault(status, answer)  # a route's own description of a status stays
        if "description" in known:
            operation["description"] = known["description"]
        if "refuses" in known:
            operation[REFUSES] = known["refuses"]
    else:
        # Not described in detail: any answer is allowed, but the entry exists.
        if method in ("POST", "PUT", "PATCH"):
            operation["requestBody"] = json_body(ANY_OBJECT)
        responses = {"default": {"description": "the route's answer (not described in detail)"}}
    if parameters:
        operation["parameters"] = parameters
    operation["responses"] = responses
    if is_public:
        operation["security"] = []
    if known is not None and "security" in known:
        operation["security"] = known["security"]
    return operation
