"""Two runs of a block compared: the older on the left, so a delta reads "what changed since"."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from ballast_tui.formatting import age
from ballast_tui.screens.run_format import (
    Run,
    cell,
    local_time,
    plural,
    row_count,
    signed,
)
from ballast_tui.widgets.backend_access import UsesBackend
from ballast_tui.widgets.footer import Footer


class CompareScreen(Screen[None], UsesBackend):
    """Two runs of a block side by side: schema, row counts, rows on one side only, changed values."""

    CSS_PATH = "history.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("x", "swap", "Swap sides"),
    ]

    def __init__(self, dashboard_id: str, block: dict[str, Any], left_run: Run, right_run: Run) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.block = block
        self.left_run = left_run
        self.right_run = right_run
        self.comparison: dict[str, Any] = {}
        self.title = f"Compare runs · {block['name']}"

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="sides"):
            yield Static(id="left-side", classes="side")
            yield Static(id="right-side", classes="side")
        yield Static(id="compare-summary")
        with Horizontal(id="only"):
            yield DataTable(id="only-left", zebra_stripes=True)
            yield DataTable(id="only-right", zebra_stripes=True)
        yield DataTable(id="changed")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(group="compare", exclusive=True)
    async def load(self) -> None:
        self.render_sides()
        answer = await self.call(
            "dashboard_compare_runs",
            dashboard_id=self.dashboard_id,
            run_id=self.left_run["id"],
            other_run_id=self.right_run["id"],
        )
        if answer is None:
            return
        self.comparison = answer["comparison"]
        self.render_comparison()

    def render_sides(self) -> None:
        for side, run in (("left", self.left_run), ("right", self.right_run)):
            box = self.query_one(f"#{side}-side", Static)
            box.border_title = f"{side} · {run['id']}"
            box.update(
                Text.assemble(
                    local_time(run.get("started_at")),
                    (f" · {age(run.get('started_at'))}", "dim"),
                    "\n",
                    f"{run.get('trigger')} by {run.get('actor_name') or '?'} · {row_count(run)} "
                    f"row{'' if row_count(run) == '1' else 's'}",
                )
            )

    def render_comparison(self) -> None:
        c = self.comparison
        self.query_one("#compare-summary", Static).update(self.summary(c))
        only = self.query_one("#only", Horizontal)
        only.display = bool(c["only_left"]["count"] or c["only_right"]["count"])
        for side in ("left", "right"):
            part = c[f"only_{side}"]
            table = self.query_one(f"#only-{side}", DataTable)
            table.clear(columns=True)
            table.border_title = f"only {side}: {self.counted(part)}"
            table.display = part["count"] > 0  # the summary line says "0 only left"
            if part["rows"]:
                columns = list(part["rows"][0])
                table.add_columns(*(Text(str(c)) for c in columns))
                table.add_rows([[cell(row.get(col)) for col in columns] for row in part["rows"]])
        self.fill_changed(c["changed"])
        for table_id in ("#changed", "#only-left", "#only-right"):
            table = self.query_one(table_id, DataTable)
            if table.row_count:
                table.focus()
                break

    def counted(self, part: dict[str, Any]) -> str:
        count, rows = part["count"], len(part["rows"])
        return plural(count, "row") + (f" (first {rows})" if rows < count else "")

    def summary(self, c: dict[str, Any]) -> Text:
        schema = c["schema"]
        text = Text("schema   ", style="dim")
        if schema["same"]:
            text.append("same columns", style="dim")
        parts = [Text(f"+ {col['name']} {col['type']}", style="green") for col in schema["added"]]
        parts += [Text(f"− {col['name']} {col['type']}", style="red") for col in schema["removed"]]
        parts += [
            Text(f"~ {col['name']} {col['from']} → {col['to']}", style="yellow") for col in schema["changed"]
        ]
        text.append_text(Text("  ").join(parts))
        counts = c["row_counts"]
        text.append("\nrows     ", style="dim")
        text.append(f"{counts['left']:,} → {counts['right']:,}  ")
        text.append_text(Text.assemble("(", signed(counts["delta"]), ")"))
        changed = c["changed"]
        key = changed.get("key")
        text.append("\nmatched  ", style="dim")
        text.append(f"by {', '.join(key)}" if key else "by position")
        text.append(
            f" · {changed['count']:,} changed · {c['only_left']['count']:,} only left"
            f" · {c['only_right']['count']:,} only right",
            style="dim",
        )
        if not (changed["count"] or c["only_left"]["count"] or c["only_right"]["count"]):
            text.append("\n         the rows hold the same values", style="green")
        return text

    def fill_changed(self, changed: dict[str, Any]) -> None:
        table = self.query_one("#changed", DataTable)
        table.clear(columns=True)
        table.display = changed["count"] > 0
        key = changed.get("key") or ["row"]
        table.border_title = f"changed values: {self.counted(changed)}"
        table.add_columns(Text(" / ".join(key)), "column", "left", "right", "Δ")
        for row in changed["rows"]:
            label = ", ".join(str(row["key"].get(k)) for k in key)
            for i, (column, change) in enumerate(row["changes"].items()):
                left, right = change["left"], change["right"]
                numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
                table.add_row(
                    Text(label, style="bold") if i == 0 else "",
                    Text(column),
                    cell(left, "red"),
                    cell(right, "green"),
                    signed(right - left) if numeric else "",
                )

    def action_back(self) -> None:
        self.dismiss()

    def action_swap(self) -> None:
        self.left_run, self.right_run = self.right_run, self.left_run
        self.load()
