"""OpenAPI `links`: an id one answer returns, and every operation that takes it.

`PRODUCERS` says which answers carry which ids (a JSON pointer into the answer,
or a field of the request that is passed on); every operation of the document
taking that argument (a tool's body field, or a route's path parameter) gets a
link from each of them. So a client (or a stateful fuzzer) can create a board,
add a block, run it, and reach every tool and route with ids that exist.
"""

from __future__ import annotations

from typing import Any

from ballast_server.openapi.schema import JSON, SCHEMAS

PRODUCERS: dict[str, dict[str, str]] = {
    # operationId: {argument: where its value is, in the answer or the request}
    "tool_dashboard_create": {"dashboard_id": "$response.body#/dashboard/id"},
    "tool_dashboard_clone": {"dashboard_id": "$response.body#/dashboard/id"},
    "tool_dashboard_save_conversation": {"dashboard_id": "$response.body#/dashboard/id"},
    "dashboards_save": {"dashboard_id": "$response.body#/dashboard/id"},
    "dashboard_clone": {"dashboard_id": "$response.body#/dashboard/id"},
    "tool_conversation_create": {
        "conversation_id": "$response.body#/conversation/id",
        "dashboard_id": "$response.body#/conversation/id",
    },
    "tool_dashboard_add_block": {
        "block_id": "$response.body#/block/id",
        "dashboard_id": "$request.body#/dashboard_id",
    },
    "tool_dashboard_run_block": {
        "run_id": "$response.body#/run/id",
        "other_run_id": "$response.body#/run/id",
        "block_id": "$request.body#/block_id",
        "dashboard_id": "$request.body#/dashboard_id",
    },
    "tool_dashboard_publish": {"slug": "$response.body#/slug"},
    "dashboard_publish": {"slug": "$response.body#/slug"},
    "tool_catalog_push": {
        "name": "$response.body#/source/name",
        "dashboard_id": "$request.body#/dashboard_id",
    },
    "tool_catalog_import": {
        "name": "$response.body#/source/name",
        "dashboard_id": "$request.body#/dashboard_id",
    },
    "tool_user_add": {"user": "$response.body#/user/name"},
}
"""Which answers carry which ids; the first argument of each is the one that makes the link."""

PATH_ARGUMENTS = {"id": "dashboard_id", "slug": "slug", "block_id": "block_id"}
"""A route's path parameter, and the tool argument of the same meaning."""
BODY_ALIASES = {"conversationId": "conversation_id"}
"""A seed route's body field, and the tool argument of the same meaning."""


def _body_fields(operation: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    schema = operation.get("requestBody", {}).get("content", {}).get(JSON, {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith(SCHEMAS):
        schema = schemas.get(ref.removeprefix(SCHEMAS), {})
    return set(schema.get("properties", {}))


def _link(target: dict[str, Any], produced: dict[str, str], schemas: dict[str, Any]) -> dict[str, Any] | None:
    """The link from an answer carrying `produced` to `target`, if the target takes its primary id."""
    primary = next(iter(produced))
    fields = _body_fields(target, schemas)
    body = {
        field: produced[BODY_ALIASES.get(field, field)]
        for field in fields
        if BODY_ALIASES.get(field, field) in produced
    }
    path = {
        f"path.{param['name']}": produced[PATH_ARGUMENTS[param["name"]]]
        for param in target.get("parameters", [])
        if param["in"] == "path" and PATH_ARGUMENTS.get(param["name"]) in produced
    }
    takes = {BODY_ALIASES.get(field, field) for field in body} | {
        PATH_ARGUMENTS[key.removeprefix("path.")] for key in path
    }
    if primary not in takes:
        return None
    link: dict[str, Any] = {"operationId": target["operationId"]}
    if body:
        link["requestBody"] = body
    if path:
        link["parameters"] = path
    return link


def add_links(paths: dict[str, dict[str, Any]], schemas: dict[str, Any]) -> None:
    """Give each producing operation's success answer a link to every operation taking its id."""
    operations = [op for methods in paths.values() for op in methods.values() if "operationId" in op]
    by_id = {op["operationId"]: op for op in operations}
    for source_id, produced in PRODUCERS.items():
        source = by_id.get(source_id)
        if source is None:
            continue
        answer = source["responses"].get("200")
        if answer is None:
            continue
        links = answer.setdefault("links", {})
        for target in operations:
            link = _link(target, produced, schemas)
            if link is not None:
                links[target["operationId"]] = link
