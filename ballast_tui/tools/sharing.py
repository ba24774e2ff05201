"""Sharing tools: visibility, publish and unpublish, a published link's options, grants, transfer."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import Field

from ballast_tui.engine.changes import publish, record
from ballast_tui.engine.describe import public_url, public_url_warning
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.events import BoardChanged
from ballast_tui.engine.hashing import hash_secret
from ballast_tui.engine.ids import random_base36
from ballast_tui.engine.public_options import MAX_ORIGINS, ORIGIN_MAX_LENGTH, PublicOptions, parse_origins
from ballast_tui.storage import repos
from ballast_tui.tools.registry import REGISTRY, Args, BoardScope, Context

SLUG_STEM_MAX = 48
PROTECTED_SLUG_LENGTH = 20
_PROTECTED_SLUG = re.compile(rf"[0-9a-z]{{{PROTECTED_SLUG_LENGTH}}}")


class VisibilityArgs(Args):
    dashboard_id: str
    visibility: Literal["private", "link_view"]


class BoardArgs(Args):
    dashboard_id: str


class PublishArgs(Args):
    dashboard_id: str
    password: str | None = Field(default=None, max_length=1024)
    """Absent: the current password stays; null or "": none; a string: the new password."""


class PublicOptionsArgs(Args):
    dashboard_id: str
    downloads: bool | None = None
    embed_origins: (
        Annotated[list[Annotated[str, Field(max_length=ORIGIN_MAX_LENGTH)]], Field(max_length=MAX_ORIGINS)]
        | None
    ) = None


class GrantArgs(Args):
    dashboard_id: str
    user: str
    role: Literal["editor", "viewer", "none"]


class TransferArgs(Args):
    dashboard_id: str
    user: str


def slugify(title: str) -> str:
    """The title as a URL slug: lower-case ASCII words joined by '-'."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:SLUG_STEM_MAX].strip("-")
    return stem or "dashboard"


def new_slug(title: str) -> str:
    """Slugified title, '-', and 12 random base-36 characters."""
    return f"{slugify(title)}-{random_base36(12)}"


def protected_slug() -> str:
    """20 random base-36 characters alone: a protected board's link tells nothing of the board."""
    return random_base36(PROTECTED_SLUG_LENGTH)


def is_protected_slug(slug: str) -> bool:
    """Whether `slug` has a protected board's shape (a title slug always has a '-')."""
    return _PROTECTED_SLUG.fullmatch(slug) is not None


def slug_for(current: str | None, title: str, protected: bool) -> str:
    """The slug of a board published now, given its `current` one (None when unpublished).

    A protected board keeps a random slug it has, else gets a new one (so an open board's title
    link stops working when it is protected). An open board keeps the slug it has, random or not
    (a link handed out with its password keeps working once the password is removed), else gets
    a new title slug.
    """
    if protected:
        return current if current is not None and is_protected_slug(current) else protected_slug()
    return current or new_slug(title)


@REGISTRY.tool(
    "dashboard_set_visibility",
    VisibilityArgs,
    role="owner",
    writes=True,
    destructive=True,
    idempotent=True,
    explicit_board=True,
    example={"dashboard_id": "dash_k3j9x0a1b2c3", "visibility": "private"},
)
def set_visibility(board: BoardScope, args: VisibilityArgs) -> dict[str, Any]:
    """Make a board private or viewable by anyone with its link.

    Make a board `private` or `link_view` (anyone with its link sees the displayed blocks). Owner
    only; dashboard_publish is the usual way to share.
    Returns `visibility`.
    """
    ctx = board.ctx
    if args.visibility == "link_view":
        return {"visibility": "link_view", **_publish(ctx, board.id, board.row)}
    return {"visibility": "private", **_unpublish(ctx, board.id, board.row)}


