"""One operation per registered tool, its request body the tool's own pydantic JSON Schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ballast_tui.tools.registry import Registry
from server.openapi.schema import SCHEMAS, TOOL_ERRORS, errors, json_body, ok, success


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


def tool_operation(name: str, description: str, body_schema: dict[str, Any]) -> dict[str, Any]:
    responses = {"200": ok(success(), "the tool's answer: `success` true and its fields")}
    responses.update(errors(TOOL_ERRORS))
    return {
        "operationId": f"tool_{name}",
        "summary": description.split(". ")[0][:200] or name,
        "description": description,
        "tags": ["tools"],
        # An empty body means no arguments; tools with required arguments answer 400 then.
        "requestBody": json_body(body_schema),
        "responses": responses,
    }
