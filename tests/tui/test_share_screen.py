"""Sharing by keyboard: publish with a password, unpublish, the link's options, grant and revoke;
auto-refresh settings."""

from __future__ import annotations

from typing import Any

import pytest

from ballast_tui.app import BallastApp
from ballast_tui.backend import LocalBackend
from ballast_tui.engine.errors import ToolError
from ballast_tui.engine.workspace import Workspace
from ballast_tui.screens.dialogs import ConfirmDialog, PromptDialog
from ballast_tui.screens.grant_dialog import GrantDialog
from ballast_tui.screens.refresh_settings import RefreshSettingsScreen
from ballast_tui.screens.share import ShareScreen
from ballast_tui.tools.registry import Context, load_registry
from tests.tui.conftest import make_app, settle


def board(ws: Workspace, board_id: str, user: Any = None) -> dict[str, Any]:
    ctx = Context(ws, user or ws.users.local())
    return load_registry().call(ctx, "dashboard_get", {"dashboard_id": board_id})["dashboard"]


def text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector).content)


async def test_publishing_with_a_password_shows_the_link_and_unpublishing_takes_it_down(
    demo_ws: tuple[Workspace, str],
) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ShareScreen)
        assert "private" in text(screen, "#visibility")
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog) and app.screen.query_one("#answer").password
        await pilot.press(*"hunter2", "enter")
        await settle(pilot)
        assert app.screen is screen
        published = board(ws, board_id)
        assert published["visibility"] == "link_view" and published["passwordProtected"]
        url = text(screen, "#public-url")
        assert url == published["publicUrl"] and url.endswith(f"/public/dashboards/{published['slug']}")
        assert "password protected" in text(screen, "#visibility")
        await pilot.press("c")
        assert app.clipboard == url

        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        unpublished = board(ws, board_id)
        assert unpublished["visibility"] == "private" and unpublished["publicUrl"] is None
        assert "private" in text(screen, "#visibility") and "Not published" in text(screen, "#public-url")


async def test_publishing_without_a_password(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("p", "enter")
        await settle(pilot)
        published = board(ws, board_id)
        assert published["visibility"] == "link_view" and not published["passwordProtected"]
        assert "no password" in text(app.screen, "#visibility")


async def test_republishing_escape_keeps_the_password_and_an_empty_one_removes_it(
    demo_ws: tuple[Workspace, str],
) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("p", *"hunter2", "enter")
        await settle(pilot)
        slug = board(ws, board_id)["slug"]
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog) and "remove it" in app.screen.question
        await pilot.press("escape")
        await settle(pilot)
        kept = board(ws, board_id)
        assert kept["passwordProtected"] and kept["slug"] == slug
        await pilot.press("p", "enter")
        await settle(pilot)
        opened = board(ws, board_id)
        assert not opened["passwordProtected"] and opened["slug"] == slug
        assert "no password" in text(app.screen, "#visibility")


