"""A block's run history: every run, one run's rows and inputs, and two runs compared.

HistoryScreen lists the runs newest first; enter opens one (RunScreen), space
marks up to two, c compares (CompareScreen). The older run is always on the
left, so a delta reads "what changed since".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Static

from ballast_tui.formatting import age
from ballast_tui.widgets.backend_access import UsesBackend

Run = dict[str, Any]
RUNS_LIMIT = 500
ROWS_LIMIT = 1000
MAX_MARKED = 2


def local_time(iso: str | None) -> str:
    """An ISO timestamp in the local time zone: 'Nov 23 15:02:11' (with the year if not this one)."""
    if not iso:
        return "—"
    when = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone()
    same_year = when.year == datetime.now().astimezone().year
    return when.strftime("%b %d %H:%M:%S" if same_year else "%Y-%m-%d %H:%M")


def duration(ms: float | None) -> str:
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(int(ms / 1000), 60)
    return f"{minutes}m {seconds:02d}s"


def row_count(run: Run) -> str:
    output = run.get("output") or {}
    return f"{output['row_count']:,}" if run.get("status") == "success" and "row_count" in output else "—"


def status_text(status: str | None) -> Text:
    return Text(status or "—", style="bold red" if status == "error" else "green")


def number(value: float) -> str:
    """A float for reading: whole ones without decimals, others with two (three digits if tiny)."""
    if value != 0 and (abs(value) < 0.01 or abs(value) >= 1e15):
        return f"{value:,.3g}"
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"


def cell(value: Any, style: str = "") -> Text:
    """A value as a table cell: NULL dimmed, numbers with separators and right-aligned."""
    if value is None:
        return Text("∅", style="dim")
    if isinstance(value, bool):
        return Text(str(value).lower(), style=style)
    if isinstance(value, int):
        return Text(f"{value:,}", style=style, justify="right")
    if isinstance(value, float):
        return Text(number(value), style=style, justify="right")
    return Text(str(value), style=style)


def signed(delta: float) -> Text:
    """A difference with its sign, green when it grew and red when it shrank."""
    style = "green" if delta > 0 else "red" if delta < 0 else "dim"
    text = f"{delta:+,}" if isinstance(delta, int) else ("+" if delta >= 0 else "") + number(delta)
    return Text(text, style=style, justify="right")


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def run_label(run: Run) -> str:
    return f"{local_time(run.get('started_at'))} · {run.get('trigger')} · {run.get('actor_name') or '?'}"


class HistoryScreen(Screen[None], UsesBackend):
    """The runs of one block, newest first."""

    CSS_PATH = "history.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter", "open_run", "Open run", priority=True),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, dashboard_id: str, block: dict[str, Any]) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.block = block
        self.title = f"History · {block['name']}"
        self.runs: list[Run] = []
        self.marked: list[str] = []
        self._pending_reload: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="history-title")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="run-detail"):
            yield Static(id="run-inputs")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        table.add_column("", key="mark", width=2)
        table.add_columns("When", "Age", "Who", "Trigger", "Status", "Took", "Rows")
        table.focus()
        self.follow_events()

    def on_screen_resume(self) -> None:
        self.reload()

    @work(group="history-load", exclusive=True)
    async def reload(self) -> None:
        answer = await self.call(
            "dashboard_runs", dashboard_id=self.dashboard_id, block_id=self.block["id"], limit=RUNS_LIMIT
        )
        if answer is None:
            return
        self.runs = answer["runs"]
        ids = {r["id"] for r in self.runs}
        self.marked = [m for m in self.marked if m in ids]
        self.refill()

    @work(group="events", exclusive=True)
    async def follow_events(self) -> None:
        """New runs of this block appear as they finish."""
        async for event in self.backend.events(self.dashboard_id):
            if event["type"] == "board_deleted":
                self.app.pop_screen()
                return
            if (
                event["type"] == "run_finished"
                and event.get("block_id") == self.block["id"]
                and self._pending_reload is None
            ):
                self._pending_reload = self.set_timer(0.3, self._reload_now)

    def _reload_now(self) -> None:
        self._pending_reload = None
        self.reload()

    def refill(self) -> None:
        table = self.query_one("#runs", DataTable)
        selected = self.selected_id()
        table.clear()
        for run in self.runs:
            table.add_row(
                self.mark_of(run["id"]),
                local_time(run.get("started_at")),
                age(run.get("started_at")),
                run.get("actor_name") or "?",
                run.get("trigger") or "",
                status_text(run.get("status")),
                Text(duration(run.get("duration_ms")), justify="right"),
                Text(row_count(run), justify="right"),
                key=run["id"],
            )
        if selected is not None and selected in {r["id"] for r in self.runs}:
            table.move_cursor(row=table.get_row_index(selected))
        self.render_title()
        self.show_detail()

    def mark_of(self, run_id: str) -> Text:
        """'L' or 'R' for a marked run: the older of two is the left side of a comparison."""
        if run_id not in self.marked:
            return Text("")
        if len(self.marked) < MAX_MARKED:
            return Text("●", style="bold")
        return Text("L" if self.ordered(self.marked)[0] == run_id else "R", style="bold reverse")

    def ordered(self, run_ids: list[str]) -> list[str]:
        """Run ids oldest first (runs are listed newest first)."""
        position = {r["id"]: i for i, r in enumerate(self.runs)}
        return sorted(run_ids, key=lambda r: -position.get(r, 0))

    def render_title(self) -> None:
        block = self.block
        title = Text.assemble(
            ("History of ", "dim"),
            (block["name"], "bold"),
            (f" ({block['type']}) · {plural(len(self.runs), 'run')}", "dim"),
        )
        if self.marked:
            marks = self.by_id()
            title.append("  marked: ", style="dim")
            title.append(", ".join(local_time(marks[m].get("started_at")) for m in self.ordered(self.marked)))
            if len(self.marked) == MAX_MARKED:
                title.append("  c compares", style="dim")
        self.query_one("#history-title", Static).update(title)

    def show_detail(self) -> None:
        run = self.selected_run()
        pane = self.query_one("#run-inputs", Static)
        pane.update(describe_inputs(run) if run else Text("No runs yet.", style="dim"))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_run()

    def by_id(self) -> dict[str, Run]:
        return {r["id"]: r for r in self.runs}

    def selected_id(self) -> str | None:
        table = self.query_one("#runs", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def selected_run(self) -> Run | None:
        selected = self.selected_id()
        return self.by_id().get(selected) if selected else None

    def action_back(self) -> None:
        self.dismiss()

    def action_reload(self) -> None:
        self.reload()

    def action_open_run(self) -> None:
        run = self.selected_run()
        if run is not None:
            self.app.push_screen(RunScreen(self.dashboard_id, self.block, run))

    def action_mark(self) -> None:
        run_id = self.selected_id()
        if run_id is None:
            return
        if run_id in self.marked:
            self.marked.remove(run_id)
        elif len(self.marked) >= MAX_MARKED:
            self.notify("Two runs are marked already: unmark one with space first.", severity="warning")
            return
        else:
            self.marked.append(run_id)
        table = self.query_one("#runs", DataTable)
        for marked_id in {run_id, *self.marked}:
            table.update_cell(marked_id, "mark", self.mark_of(marked_id))
        self.render_title()

    def pair_to_compare(self) -> list[str] | None:
        """The two marked runs; or the marked one (or the selected one) with the newest run."""
        if len(self.runs) < MAX_MARKED:
            return None
        if len(self.marked) == MAX_MARKED:
            return self.ordered(self.marked)
        one = self.marked[0] if self.marked else self.selected_id()
        newest = self.runs[0]["id"]
        other = newest if one != newest else self.runs[1]["id"]
        return self.ordered([one or newest, other])

    def action_compare(self) -> None:
        pair = self.pair_to_compare()
        if pair is None:
            self.notify("There is only one run: nothing to compare yet.")
            return
        runs = self.by_id()
        left, right = runs[pair[0]], runs[pair[1]]
        failed = [r for r in (left, right) if r.get("status") != "success"]
        if failed:
            self.notify(
                f"The run of {local_time(failed[0].get('started_at'))} failed: it has no output to compare.",
                severity="warning",
            )
            return
        self.app.push_screen(CompareScreen(self.dashboard_id, self.block, left, right))


def describe_inputs(run: Run) -> Text:
    """What a run was given (bound values, upstream runs) and its error."""
    inputs = run.get("inputs") or {}
    text = Text.assemble(("run ", "dim"), run["id"], ("  " + run_label(run), "dim"))
    bound = inputs.get("bound") or {}
    if bound:
        text.append("\nbound    ", style="dim")
        text.append(", ".join(f"${k} = {v!r}" for k, v in sorted(bound.items())))
    upstream = inputs.get("upstream") or {}
    if upstream:
        text.append("\nreads    ", style="dim")
        text.append(", ".join(f"{k} @ {v}" if v else f"{k} (source)" for k, v in sorted(upstream.items())))
    for sent in run.get("remote") or []:
        # What went to a connected database: pushed down whole, or one table pulled.
        how = sent.get("mode", "?") + (", from cache" if sent.get("cached") else "")
        if sent.get("rows") is not None:
            how += f", {sent['rows']:,} rows"
        text.append("\nsent     ", style="dim")
        text.append(f"{sent.get('connection')} ({how}): ", style="bold")
        text.append(str(sent.get("sql") or sent.get("fallback") or ""))
        if sent.get("fallback"):
            text.append(f"  [{sent['fallback']}]", style="dim")
    if run.get("error"):
        text.append("\nerror    ", style="dim")
        text.append(str(run["error"]), style="bold red")
    return text


class RunScreen(Screen[None], UsesBackend):
    """One earlier run: when, who, inputs, error, and the rows it produced."""

    CSS_PATH = "history.tcss"
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, dashboard_id: str, block: dict[str, Any], run: Run) -> None:
        super().__init__()
        self.dashboard_id = dashboard_id
        self.block = block
        self.run = run
        self.title = f"Run · {block['name']}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="run-summary")
        yield DataTable(id="run-rows", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        run = self.run
        summary = Text.assemble(
            (self.block["name"], "bold"),
            (f" · {age(run.get('started_at'))} · took {duration(run.get('duration_ms'))} · ", "dim"),
            status_text(run.get("status")),
            "\n",
            describe_inputs(run),
        )
        self.query_one("#run-summary", Static).update(summary)
        self.query_one("#run-rows", DataTable).focus()
        self.load_rows()

    @work(group="run-rows", exclusive=True)
    async def load_rows(self) -> None:
        table = self.query_one("#run-rows", DataTable)
        if self.run.get("status") != "success":
            table.border_title = "no rows: this run failed"
            return
        data = await self.call(
            "dashboard_block_data",
            dashboard_id=self.dashboard_id,
            block_id=self.block["id"],
            run_id=self.run["id"],
            limit=ROWS_LIMIT,
        )
        if data is None:
            return
        columns = [c["name"] for c in data["columns"]]
        table.add_columns(*columns)
        table.add_rows([[cell(row.get(c)) for c in columns] for row in data["rows"]])
        total = data["row_count"]
        shown = len(data["rows"])
        table.border_title = plural(total, "row") if shown == total else f"first {shown:,} of {total:,} rows"

    def action_back(self) -> None:
        self.dismiss()


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
                table.add_columns(*columns)
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
        table.add_columns(" / ".join(key), "column", "left", "right", "Δ")
        for row in changed["rows"]:
            label = ", ".join(str(row["key"].get(k)) for k in key)
            for i, (column, change) in enumerate(row["changes"].items()):
                left, right = change["left"], change["right"]
                numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
                table.add_row(
                    Text(label, style="bold") if i == 0 else "",
                    column,
                    cell(left, "red"),
                    cell(right, "green"),
                    signed(right - left) if numeric else "",
                )

    def action_back(self) -> None:
        self.dismiss()

    def action_swap(self) -> None:
        self.left_run, self.right_run = self.right_run, self.left_run
        self.load()
