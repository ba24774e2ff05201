"""Errors a tool may answer with, one class per code of the contract's table.

Every error carries the HTTP status and the contract's `error` code, so any
transport (HTTP, MCP, the TUI) can render it the same way without a mapping of
its own.
"""

from __future__ import annotations

from typing import Any


class ToolError(Exception):
    """A refusal with the contract's error shape: ``{"success": false, "error": code, "message": ...}``."""

    status: int = 400
    code: str = "invalid_request"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        """The error as the contract's JSON body."""
        return {"success": False, "error": self.code, "message": self.message, **self.extra}


class InvalidRequest(ToolError):
    status, code = 400, "invalid_request"


class Unauthorized(ToolError):
    status, code = 401, "unauthorized"


class PasswordRequired(ToolError):
    status, code = 403, "password_required"


class Forbidden(ToolError):
    status, code = 403, "forbidden"


class NotFound(ToolError):
    status, code = 404, "not_found"


class Conflict(ToolError):
    status, code = 409, "conflict"


class TooLarge(ToolError):
    status, code = 413, "too_large"


class Locked(ToolError):
    status, code = 423, "locked"


class RateLimited(ToolError):
    status, code = 429, "rate_limited"
