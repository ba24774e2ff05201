"""`ballast import` and `ballast export`: files into a board's catalog, outputs and drawings out."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from ballast_tui.backend import Backend, LocalBackend
from ballast_tui.commands import fail, with_backend
from ballast_tui.engine.exports import StreamSink
from ballast_tui.remote import RemoteBackend

IMPORT_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}


def run_import(args: argparse.Namespace) -> int:
    """`ballast import PATH --dashboard ID [--name N]`."""
    source = Path(args.path).expanduser()
    if not source.is_file():
        return fail(f"no file {args.path}")
    fmt = IMPORT_FORMATS.get(source.suffix.lower())
    if fmt is None:
        return fail("the file must end in .csv, .parquet or .json")
    name = args.name or "".join(c if c.isalnum() else "_" for c in source.stem.lower()).strip("_") or "data"

    async def send(backend: Backend) -> dict[str, Any]:
        return await backend.import_file(args.dashboard, source, name, fmt)

    src = with_backend(args, send)["source"]
    assert isinstance(src, dict)
    columns = ", ".join(c["name"] + " " + c["type"] for c in src["columns"])
    print(f"imported {src['row_count']} rows as {src['name']} ({columns})")
    return 0


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
        rows = with_backend(args, lambda b: b.export(args.dashboard_id, args.block, fmt, Path(args.output)))
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

    with_backend(args, to_stdout)
    sys.stdout.flush()
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
