"""`ballast tool NAME JSON` (one tool, as the command's user) and `ballast mcp` (the tools for an agent)."""

from __future__ import annotations

import argparse
import json

from ballast_tui.commands import call, connection_errors, fail, token_of, workspace_of
from ballast_tui.engine.errors import ToolError
from ballast_tui.tools.registry import Registry, Tool, load_registry


def tool_help(registry: Registry, name: str | None = None) -> str:
    """`ballast tool help [NAME]`: every tool in one line each, or one tool in full.

    Written from what each tool declared at registration, as MCP's annotations and the OpenAPI
    document are: summary, role, what a call does to the workspace, the agent's description, the
    example and what it refuses beyond its arguments' schema.
    """
    if name is None:
        width = max(len(tool.name) for tool in registry.tools())
        return "\n".join(f"{tool.name:<{width}}  {_flags(tool)}  {tool.summary}" for tool in registry.tools())
    tool = registry.get(name)
    lines = [f"{tool.name}: {tool.summary}", f"role: {_role(tool)}; {_flags(tool)}", ""]
    if tool.agent:
        lines += [tool.agent, ""]
    if tool.refuses:
        lines += [f"Also refused (400): {tool.refuses}.", ""]
    lines += [f"Example: ballast tool {tool.name} '{json.dumps(tool.example)}'", ""]
    lines.append("Arguments (JSON Schema):")
    lines.append(json.dumps(tool.args.model_json_schema(), indent=2))
    return "\n".join(lines)


def _role(tool: Tool) -> str:
    return tool.role if isinstance(tool.role, str) else " or ".join(sorted(tool.roles()))


def _flags(tool: Tool) -> str:
    kind = "read-only" if tool.read_only else "destructive" if tool.destructive else "writes"
    return f"{kind:<11} {'idempotent' if tool.idempotent and not tool.read_only else '':<10}"


def run_tool(args: argparse.Namespace) -> int:
    """`ballast tool NAME [JSON]`: the tool's answer as JSON on standard output.

    `ballast tool help [NAME]`: what the tools are (see `tool_help`).
    """
    if args.name == "help":
        named = None if args.arguments == "{}" else args.arguments
        try:
            print(tool_help(load_registry(), named))
        except ToolError as error:
            return fail(str(error))
        return 0
    try:
        arguments = json.loads(args.arguments)
    except ValueError:
        return fail("the arguments must be a JSON object")
    if not isinstance(arguments, dict):
        return fail("the arguments must be a JSON object")
    print(json.dumps(call(args, args.name, **arguments), indent=2, default=str))
    return 0


def run_mcp(args: argparse.Namespace) -> int:
    """`ballast mcp`: the MCP server over stdio."""
    from ballast_tui.mcp_server import run_stdio

    try:
        return run_stdio(workspace_of(args), token_of(args))
    except ToolError as error:
        return fail(f"{error.code}: {error.message}")
    except connection_errors() as error:
        return fail(f"cannot reach the workspace's server: {error}")
