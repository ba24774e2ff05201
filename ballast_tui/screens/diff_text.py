"""Two board versions side by side, as rich text: what the version diff screen shows.

Pure (rich only, no Textual): `side_by_side` aligns two texts line by line,
marking lines taken away (left, red) and lines put in (right, green); `columns`
turns a `dashboard_version_diff` answer into the two columns' sections. User
text is always plain text here, never markup.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from rich.text import Text

Row = dict[str, Any]
REMOVED = "red"
ADDED = "green"
HEADING = "bold"


def side_by_side(before: str, after: str) -> tuple[Text, Text]:
    """`before` and `after` aligned line by line (blank lines fill the gaps), changes marked."""
    old, new = before.splitlines() or [""], after.splitlines() or [""]
    left, right = Text(), Text()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        a, b = old[i1:i2], new[j1:j2]
        for k in range(max(len(a), len(b))):
            left.append((a[k] if k < len(a) else "") + "\n", "" if tag == "equal" or k >= len(a) else REMOVED)
            right.append((b[k] if k < len(b) else "") + "\n", "" if tag == "equal" or k >= len(b) else ADDED)
    left.rstrip()
    right.rstrip()
    return left, right


def _shown(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("sql"), str):
        rest = {k: v for k, v in value.items() if k != "sql"}
        sql: str = value["sql"]
        return sql.strip() + ("\n" + json.dumps(rest, indent=2, sort_keys=True) if rest else "")
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _layout(layout: Row, names: dict[str, str]) -> str:
    lines = []
    for number, row in enumerate(layout.get("rows", []), start=1):
        blocks = ", ".join(names.get(b, b) for b in row.get("blocks", []))
        extra = (f" cols {row['cols']}" if row.get("cols") else "") + (
            f" {row['height']}px" if row.get("height") else ""
        )
        lines.append(f"row {number}: {blocks}{extra}")
    return "\n".join(lines) or "(nothing shown)"


def _heading(text: str) -> Text:
    return Text(text, HEADING)


def columns(diff: Row, names: dict[str, str]) -> list[tuple[Text, Text]]:
    """The diff's sections, each a (left, right) pair: changed blocks (SQL line by line), added and
    removed blocks, the layout, the title, the settings. Empty when nothing changed."""
    sections: list[tuple[Text, Text]] = []
    for block in diff["changed"]:
        title = _heading(f"{block['name']} ({block['type']}): {', '.join(block['fields'])} changed")
        for field in block["fields"]:
            before, after = side_by_side(_shown(block["before"][field]), _shown(block["after"][field]))
            sections.append(
                (Text.assemble(title.copy(), "\n", before), Text.assemble(title.copy(), "\n", after))
            )
    for block in diff["removed"]:
        sections.append(
            (
                Text.assemble(
                    _heading(f"{block['name']} ({block['type']}): removed since"),
                    "\n",
                    Text(_shown(block["config"]), REMOVED),
                ),
                Text(""),
            )
        )
    for block in diff["added"]:
        sections.append(
            (
                Text(""),
                Text.assemble(
                    _heading(f"{block['name']} ({block['type']}): added"),
                    "\n",
                    Text(_shown(block["config"]), ADDED),
                ),
            )
        )
    if diff.get("layout"):
        before, after = side_by_side(
            _layout(diff["layout"]["before"], names), _layout(diff["layout"]["after"], names)
        )
        sections.append(
            (Text.assemble(_heading("layout"), "\n", before), Text.assemble(_heading("layout"), "\n", after))
        )
    for part in ("title", "settings"):
        if diff.get(part):
            before, after = side_by_side(_shown(diff[part]["before"]), _shown(diff[part]["after"]))
            sections.append(
                (Text.assemble(_heading(part), "\n", before), Text.assemble(_heading(part), "\n", after))
            )
    return sections
