"""`ballast tool NAME JSON` (one tool, as the command's user) and `ballast mcp` (the tools for an agent)."""

from __future__ import annotations

import argparse
import json

from ballast_tui.commands import call, connection_errors, fail, token_of, workspace_of
from ballast_tui.engine.errors import ToolError


def run_tool(args: argparse.Namespace) -> int:
    """`ballast tool NAME [JSON]`: the tool's answer as JSON on standard output."""
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
