"""A SQL editor with completion of the board's table and column names.

`SqlEditor` is a `TextArea` (SQL highlighting, line numbers, Tab indents).
Attributes down: the screen sets `catalog` ({name: `Table`}) from
`catalog_list`. Ctrl+Space, or typing two identifier characters, shows a small
popup near the cursor with the matching names: the tables (sources and block
outputs) and the columns of the tables the SQL mentions (only that table's
after ``table.``); tables first right after FROM or JOIN, columns first
elsewhere. Up/Down move, Tab inserts, Escape closes. Enter inserts too when the
popup was asked for (Ctrl+Space) or moved in; after an automatic popup it is a
new line, so typing is never hijacked.

The popup never takes the focus: the editor keeps it, so typing goes on
narrowing the list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.text import Text
from textual import events, on
from textual.binding import Binding
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PREFIX_AT_END = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
QUALIFIER_AT_END = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\.$")
PLAIN_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
TABLE_CONTEXT = re.compile(r"\b(?:from|join)\s+(?:[A-Za-z0-9_.\"]+\s*,\s*)*[A-Za-z0-9_]*$", re.IGNORECASE)
TOKEN = re.compile(r'"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_]*|\S')
COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", re.DOTALL)
ENDS_TABLE_LIST = frozenset(
    {"where", "group", "order", "having", "limit", "offset", "on", "using", "left", "right", "inner"}
    | {"outer", "full", "cross", "natural", "join", "union", "except", "intersect", "window", "qualify"}
    | {"select", "from"}
)
MAX_ITEMS = 50
AUTO_MIN_CHARS = 2


@dataclass(frozen=True)
class Table:
    """A name the SQL can read: what it is (``source``, ``sql block``…) and its columns."""

    kind: str
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Completion:
    """One name the popup offers: what it inserts, and what it is."""

    name: str
    detail: str

    @property
    def text(self) -> str:
        """The name as SQL needs it: quoted unless a plain lower-case identifier."""
        if PLAIN_NAME.match(self.name):
            return self.name
        return '"' + self.name.replace('"', '""') + '"'


def word_at(line: str, column: int) -> tuple[str, str | None]:
    """The identifier being typed before `column`, and the ``table.`` qualifying it, if any."""
    before = line[:column]
    match = PREFIX_AT_END.search(before)
    prefix = match.group(0) if match else ""
    qualifier = QUALIFIER_AT_END.search(before[: len(before) - len(prefix)])
    return prefix, qualifier.group(1) if qualifier else None


def _unquote(token: str) -> str:
    return token[1:-1].replace('""', '"') if token.startswith('"') else token


def tables_read(sql: str) -> dict[str, str]:
    """The tables the SQL reads after FROM and JOIN, by the name or alias that refers to them.

    A light scan that copes with half-typed SQL (the engine's real parser
    decides the graph's edges; this only guides completion).
    """
    refs: dict[str, str] = {}
    state, table = "", ""
    for token in TOKEN.findall(COMMENT.sub(" ", sql)):
        word = token.lower()
        if word in ("from", "join"):
            state = "table"
        elif state == "table":
            if token.startswith('"') or IDENTIFIER.fullmatch(token):
                table = _unquote(token)
                refs[table.lower()] = table
                state = "after"
            else:
                state = ""
        elif state == "after":
            if token == ",":
                state = "table"
            elif word in ENDS_TABLE_LIST or not (token.startswith('"') or IDENTIFIER.fullmatch(token)):
                state = ""
            elif word != "as":
                refs[_unquote(token).lower()] = table  # an alias
    return refs


def completions(
    before: str, sql: str, prefix: str, qualifier: str | None, catalog: dict[str, Table]
) -> list[Completion]:
    """The names matching `prefix`, given the SQL text `before` the cursor and the whole `sql`.

    Offered: the tables, and the columns of the tables the SQL reads (only
    that table's after ``table.`` or ``alias.``). Right after FROM or JOIN
    tables come first, elsewhere columns do. In each group names starting with
    the prefix come before names containing it; matching ignores case.
    """
    by_lower = {name.lower(): name for name in catalog}
    refs = tables_read(sql)
    if qualifier is not None:
        named = refs.get(qualifier.lower(), qualifier)
        table = by_lower.get(named.lower())
        columns = [Completion(c, f"{table} column") for c in catalog[table].columns] if table else []
        groups = [columns]
    else:
        tables = [Completion(name, table.kind) for name, table in catalog.items()]
        columns, seen = [], set()
        for ref in dict.fromkeys(refs.values()):
            table = by_lower.get(ref.lower())
            for column in catalog[table].columns if table else ():
                if column not in seen:
                    seen.add(column)
                    columns.append(Completion(column, f"{table} column"))
        groups = [tables, columns] if TABLE_CONTEXT.search(before) else [columns, tables]
    needle = prefix.lower()
    ranked: list[Completion] = []
    for group in groups:
        ranked += [c for c in group if c.name.lower().startswith(needle)]
        ranked += [
            c for c in group if needle and needle in c.name.lower() and not c.name.lower().startswith(needle)
        ]
    return ranked[:MAX_ITEMS]


class CompletionPopup(OptionList, can_focus=False):
    """The list of names near the cursor; the editor drives it."""

    DEFAULT_CSS = """
    CompletionPopup {
        position: absolute;
        overlay: screen;
        constrain: inside inflect;
        width: auto;
        min-width: 20;
        max-width: 60;
        height: auto;
        max-height: 10;
        border: round $accent;
        background: $panel;
        padding: 0;
        display: none;
    }
    """

    def __init__(self) -> None:
        super().__init__(id="sql-completions")
        self.items: list[Completion] = []

    def show_items(self, items: list[Completion]) -> None:
        self.items = items
        self.set_options(Option(Text.assemble(c.name, ("  " + c.detail, "dim"))) for c in items)
        self.highlighted = 0 if items else None
        self.display = bool(items)

    @property
    def chosen(self) -> Completion | None:
        if self.highlighted is None or not self.items:
            return None
        return self.items[self.highlighted]


class SqlEditor(TextArea):
    """The SQL of a block, with completion of table and column names."""

    BINDINGS = [
        Binding("ctrl+space,ctrl+at", "complete", "Complete", tooltip="Complete table and column names"),
    ]

    def __init__(self, text: str = "", *, id: str | None = None, auto_complete: bool = True) -> None:
        super().__init__(
            text,
            language="sql",
            show_line_numbers=True,
            tab_behavior="indent",
            soft_wrap=False,
            id=id,
        )
        self.catalog: dict[str, Table] = {}
        self.auto_complete = auto_complete
        self._popup: CompletionPopup | None = None
        self._explicit = False
        self._navigated = False
        self._typed_identifier = False

    # -- the popup ---------------------------------------------------------

    @property
    def popup(self) -> CompletionPopup:
        """The popup, mounted on the screen the first time it is needed."""
        if self._popup is None:
            self._popup = CompletionPopup()
            self.screen.mount(self._popup)
        return self._popup

    @property
    def completing(self) -> bool:
        """Whether the popup is showing."""
        return self._popup is not None and self._popup.display

    def action_complete(self) -> None:
        """Show the names that fit where the cursor is."""
        self._explicit = True
        self._navigated = False
        self._update_completions(explicit=True)

    def close_completions(self) -> None:
        if self._popup is not None:
            self._popup.display = False
        self._explicit = False
        self._navigated = False

    def _update_completions(self, explicit: bool) -> None:
        row, column = self.cursor_location
        line = self.document.get_line(row)
        prefix, qualifier = word_at(line, column)
        if not explicit and (
            (qualifier is None and len(prefix) < AUTO_MIN_CHARS) or line[:column].count("'") % 2
        ):
            self.close_completions()  # too short to guess, or inside a string
            return
        before = self.get_text_range((0, 0), (row, column))
        items = completions(before, self.text, prefix, qualifier, self.catalog)
        if not explicit and any(c.name == prefix for c in items):
            items = []  # a whole name typed: Ctrl+Space still offers the longer ones
        if not items:
            self.close_completions()
            if explicit:
                self.app.bell()
            return
        popup = self.popup
        popup.show_items(items)
        x, y = self.cursor_screen_offset
        popup.styles.offset = (max(0, x - len(prefix) - 1), y + 1)

    def _accept(self) -> None:
        chosen = self._popup.chosen if self._popup is not None else None
        self.close_completions()
        if chosen is None:
            return
        row, column = self.cursor_location
        prefix, _ = word_at(self.document.get_line(row), column)
        self.replace(chosen.text, (row, column - len(prefix)), (row, column), maintain_selection_offset=False)

    # -- keys and edits ------------------------------------------------------

    async def _on_key(self, event: events.Key) -> None:
        self._typed_identifier = False
        if self.completing and not self.read_only:
            popup = self.popup
            key = event.key
            if key in ("down", "up"):
                event.stop()
                event.prevent_default()
                popup.action_cursor_down() if key == "down" else popup.action_cursor_up()
                self._navigated = True
                return
            if key == "tab" or (key == "enter" and (self._explicit or self._navigated)):
                event.stop()
                event.prevent_default()
                self._accept()
                return
            if key == "escape":
                event.stop()
                event.prevent_default()
                self.close_completions()
                return
            if key == "enter":
                self.close_completions()
        if event.key == "escape":
            # TextArea (tab_behavior="indent") would move the focus on; let the screen
            # have Escape instead, as every other field of a form does.
            event.prevent_default()  # (only for this widget: the key still bubbles up)
            return
        self._typed_identifier = bool(event.character and IDENTIFIER.match(event.character))
        # TextArea's own handler (next in the MRO) inserts the character.

    @on(TextArea.Changed)
    def _text_changed(self) -> None:
        if self.completing:
            self._update_completions(explicit=self._explicit)
        elif self.auto_complete and self._typed_identifier and self.has_focus:
            self._update_completions(explicit=False)

    @on(TextArea.SelectionChanged)
    def _cursor_moved(self) -> None:
        if self.completing:
            row, column = self.cursor_location
            prefix, qualifier = word_at(self.document.get_line(row), column)
            if not prefix and qualifier is None and not self._explicit:
                self.close_completions()

    def on_blur(self) -> None:
        self.close_completions()

    def on_unmount(self) -> None:
        if self._popup is not None:
            self._popup.remove()
