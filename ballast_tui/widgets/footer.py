"""The key bar at the bottom of every screen, rebuilt only when the keys it shows change.

Textual's `Footer` rebuilds all its key widgets whenever the screen's bindings are
re-announced, and they are at every focus change: opening and closing a
drop-down, moving between cells. On a dashboard that costs tens of
milliseconds per pick of a control, before the board even starts to re-draw.
This one compares what it would show with what it shows and keeps its widgets
when nothing differs, and keeps the keys of the screen while a drop-down's
list is open for a moment (it closes before a key of the footer could be used).
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.screen import Screen
from textual.widgets import Footer as TextualFooter
from textual.widgets._select import SelectOverlay  # (not exported: the list a Select opens)


class Footer(TextualFooter):
    """A `Footer` that skips rebuilding itself when the shown keys are unchanged."""

    _shown: Hashable = None

    def shown_keys(self) -> Hashable:
        """What the footer draws: each shown binding's key, label, action, group and whether it is on."""
        keys = tuple(
            (
                binding.key,
                binding.description,
                binding.action,
                binding.group,
                enabled,
                tooltip,
            )
            for (_node, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show
        )
        return (keys, self.show_command_palette, self.app.ENABLE_COMMAND_PALETTE)

    def bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            if isinstance(screen.focused, SelectOverlay) and self._shown is not None:
                return  # a drop-down's list, open for a moment: the keys of what it belongs to stay
            shown = self.shown_keys()
            if shown == self._shown and self._bindings_ready:
                return
            self._shown = shown
        super().bindings_changed(screen)
