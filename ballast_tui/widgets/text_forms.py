"""The forms of blocks whose config a person writes as text: SQL, Markdown, and the two controls.

Only text that cannot even be turned into a config (malformed JSON in a date
range's default) raises `ValueError`; the rest is left to the server's
validation.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Label, SelectionList, Static, TextArea

from ballast_tui.widgets.form_base import ConfigForm, labelled
from ballast_tui.widgets.sql_editor import SqlEditor


class SqlForm(ConfigForm):
    """`sql` and the controls it binds (`inputs`)."""

    block_type = "sql"

    def compose(self) -> ComposeResult:
        editor = SqlEditor(self.initial.get("sql", ""), id="sql")
        editor.catalog = self.board.sql_catalog()
        yield editor
        inputs = list(self.initial.get("inputs", []))
        names = [c["name"] for c in self.board.controls]
        if names or inputs:
            yield Label(
                "Inputs: controls bound as $name (a date range also as $name_start, $name_end)",
                classes="field-title -tight",
            )
            selections = [
                (Text.assemble(c["name"], ("  " + c["type"], "dim")), c["name"], c["name"] in inputs)
                for c in self.board.controls
            ]
            selections += [(Text(n), n, True) for n in inputs if n not in names]
            yield SelectionList[str](*selections, id="inputs")
        else:
            yield Static("This board has no controls to bind yet.", classes="field-title muted")

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"sql": self.query_one(SqlEditor).text}
        found = self.query("#inputs")
        if found:
            inputs = found.first(SelectionList)
            chosen = set(inputs.selected)
            config["inputs"] = [
                inputs.get_option_at_index(i).value
                for i in range(inputs.option_count)
                if inputs.get_option_at_index(i).value in chosen
            ]
        else:
            config["inputs"] = list(self.initial.get("inputs", []))
        return config


class MarkdownForm(ConfigForm):
    """Markdown: the text."""

    block_type = "markdown"

    def compose(self) -> ComposeResult:
        yield TextArea(self.initial.get("text", ""), language="markdown", soft_wrap=True, id="text")

    def config(self) -> dict[str, Any]:
        return {"text": self.query_one("#text", TextArea).text}


class DateRangeForm(ConfigForm):
    """A date range control: its default range."""

    block_type = "filter-daterange"

    def compose(self) -> ComposeResult:
        default = self.initial.get("default", "7d")
        shown = default if isinstance(default, str) else json.dumps(default)
        yield labelled("Default", Input(shown, placeholder="7d", id="default", compact=True))
        yield Static(
            '"Nd" is the last N days (today included), "today" is today, or a fixed range as '
            '{"start": "2026-01-01", "end": "2026-03-31"}.',
            classes="field-title muted",
        )

    def config(self) -> dict[str, Any]:
        text = self.query_one("#default", Input).value.strip()
        if text.startswith("{"):
            try:
                return {"default": json.loads(text)}
            except json.JSONDecodeError as error:
                raise ValueError(f"default: not a JSON object ({error.msg})") from None
        return {"default": text}


class EnumForm(ConfigForm):
    """A choice control: its options, one per line, and the default."""

    block_type = "param-enum"

    def compose(self) -> ComposeResult:
        options = self.initial.get("options", [])
        # Options that are not text (numbers, booleans) keep their type when their line is unchanged.
        self._typed = {self._show(o): o for o in options}
        yield Label("Options, one per line", classes="field-title")
        yield TextArea("\n".join(self._show(o) for o in options), id="options")
        default = self.initial.get("default")
        yield labelled(
            "Default",
            Input(
                "" if default is None else self._show(default),
                placeholder="the first option",
                id="default",
                compact=True,
            ),
        )

    @staticmethod
    def _show(option: Any) -> str:
        return option if isinstance(option, str) else json.dumps(option)

    def _value(self, line: str) -> Any:
        return self._typed.get(line, line)

    def config(self) -> dict[str, Any]:
        lines = self.query_one("#options", TextArea).text.splitlines()
        config: dict[str, Any] = {"options": [self._value(s.strip()) for s in lines if s.strip()]}
        default = self.query_one("#default", Input).value.strip()
        if default:
            config["default"] = self._value(default)
        return config