def _publish(
    ctx: Context,
    board_id: str,
    row: dict[str, Any],
    *,
    password: str | None = None,
    set_password: bool = False,
) -> dict[str, Any]:
    """Publish the board; with `set_password`, `password` replaces its password (None or "" removes
    it, and either way earlier access cookies stop working); without, the current one stays."""
    password_hash = (hash_secret(password) if password else None) if set_password else row["password_hash"]
    slug = slug_for(row["slug"], row["title"], protected=password_hash is not None)
    changes: dict[str, Any] = {"visibility": "link_view", "slug": slug}
    if set_password:
        changes["password_hash"] = password_hash
        changes["password_version"] = row["password_version"] + 1
    details: dict[str, Any] = {
        "slug": slug,
        "password_protected": password_hash is not None,
        "password": ("set" if password else "removed") if set_password else "kept",
    }
    if row["slug"] and row["slug"] != slug:
        details["previous_slug"] = row["slug"]
    with ctx.ws.db.write() as tx:
        repos.update_board(tx, board_id, **changes)
        record(tx, ctx, board_id, "publish", board_id, **details)
    publish(ctx, BoardChanged(dashboard_id=board_id, change="visibility", visibility="link_view", slug=slug))
    return {
        "slug": slug,
        "publicUrl": public_url(ctx, slug),
        "publicUrlWarning": public_url_warning(ctx, slug),
    }


def _unpublish(ctx: Context, board_id: str, row: dict[str, Any]) -> dict[str, Any]:
    with ctx.ws.db.write() as tx:
        repos.update_board(
            tx,
            board_id,
            visibility="private",
            slug=None,
            password_hash=None,
            password_version=row["password_version"] + 1,
        )
        record(tx, ctx, board_id, "unpublish", board_id, slug=row["slug"])
    publish(ctx, BoardChanged(dashboard_id=board_id, change="visibility", visibility="private"))
    return {"slug": None, "publicUrl": None, "publicUrlWarning": None}


@REGISTRY.tool(
    "dashboard_publish",
    PublishArgs,
    role="owner",
    writes=True,
    explicit_board=True,
    example={"dashboard_id": "dash_k3j9x0a1b2c3", "password": "optional-secret"},
)
def dashboard_publish(board: BoardScope, args: PublishArgs) -> dict[str, Any]:
    """Publish as a link anyone can open (optionally behind a password); answers `slug` and `publicUrl`.

    Publish a board as a read-only link anyone can open (displayed blocks only, no SQL), optionally
    behind a password. Only the owner may. Use it when the user asks to share a link.
    Without `password` the board keeps its current password (none on a first publish); `password`
    null or "" removes it; a new password replaces it, and access given with the old one stops
    working. An open board's slug is its title and 12 random characters; a protected board's is 20
    random characters alone, so its link tells nothing of it: protecting an open board gives it a new
    link (the old one answers 404). Removing the password keeps the link (people already have it);
    unpublish, then publish again, for a new one.
    Returns `slug`, `publicUrl` and `publicUrlWarning` (null, or why the link may not open for others,
    e.g. it points at 127.0.0.1, and how to set `public_url`: tell the user).
    """
    set_password = "password" in args.model_fields_set
    return _publish(board.ctx, board.id, board.row, password=args.password, set_password=set_password)


@REGISTRY.tool(
    "dashboard_unpublish",
    BoardArgs,
    role="owner",
    writes=True,
    destructive=True,
    explicit_board=True,
    example={"dashboard_id": "dash_k3j9x0a1b2c3"},
)
def dashboard_unpublish(board: BoardScope, args: BoardArgs) -> dict[str, Any]:
    """Take the public link down; the board becomes private and the old link answers 404.

    Take a published link down: the board becomes private and the old link answers 404. Owner only.
    Returns `slug` null and `publicUrl` null.
    """
    ctx = board.ctx
    return _unpublish(ctx, board.id, board.row)


