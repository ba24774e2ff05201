"""Your own view of a board: control values that change what this session shows, and nothing else.

A viewer's control choices are always their own view; an editor changes the
stored values (everyone sees them) unless they switch to their own view. The
values travel as `filter_overrides` with each block's data request: never
stored, never sent to anyone else. Pure state (no Textual): the dashboard
screen owns one and draws from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text

Block = dict[str, Any]

EDITING_ROLES = frozenset({"editor", "owner", "admin"})


@dataclass
class OwnView:
    """The control values this session chose for itself, and whether an editor is choosing so."""

    values: dict[str, Any] = field(default_factory=dict)
    chosen: bool = False
    """An editor switched to their own view (a viewer is always in it)."""

    def applies(self, role: str | None) -> bool:
        """Whether a control change by someone in `role` is their own view rather than stored."""
        return self.chosen or role not in EDITING_ROLES

    @property
    def active(self) -> bool:
        """Whether the board is drawn differently from the stored values (or an editor chose so)."""
        return bool(self.values) or self.chosen

    def choose(self, block_id: str, value: Any) -> None:
        self.values[block_id] = value

    def reset(self) -> None:
        """Back to the stored values (and, for an editor, to changing them)."""
        self.values.clear()
        self.chosen = False

    def keep_only(self, blocks: dict[str, Block]) -> None:
        """Forget values of controls the board no longer has."""
        self.values = {k: v for k, v in self.values.items() if k in blocks}

    def overrides(self) -> dict[str, Any] | None:
        """What each data request carries (None for the stored values)."""
        return dict(self.values) if self.values else None

    def shown(self, block: Block) -> Block:
        """`block` as this view shows it: a control with your value in place of the stored one."""
        if block["id"] in self.values:
            return {**block, "value": self.values[block["id"]]}
        return block

    def describe(self, blocks: dict[str, Block], role: str | None) -> Text:
        """The "your view" line: the values in force and the keys that leave it (plain text)."""
        if not self.active:
            return Text()
        line = Text.assemble((" your view ", "reverse bold"), " ")
        if self.values:
            chosen = " · ".join(
                f"{blocks[block_id]['name']} {_value(value)}"
                for block_id, value in self.values.items()
                if block_id in blocks
            )
            line.append(chosen)
            line.append(" · only you · b: stored values", "dim")
        else:
            line.append("control changes are yours alone", "dim")
        if role in EDITING_ROLES:
            line.append(" · o: store changes", "dim")
        return line


def _value(value: Any) -> str:
    if isinstance(value, dict) and {"start", "end"} <= value.keys():
        return f"{value['start']} → {value['end']}"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def reached_by(blocks: dict[str, Block], controls: set[str]) -> set[str]:
    """The blocks whose data the `controls` change: the controls themselves and everything downstream
    of them (each block's `downstream`, as `dashboard_get` answers it)."""
    reached: set[str] = set()
    todo = [block_id for block_id in controls if block_id in blocks]
    while todo:
        block_id = todo.pop()
        if block_id not in reached:
            reached.add(block_id)
            todo.extend(b for b in blocks[block_id].get("downstream", ()) if b in blocks)
    return reached
