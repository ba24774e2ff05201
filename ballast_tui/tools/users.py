"""User tools: the workspace's accounts and their API tokens.

Administrators list, add and remove users and manage anyone's tokens; a user
makes and revokes their own tokens. A token's secret is shown once, when it is
made, and never again; answers carry token ids, names and times only. A
revocation reaches every running process within a second, and every live
session of that token (or of a removed user) loses what it was following.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ballast_tui.engine.changes import record
from ballast_tui.engine.errors import Forbidden
from ballast_tui.engine.live import recheck_all
from ballast_tui.engine.tokens import TOKEN_NAME_MAX
from ballast_tui.engine.users import USER_NAME_MAX, User
from ballast_tui.storage import repos
from ballast_tui.tools.registry import REGISTRY, Args, Context


class ListArgs(Args):
    pass


class AuditArgs(Args):
    limit: int = Field(default=100, ge=1, le=10_000)


class AddArgs(Args):
    name: str = Field(
        min_length=1, max_length=USER_NAME_MAX, json_schema_extra={"pattern": "^[A-Za-z_.-][A-Za-z0-9_.-]*$"}
    )
    kind: Literal["human", "agent"] = "human"
    admin: bool = False


class UserArgs(Args):
    user: str = Field(min_length=1, max_length=USER_NAME_MAX)


class TokenArgs(Args):
    user: str = Field(min_length=1, max_length=USER_NAME_MAX)
    name: str | None = Field(default=None, max_length=TOKEN_NAME_MAX)


class TokensArgs(Args):
    user: str | None = Field(default=None, min_length=1, max_length=USER_NAME_MAX)


class RevokeArgs(Args):
    user: str = Field(min_length=1, max_length=USER_NAME_MAX)
    token_id: str | None = Field(default=None, min_length=1, max_length=32)


def describe_user(ctx: Context, row: dict[str, Any]) -> dict[str, Any]:
    """A user as lists show it: never a token's secret."""
    return {
        "id": row["id"],
        "name": row["name"],
        "kind": row["kind"],
        "admin": bool(row["is_admin"]),
        "live_tokens": row["live_tokens"],
        "created_at": row["created_at"],
        "tokens": ctx.ws.users.tokens.of_user(row["id"]),
    }


def _self_or_admin(ctx: Context, ref: str) -> User:
    """The user `ref` names, when the caller is that user or an administrator (403 otherwise)."""
    user = ctx.ws.users.find(ref)
    if user.id != ctx.user.id and not ctx.user.is_admin:
        raise Forbidden("only administrators manage other users' tokens")
    return user


def _access_changed(ctx: Context) -> None:
    """Forget remembered tokens here, and have every live session check its access now."""
    ctx.ws.users.forget()
    recheck_all(ctx.ws)


@REGISTRY.tool("user_list", ListArgs, role="admin", writes=False, example={})
def user_list(ctx: Context, args: ListArgs) -> dict[str, Any]:
    """The workspace's users: name, kind, administrator or not, live tokens, created. Administrators only.

    List the users of the workspace with their tokens (ids, names, created, last used, revoked; never
    a secret). Returns `users`.
    """
    return {"users": [describe_user(ctx, row) for row in ctx.ws.users.all()]}


@REGISTRY.tool(
    "user_add", AddArgs, role="admin", writes=True, example={"name": "alice", "kind": "human", "admin": False}
)
def user_add(ctx: Context, args: AddArgs) -> dict[str, Any]:
    """Create a user and its first API token (shown this once). Administrators only.

    Create a person's or an agent's account. Returns `user` and `token` (the token's whole text, shown
    only now: hand it to its user).
    """
    user, token = ctx.ws.users.create(args.name, args.kind, admin=args.admin, created_by=ctx.user.id)
    with ctx.ws.db.write() as tx:
        record(tx, ctx, None, "user_add", user.id, user=user.name, kind=user.kind, admin=user.is_admin)
    return {"user": {**user.describe(), "admin": user.is_admin}, "token": token}


@REGISTRY.tool(
    "user_remove", UserArgs, role="admin", writes=True, destructive=True, example={"user": "alice"}
)
def user_remove(ctx: Context, args: UserArgs) -> dict[str, Any]:
    """Remove a user: its tokens stop working at once and its grants go. Administrators only.

    Refused while the user owns boards (transfer them first) and for the last administrator. Runs and
    the audit keep naming the user. Returns `removed` (the user's id).
    """
    user = ctx.ws.users.find(args.user)
    ctx.ws.users.remove(user)
    with ctx.ws.db.write() as tx:
        record(tx, ctx, None, "user_remove", user.id, user=user.name)
    _access_changed(ctx)
    return {"removed": user.id}


@REGISTRY.tool(
    "user_token_create",
    TokenArgs,
    role="user",
    writes=True,
    example={"user": "alice", "name": "laptop"},
)
def user_token_create(ctx: Context, args: TokenArgs) -> dict[str, Any]:
    """A new API token for `user` (yourself, or anyone for an administrator), shown this once.

    Make another token, e.g. one per machine or agent, so each can be revoked alone. Returns `token`
    (its whole text, shown only now) and `token_id`.
    """
    user = _self_or_admin(ctx, args.user)
    token = ctx.ws.users.add_token(user.id, args.name)
    token_id = token.split("_")[1]
    with ctx.ws.db.write() as tx:
        record(tx, ctx, None, "token_create", user.id, user=user.name, token_id=token_id, name=args.name)
    return {"token": token, "token_id": token_id, "user": user.describe()}


@REGISTRY.tool("user_tokens", TokensArgs, role="user", writes=False, example={})
def user_tokens(ctx: Context, args: TokensArgs) -> dict[str, Any]:
    """Your API tokens (or, for an administrator, `user`'s): ids, names, created, last used, revoked.

    Never a secret. Returns `user` and `tokens`, newest first.
    """
    user = _self_or_admin(ctx, args.user or ctx.user.id)
    return {"user": user.describe(), "tokens": ctx.ws.users.tokens.of_user(user.id)}


@REGISTRY.tool(
    "user_token_revoke",
    RevokeArgs,
    role="user",
    writes=True,
    destructive=True,
    example={"user": "alice", "token_id": "k3j9x0a1b2c3"},
)
def user_token_revoke(ctx: Context, args: RevokeArgs) -> dict[str, Any]:
    """Revoke `user`'s tokens: one (`token_id`) or all. Yourself, or anyone for an administrator.

    A revoked token answers 401 on its next request, in every running process within a second, and
    its live sessions lose what they follow. Returns `revoked` (token ids).
    """
    user = _self_or_admin(ctx, args.user)
    with ctx.ws.db.write() as tx:
        revoked = ctx.ws.users.tokens.revoke(tx, user.id, args.token_id)
        record(tx, ctx, None, "token_revoke", user.id, user=user.name, token_ids=revoked)
    _access_changed(ctx)
    return {"revoked": revoked}


@REGISTRY.tool("workspace_audit", AuditArgs, role="admin", writes=False, example={"limit": 20})
def workspace_audit(ctx: Context, args: AuditArgs) -> dict[str, Any]:
    """The workspace's own audit events, newest first: users, tokens and connections (not boards').
    Administrators only.

    Read who added or removed users, made or revoked tokens, and added, granted or revoked
    connections, and when. Returns `events`.
    """
    return {"events": repos.audit(ctx.ws.db, None, args.limit)}
