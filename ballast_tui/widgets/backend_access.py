"""Typed access to the app's backend from any screen or widget."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual.dom import DOMNode

from ballast_tui.engine import access
from ballast_tui.engine.errors import ToolError

if TYPE_CHECKING:
    from ballast_tui.app import BallastApp
    from ballast_tui.backend import Backend


class UsesBackend:
    """Mixin for screens and widgets that call tools.

    Deliberately not a `DOMNode`: Textual inherits default CSS along the first
    DOMNode base only, so a DOMNode mixin listed first would hide the styles of
    the Screen or Widget it is mixed into.
    """

    @property
    def ballast(self) -> BallastApp:
        assert isinstance(self, DOMNode), "UsesBackend is for screens and widgets"
        return cast("BallastApp", self.app)

    @property
    def backend(self) -> Backend:
        return self.ballast.backend

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any] | None:
        """Run a tool; on a refusal, show it to the person and answer None."""
        try:
            return await self.backend.call(tool, **arguments)
        except ToolError as error:
            self.ballast.show_error(error)
            return None

    def may(self, role: str | None, action: str) -> bool:
        """Whether `role` may do `action`; if not, show the same refusal the tool would give."""
        try:
            access.require(role, action)
        except ToolError as error:
            self.ballast.show_error(error)
            return False
        return True
