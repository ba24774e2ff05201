"""One operation per registered tool, its request body the tool's own pydantic JSON Schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ballast_server.openapi.schema import JSON, REFUSES, SCHEMAS, TOOL_ERRORS, errors, json_body, ok, success
from ballast_tui.tools.registry import Registry, Tool


def tool_schemas(registry: Registry) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Each tool's request-body schema (a reference) and the component schemas they use.

    pydantic writes every model once under a collision-free name, with references
    pointing into ``#/components/schemas`` instead of a local ``$defs``.
    """
    tools = {name: registry.get(name) for name in registry.names()}
    models: list[type[BaseModel]] = list(dict.fromkeys(tool.args for tool in tools.values()))
    by_model, defs = models_json_schema(
        [(model, "validation") for model in models], ref_template=SCHEMAS + "{model}"
    )
    bodies = {name: by_model[(tool.args, "validation")] for name, tool in tools.items()}
    return bodies, dict(defs.get("$defs", {}))


def tool_operation(tool: Tool, body_schema: dict[str, Any]) -> dict[str, Any]:
    """``POST /api/v1/tools/{name}`` for one tool, from what the tool declared at registration.

    The summary and description are the tool's own (what people and agents read), the request
    body its argument model, required when the model has required fields, with its example;
    `x-ballast-tool` carries the role it needs and what it does to the workspace (the same
    read-only, destructive and idempotent flags MCP publishes as annotations).
    """
    responses = {
        "200": ok(success(), "the tool's answer: `success` true and its fields"),
        **errors(TOOL_ERRORS),
    }
    required = bool(tool.args.model_json_schema().get("required"))
    body = json_body(body_schema, required=required)
    body["content"][JSON]["example"] = tool.example
    operation: dict[str, Any] = {
        "operationId": f"tool_{tool.name}",
        "summary": tool.summary,
        "description": tool.agent or tool.summary,
        "tags": ["tools"],
        "requestBody": body,
        "responses": responses,
        "x-ballast-tool": tool_annotations(tool),
    }
    if tool.refuses:
        operation[REFUSES] = tool.refuses
    return operation


def tool_annotations(tool: Tool) -> dict[str, Any]:
    """What a tool declared about itself: the role it needs, and what a call does to the workspace."""
    return {
        "role": tool.role if isinstance(tool.role, str) else sorted(tool.roles()),
        "readOnly": tool.read_only,
        "destructive": tool.destructive,
        "idempotent": tool.idempotent,
    }
