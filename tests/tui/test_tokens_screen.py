"""Your API tokens from the share screen: make one (shown once), see it listed, revoke it."""

from __future__ import annotations

import pytest

from ballast_tui.engine.errors import Unauthorized
from ballast_tui.engine.workspace import Workspace
from ballast_tui.screens.dialogs import ConfirmDialog, PromptDialog
from ballast_tui.screens.tokens import TokensScreen
from tests.tui.conftest import make_app, settle


def cells(screen: TokensScreen) -> list[list[str]]:
    table = screen.query_one("#tokens")
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]  # type: ignore[attr-defined]


async def test_a_token_made_in_the_app_works_until_revoked_there(demo_ws: tuple[Workspace, str]) -> None:
    ws, board_id = demo_ws
    app = make_app(ws, board_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TokensScreen)
        before = len(cells(screen))
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        await pilot.press(*"laptop", "enter")
        await settle(pilot)
        shown = app.screen
        assert isinstance(shown, PromptDialog)
        token = shown.query_one("#answer").value  # type: ignore[attr-defined]
        assert token.startswith("blt_") and ws.users.authenticate(token).id == app.backend.session.user_id
        await pilot.press("escape")
        await settle(pilot)
        rows = cells(screen)
        assert len(rows) == before + 1
        assert rows[0][1] == "laptop" and rows[0][-1] == "live" and token not in str(rows)

        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert cells(screen)[0][-1].startswith("revoked")
        ws.users.forget()
        with pytest.raises(Unauthorized):
            ws.users.authenticate(token)