async def test_granting_a_viewer_then_revoking(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    bob, _ = ws.users.create("bob")
    app = make_app(ws, board_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ShareScreen)
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, GrantDialog)
        await pilot.press(*"bob", "enter")
        await settle(pilot)
        assert board(ws, board_id, bob)["role"] == "viewer"
        grants = screen.query_one("#grants")
        assert [[str(c) for c in grants.get_row_at(i)[0::2]] for i in range(grants.row_count)][1] == [
            "bob",
            "viewer",
        ]
        assert grants.get_row_at(1)[1] == "human"

        await pilot.press("down", "d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        with pytest.raises(ToolError):
            board(ws, board_id, bob)
        assert grants.row_count == 1  # the owner alone


async def test_reopened_share_screen_lists_grants_from_the_history(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    ws.users.create("bob")
    ws.users.create("carol", "agent")
    ctx = Context(ws, ws.users.local())
    for user, role in (("bob", "editor"), ("carol", "viewer"), ("bob", "viewer")):
        load_registry().call(ctx, "dashboard_grant", {"dashboard_id": board_id, "user": user, "role": role})
    app = make_app(ws, board_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        grants = app.screen.query_one("#grants")
        rows = [grants.get_row_at(i) for i in range(grants.row_count)]
        assert [(str(r[0]), r[2]) for r in rows] == [
            (ws.users.local().name, "owner"),
            ("bob", "viewer"),
            ("carol", "viewer"),
        ]


async def test_a_viewer_sees_sharing_but_publishing_says_why_not(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    bob, _ = ws.users.create("bob")
    load_registry().call(
        Context(ws, ws.users.local()),
        "dashboard_grant",
        {"dashboard_id": board_id, "user": "bob", "role": "viewer"},
    )
    app = BallastApp(LocalBackend(ws, bob), board_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, ShareScreen)
        assert "you are a viewer" in text(app.screen, "#share-title")
        for key in ("p", "g", "o"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, ShareScreen)
        assert sum("a viewer may not manage this board" in n.message for n in app._notifications) == 3
        assert board(ws, board_id)["visibility"] == "private"


async def test_refresh_settings_hourly_and_enabled(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    ctx = Context(ws, ws.users.local())

    def settings() -> dict[str, Any]:
        return load_registry().call(ctx, "dashboard_get_refresh", {"dashboard_id": board_id})

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RefreshSettingsScreen)
        assert "never" in text(screen, "#last-refreshed")
        await pilot.press("tab", "enter", "d", "enter")  # the interval: daily
        await settle(pilot)
        assert settings()["refreshInterval"] == 86400 and not settings()["refreshEnabled"]
        await pilot.press("enter", "h", "enter")  # hourly
        await settle(pilot)
        await pilot.press("shift+tab", "space")  # the switch: on
        await settle(pilot)
        assert settings()["refreshEnabled"] is True and settings()["refreshInterval"] == 3600
        await pilot.press("R")
        await settle(pilot)
        assert settings()["lastRefreshedAt"] is not None
        assert "never" not in text(screen, "#last-refreshed")


async def test_transferring_ownership_leaves_the_old_owner_an_editor(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    bob, _ = ws.users.create("bob")
    app = make_app(ws, board_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        await pilot.press(*"bob", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert board(ws, board_id, bob)["role"] == "owner" and board(ws, board_id)["role"] == "editor"
        assert "you are an editor" in text(screen, "#share-title")
        grants = screen.query_one("#grants")
        rows = [grants.get_row_at(i) for i in range(grants.row_count)]
        assert [(str(r[0]), r[2]) for r in rows] == [("bob", "owner"), (ws.users.local().name, "editor")]


async def test_the_owner_turns_csv_downloads_on_and_lists_the_sites_that_may_embed_the_page(
    demo_ws: tuple[Workspace, str],
) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ShareScreen)
        shown = text(screen, "#public-options")
        assert "CSV downloads: off" in shown and "Embedding: no site" in shown
        await pilot.press("x")
        await settle(pilot)
        assert board(ws, board_id)["publicOptions"]["downloads"] is True
        assert "CSV downloads: on" in text(screen, "#public-options")

        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        await pilot.press(*"https://wiki.example.com, http://intranet:8080", "enter")
        await settle(pilot)
        assert app.screen is screen
        wanted = ["https://wiki.example.com", "http://intranet:8080"]
        assert board(ws, board_id)["publicOptions"]["embed_origins"] == wanted
        assert "https://wiki.example.com, http://intranet:8080" in text(screen, "#public-options")

        # Not an origin: the tool's refusal is shown, and nothing changes.
        await pilot.press("e")
        await pilot.pause()
        assert app.screen.query_one("#answer").value == "https://wiki.example.com http://intranet:8080"
        await pilot.press("ctrl+u", *"wiki.example.com/page", "enter")
        await settle(pilot)
        assert any("is not an origin" in n.message for n in app._notifications)
        assert board(ws, board_id)["publicOptions"]["embed_origins"] == wanted

        # Emptied: no site may embed it again; downloads off again.
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("ctrl+u", "enter")
        await pilot.press("x")
        await settle(pilot)
        assert board(ws, board_id)["publicOptions"] == {"downloads": False, "embed_origins": []}
        assert "Embedding: no site" in text(screen, "#public-options")


async def test_an_editor_sees_the_links_options_but_may_not_change_them(
    demo_ws: tuple[Workspace, str],
) -> None:
    ws, board_id = demo_ws
    bob, _ = ws.users.create("bob")
    owner_ctx = Context(ws, ws.users.local())
    load_registry().call(
        owner_ctx, "dashboard_grant", {"dashboard_id": board_id, "user": "bob", "role": "editor"}
    )
    load_registry().call(
        owner_ctx, "dashboard_set_public_options", {"dashboard_id": board_id, "downloads": True}
    )
    app = BallastApp(LocalBackend(ws, bob), board_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert "CSV downloads: on" in text(app.screen, "#public-options")
        for key in ("x", "e"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, ShareScreen)
        assert sum("may not manage this board" in n.message for n in app._notifications) == 2
    assert board(ws, board_id)["publicOptions"] == {"downloads": True, "embed_origins": []}


async def test_a_link_to_a_loopback_address_warns_and_says_how_to_set_public_url(
    demo_ws: tuple[Workspace, str],
) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert not screen.query_one("#public-url-warning").display  # nothing to warn of yet
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("enter")  # no password
        await settle(pilot)
        assert text(screen, "#public-url").startswith("http://127.0.0.1:8765/public/dashboards/")
        warning = text(screen, "#public-url-warning")
        assert screen.query_one("#public-url-warning").display
        assert "127.0.0.1, which opens only on this machine" in warning
        assert "public_url" in warning and "--public-url" in warning and "ballast.toml" in warning
        shown = [n for n in app._notifications if n.title == "Published"]
        assert shown and shown[-1].severity == "warning" and "public_url" in shown[-1].message


async def test_a_link_with_a_public_url_does_not_warn(tmp_path: Any) -> None:
    from ballast_tui.config import Settings
    from ballast_tui.demo import build_demo

    with Workspace(tmp_path / "ws", Settings(public_url="https://dash.example.com")) as ws:
        board_id = build_demo(ws, rows=500)
        app = make_app(ws, board_id)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await pilot.press("s", "p")
            await pilot.pause()
            await pilot.press("enter")
            await settle(pilot)
            screen = app.screen
            assert text(screen, "#public-url").startswith("https://dash.example.com/public/dashboards/")
            assert not screen.query_one("#public-url-warning").display
            assert text(screen, "#public-url-warning") == ""
