"""The first line of a screen: what it is, whose it is, a dim aside, as text that is never markup.

Board titles, block and user names are written by people and agents; a title such as
`Q3 [b]plan[/b] [/i]` is shown exactly so, never read as styling.
"""

from __future__ import annotations

from rich.text import Text


def heading(label: str, subject: object = "", aside: object = "") -> Text:
    """`label` in bold, then ` · subject` as written, then the `aside` dim: 'Share · Q3 plan  owner'."""
    text = Text(label, style="bold")
    if subject != "":
        text.append(f" · {subject}")
    if aside != "":
        text.append("  ")
        text.append(str(aside), style="dim")
    return text
