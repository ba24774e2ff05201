"""How runs read on the history screens: times, durations, counts, deltas, inputs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text

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
