"""`ballast import` and `ballast export`: files into a board's catalog, outputs and drawings out."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from ballast_tui.backend import Backend, LocalBackend
from ballast_tui.commands import fail, with_backend
from ballast_tui.commands.progress import TerminalProgress
from ballast_tui.engine.exports import StreamSink
from ballast_tui.engine.import_files import format_for, source_name, source_name_for, unsupported
from ballast_tui.remote import RemoteBackend


def run_import(args: argparse.Namespace) -> int:
    """`ballast import PATH --dashboard ID [--name N] [--sheet S]`: a workbook's every sheet (or only
    `--sheet`) each as its own source."""
    source = Path(args.path).expanduser()
    if source.is_dir():
        return fail(f"{args.path} is a directory, not a file to import")
    if not source.is_file():
        return fail(f"no file {args.path}")
    fmt = format_for(source)
    if fmt is None:
        return fail(unsupported(source))
    if args.sheet is not None and fmt != "xlsx":
        return fail(f"--sheet is for Excel workbooks (.xlsx); {source.name} is a {fmt} file")
    sheets: list[str | None] = [args.sheet]
    if fmt == "xlsx" and args.sheet is None:
        from ballast_tui.engine.errors import ToolError
        from ballast_tui.engine.xlsx import sheet_names

        try:
            names = sheet_names(source, str(args.path), with_data=True)
        except ToolError as error:
            return fail(error.message)
        if not names:
            return fail(f"{args.path} has no sheet with data")
        # Blank sheets are left out; a workbook of one sheet with data imports like a CSV.
        sheets = list(names) if len(names) > 1 else [names[0]]
    several = len(sheets) > 1
    base = source_name(args.name) if args.name else source_name_for(source)
    for sheet in sheets:
        name = source_name(f"{base}_{sheet}") if several else base
        _import_one(args, source, name, fmt, sheet, show_sheet=several or args.sheet is not None)
    return 0


def _import_one(
    args: argparse.Namespace, source: Path, name: str, fmt: str, sheet: str | None, *, show_sheet: bool
) -> None:
    """Import one file (or one sheet), with a progress bar on a terminal; print what it did."""
    label = f"importing {source.name}" + (f" [{sheet}]" if sheet else "")
    with TerminalProgress(label) as progress:

        def told(done: int, total: int) -> None:
            progress.update(done, total)
            if total and done >= total:
                progress.phase(f"reading {source.name}")

        async def send(backend: Backend) -> dict[str, Any]:
            return await backend.import_file(args.dashboard, source, name, fmt, told, sheet=sheet)

        answer = with_backend(args, send)
    src = answer["source"]
    columns = ", ".join(c["name"] + " " + c["type"] for c in src["columns"])
    sheet_part = f" from sheet {sheet!r}" if sheet and show_sheet else ""
    print(f"imported {src['row_count']} rows as {src['name']}{sheet_part} ({columns})")
    replaced = answer.get("replaced")
    if replaced:
        print(f"replaced the source {src['name']} that was there ({replaced['row_count']} rows before)")


def run_export(args: argparse.Namespace) -> int:
    """A block's whole output (csv, parquet, json), or the dashboard drawn as the terminal draws it (svg)."""
    fmt = args.format or ("csv" if args.block else "svg")
    if fmt == "svg":
        if args.block:
            return fail(
                "svg draws the whole dashboard, not one block: leave out --block, "
                "or export the block as csv, parquet or json"
            )
        return _export_svg(args)
    if not args.block:
        return fail(f"--format {fmt} exports one block's output: name it with --block NAME")
    if args.output:
        target = Path(args.output)
        with TerminalProgress(f"exporting {args.block}", measure=lambda: _written(target)):
            rows = with_backend(args, lambda b: b.export(args.dashboard_id, args.block, fmt, target))
        print(f"wrote {rows} rows to {args.output}", file=sys.stderr)
        return 0

    async def to_stdout(backend: Backend) -> None:
        if isinstance(backend, RemoteBackend):
            await backend.stream_export(args.dashboard_id, args.block, fmt, StreamSink(sys.stdout.buffer))
            return
        assert isinstance(backend, LocalBackend)
        ctx = dataclasses.replace(backend.context, export_sink=StreamSink(sys.stdout.buffer))
        arguments = {"dashboard_id": args.dashboard_id, "block_id": args.block, "format": fmt}
        await backend.registry.acall(ctx, "export_block", arguments)

    # On a terminal the data itself is what shows; the bar is for output going to a file or a pipe.
    with TerminalProgress(f"exporting {args.block}", after_s=None if not sys.stdout.isatty() else 1e9):
        with_backend(args, to_stdout)
    sys.stdout.flush()
    return 0


def _written(target: Path) -> int:
    """How much of an export to `target` is written so far (its file beside it, until renamed over it)."""
    import os

    try:
        parts = list(target.parent.glob(f".{target.name}.{os.getpid()}.*.part"))
        return sum(part.stat().st_size for part in parts)
    except OSError:
        return 0


def _export_svg(args: argparse.Namespace) -> int:
    from ballast_tui.render_svg import parse_size, render_dashboard_svg

    try:
        size = parse_size(args.size)
    except ValueError as error:
        return fail(str(error))

    async def draw(backend: Backend) -> tuple[str, str]:
        # A missing board or role is refused here, in the tool's words, before anything is drawn.
        board = (await backend.call("dashboard_get", dashboard_id=args.dashboard_id))["dashboard"]
        return str(board["title"]), await render_dashboard_svg(backend, args.dashboard_id, size)

    title, svg = with_backend(args, draw)
    if args.output:
        from ballast_tui.storage.private import write_atomic

        write_atomic(Path(args.output), svg.encode("utf-8"))
        print(f"wrote {title!r} as drawn at {size[0]}x{size[1]} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(svg)
        sys.stdout.flush()
    return 0