@REGISTRY.tool(
    "dashboard_set_public_options",
    PublicOptionsArgs,
    refuses="an origin that is not a scheme, a valid host name and an optional valid port",
    role="owner",
    writes=True,
    destructive=True,
    idempotent=True,
    explicit_board=True,
    example={
        "dashboard_id": "dash_k3j9x0a1b2c3",
        "downloads": True,
        "embed_origins": ["https://wiki.example.com"],
    },
)
def dashboard_set_public_options(board: BoardScope, args: PublicOptionsArgs) -> dict[str, Any]:
    """Set what a board's published link offers: CSV downloads of its tables and charts, and the
    origins allowed to frame its page.

    Owner only; both are off by default. `downloads` true: the published page links each displayed
    table and chart's data as CSV for the viewer's choices (behind the same password). `embed_origins`:
    the sites allowed to show the page in a frame, each `https://host` or `https://host:port`; an empty
    list allows none. Leave an option out to keep it; call with neither to read them.
    Returns `downloads` and `embed_origins`.
    """
    ctx = board.ctx
    current = PublicOptions.of(board.row)
    wanted = PublicOptions(
        current.downloads if args.downloads is None else args.downloads,
        current.embed_origins if args.embed_origins is None else parse_origins(args.embed_origins),
    )
    if wanted != current:
        with ctx.ws.db.write() as tx:
            repos.update_board(
                tx,
                board.id,
                public_downloads=int(wanted.downloads),
                embed_origins=json.dumps(list(wanted.embed_origins)),
            )
            record(tx, ctx, board.id, "public_options", board.id, **wanted.describe())
        publish(ctx, BoardChanged(dashboard_id=board.id, change="public_options"))
    return PublicOptions.of(board.reload().row).describe()


@REGISTRY.tool(
    "dashboard_grant",
    GrantArgs,
    role="owner",
    writes=True,
    destructive=True,
    idempotent=True,
    explicit_board=True,
    example={"dashboard_id": "dash_k3j9x0a1b2c3", "user": "alice", "role": "editor"},
)
def dashboard_grant(board: BoardScope, args: GrantArgs) -> dict[str, Any]:
    """Give a user (by name or id) the editor or viewer role on a board; `none` revokes.

    Give a user (name or id) the `editor` or `viewer` role on a board, or `none` to revoke. Owner only.
    Returns `grants` (the board's grants now).
    """
    ctx = board.ctx
    user = ctx.ws.users.find(args.user)
    if user.id == board.row["owner_id"]:
        raise InvalidRequest(f"{user.name} owns this board; transfer it to change that")
    with ctx.ws.db.write() as tx:
        if args.role == "none":
            tx.execute("DELETE FROM grants WHERE board_id = ? AND user_id = ?", [board.id, user.id])
        else:
            tx.execute(
                "INSERT INTO grants (board_id, user_id, role) VALUES (?, ?, ?) "
                "ON CONFLICT (board_id, user_id) DO UPDATE SET role = excluded.role",
                [board.id, user.id, args.role],
            )
        record(tx, ctx, board.id, "grant", user.id, user=user.name, role=args.role)
    publish(ctx, BoardChanged(dashboard_id=board.id, change="grants", user_id=user.id, role=args.role))
    return {"grants": repos.grants(ctx.ws.db, board.id)}


@REGISTRY.tool(
    "dashboard_transfer",
    TransferArgs,
    role="owner",
    writes=True,
    destructive=True,
    explicit_board=True,
    example={"dashboard_id": "dash_k3j9x0a1b2c3", "user": "alice"},
)
def dashboard_transfer(board: BoardScope, args: TransferArgs) -> dict[str, Any]:
    """Make another user the owner; the previous owner stays on as an editor.

    Make another user the owner of a board; you stay on as an editor. Owner only.
    Returns `owner`.
    """
    ctx = board.ctx
    user = ctx.ws.users.find(args.user)
    if user.id == board.row["owner_id"]:
        raise InvalidRequest(f"{user.name} already owns this board")
    with ctx.ws.db.write() as tx:
        tx.execute("DELETE FROM grants WHERE board_id = ? AND user_id = ?", [board.id, user.id])
        tx.execute(
            "INSERT OR REPLACE INTO grants (board_id, user_id, role) VALUES (?, ?, 'editor')",
            [board.id, board.row["owner_id"]],
        )
        repos.update_board(tx, board.id, owner_id=user.id)
        record(tx, ctx, board.id, "transfer", user.id, to=user.name, previous_owner=board.row["owner_id"])
    publish(ctx, BoardChanged(dashboard_id=board.id, change="owner", owner_id=user.id))
    return {"owner": user.describe()}
