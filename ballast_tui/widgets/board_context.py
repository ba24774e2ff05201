"""What an edited block may read: the board's tables with their columns, and its controls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ballast_tui.widgets.sql_editor import Table

CONTROL_TYPES = ("filter-daterange", "param-enum")
TABLE_BLOCK_TYPES = ("sql", "table")


def is_table(entry: dict[str, Any]) -> bool:
    """Whether a `catalog_list` entry is a table a chart, table or metric can read:
    a source, or the output of a SQL or table block."""
    return entry.get("kind") != "block" or entry.get("block_type") in TABLE_BLOCK_TYPES


@dataclass
class BoardContext:
    """What the edited block may read: tables with their columns, and the board's controls."""

    columns: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    controls: list[dict[str, Any]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls, catalog: list[dict[str, Any]], blocks: list[dict[str, Any]], block_id: str | None
    ) -> BoardContext:
        """From `catalog_list` sources and `dashboard_get` blocks, leaving out the edited block."""
        columns: dict[str, list[dict[str, str]]] = {}
        tables: list[str] = []
        kinds: dict[str, str] = {}
        for entry in catalog:
            if entry.get("block_id") is not None and entry.get("block_id") == block_id:
                continue
            columns[entry["name"]] = list(entry.get("columns") or [])
            kinds[entry["name"]] = (
                f"{entry['block_type']} block" if entry.get("kind") == "block" else "source"
            )
            if is_table(entry):
                tables.append(entry["name"])
        controls = [b for b in blocks if b["type"] in CONTROL_TYPES and b["id"] != block_id]
        return cls(columns, tables, controls, kinds)

    def column_names(self, table: str | None) -> list[str]:
        return [c["name"] for c in self.columns.get(table or "", [])]

    def column_type(self, table: str | None, column: str) -> str:
        return next((c["type"] for c in self.columns.get(table or "", []) if c["name"] == column), "")

    def sql_catalog(self) -> dict[str, Table]:
        """What SQL can read, for completion: the tables first, then other blocks' outputs."""
        names = [*self.tables, *[n for n in self.columns if n not in self.tables]]
        return {
            name: Table(self.kinds.get(name, "table"), tuple(c["name"] for c in self.columns[name]))
            for name in names
        }
