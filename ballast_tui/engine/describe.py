"""How tools describe boards and blocks in their answers, and a published board's public URL."""

from __future__ import annotations

from typing import Any

from ballast_tui.engine.blocks import CONTROL_TYPES
from ballast_tui.engine.context import Context
from ballast_tui.engine.link_warning import base_url, link_warning
from ballast_tui.engine.public_options import PublicOptions

Row = dict[str, Any]


def describe_block(row: Row) -> Row:
    """A block as tools answer it."""
    described = {
        "id": row["id"],
        "name": row["name"],
        "type": row["type"],
        "config": row["config"],
        "displayed": row["displayed"],
        "version": row["version"],
        "state": row["state"],
        "error": row["error"],
        "current_run_id": row["current_run_id"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    if row["type"] in CONTROL_TYPES:
        described["value"] = row["value"] if row["value"] is not None else row["config"].get("default")
    return described


def public_url(ctx: Context, slug: str | None) -> str | None:
    """``{public base URL}/public/dashboards/{slug}``, or None for an unpublished board.

    The base is `Settings.public_url`: `--public-url` when given, else the
    address a running server announced (`server.app.announce_address` sets it
    once the server listens), else the address a server on the workspace's settings would take.
    """
    if not slug:
        return None
    return f"{base_url(ctx.ws.settings)}/public/dashboards/{slug}"


def public_url_warning(ctx: Context, slug: str | None) -> str | None:
    """Why a published board's link may not open for others (a loopback base, a port taken by chance)
    and how to set `public_url`; None when it is fine or the board is not published."""
    return link_warning(ctx.ws.settings) if slug else None


def describe_board(ctx: Context, row: Row, role: str | None) -> Row:
    """The summary of a board used by lists: the seed's fields and a few more."""
    return {
        "id": row["id"],
        "title": row["title"],
        "kind": row["kind"],
        "isDashboard": row["kind"] == "dashboard",
        "isPublic": row["visibility"] == "link_view",
        "visibility": row["visibility"],
        "role": role,
        "owner_id": row["owner_id"],
        "slug": row["slug"],
        "publicUrl": public_url(ctx, row["slug"]),
        "publicUrlWarning": public_url_warning(ctx, row["slug"]),
        "passwordProtected": bool(row["password_hash"]),
        "publicOptions": PublicOptions.of(row).describe(),
        "refreshEnabled": bool(row["refresh_enabled"]),
        "refreshInterval": row["refresh_interval"],
        "lastRefreshedAt": row["last_refreshed_at"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }
