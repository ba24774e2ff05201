"""The base of the block config forms, and the fields they share (labelled rows, a source's columns).

A form is built from the block's config and a `BoardContext`; `config()`
reads the draft back as a config dict.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Label, Select, SelectionList, TextArea

from ballast_tui.widgets.board_context import BoardContext


def labelled(label: str, widget: Widget, hint: str = "") -> Horizontal:
    """A one-line field: its label, the widget, an optional hint."""
    children: list[Widget] = [Label(label, classes="field-label"), widget]
    if hint:
        children.append(Label(hint, classes="field-hint"))
    return Horizontal(*children, classes="field")


def choices(names: list[str], *keep: Any) -> list[tuple[Text, str]]:
    """Select options of `names` (shown as written, never as markup), plus any current value not among
    them (so it stays selectable)."""
    extra = [k for k in keep if isinstance(k, str) and k and k not in names]
    return [(Text(name), name) for name in [*names, *extra]]


def select_value(select: Select[str]) -> str | None:
    """The Select's value when one is chosen, else None."""
    value = select.value
    return value if isinstance(value, str) else None


class ConfigForm(Vertical):
    """Base of the forms: built from a config, read back with `config()`."""

    block_type: ClassVar[str] = ""

    def __init__(self, config: dict[str, Any], board: BoardContext) -> None:
        super().__init__(classes="config-form")
        self.initial = config
        self.board = board

    def config(self) -> dict[str, Any]:
        """The draft config."""
        raise NotImplementedError

    def set_read_only(self, read_only: bool) -> None:
        """Let the person look without changing anything (text stays scrollable)."""
        for text_area in self.query(TextArea):
            text_area.read_only = read_only
        for widget in self.query("Input, Select, SelectionList, Switch"):
            widget.disabled = read_only

    @property
    def first_field(self) -> Widget | None:
        """Where the focus goes when the form opens."""
        return next(iter(self.query("TextArea, Input, Select, SelectionList")), None)


class SourceForm(ConfigForm):
    """Forms reading a `source`: its Select, and column choices that follow it."""

    def source_select(self) -> Select[str]:
        """The Select of the tables the block may read, on the config's `source`."""
        source = self.initial.get("source")
        return Select(
            choices(self.board.tables, source),
            value=source if isinstance(source, str) and source else Select.NULL,
            prompt="choose a table",
            id="source",
            compact=True,
        )

    @property
    def source(self) -> str | None:
        """The chosen table, or None."""
        return select_value(self.query_one("#source", Select))

    def column_selections(
        self, table: str | None, selected: list[str], first: list[str] | None = None
    ) -> list[tuple[Text, str, bool]]:
        """SelectionList items of `table`'s columns (`first` ones at the top), `selected` ticked."""
        head = list(first or [])
        ordered = [*head, *[n for n in self.board.column_names(table) if n not in head]]
        ordered += [n for n in selected if n not in ordered]
        return [
            (Text.assemble(n, ("  " + self.board.column_type(table, n), "dim")), n, n in selected)
            for n in ordered
        ]

    @staticmethod
    def ticked(selection_list: SelectionList[str]) -> list[str]:
        """The ticked values in the list's order."""
        chosen = set(selection_list.selected)
        values = [selection_list.get_option_at_index(i).value for i in range(selection_list.option_count)]
        return [v for v in values if v in chosen]

    @on(Select.Changed, "#source")
    def _source_changed(self) -> None:
        self.source_changed()

    def source_changed(self) -> None:
        """Offer the new source's columns."""
