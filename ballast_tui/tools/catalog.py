"""Catalog tools: list, import a file, push rows or Arrow, rename (rewriting every reader)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ballast_tui.engine import catalog
from ballast_tui.engine.blocks import validate_name
from ballast_tui.engine.board_graph import build_graph
from ballast_tui.engine.changes import cascade, check_unlocked, mark_pending, publish, record
from ballast_tui.engine.connected import connected_sources
from ballast_tui.engine.describe import describe_block
from ballast_tui.engine.errors import InvalidRequest, NotFound
from ballast_tui.engine.events import BlockChanged, SourceChanged
from ballast_tui.engine.import_files import source_name
from ballast_tui.engine.rename import rewrite_readers
from ballast_tui.storage import repos
from ballast_tui.storage.db import dumps, utcnow
from ballast_tui.tools.registry import NAME_SCHEMA, REGISTRY, Args, BoardScope, Context


class BoardArgs(Args):
    dashboard_id: str


class ImportArgs(Args):
    dashboard_id: str
    name: str
    format: Literal["csv", "tsv", "parquet", "json", "xlsx"]
    sheet: str | None = None
    content: str | None = None
    path: str | None = None


class PushArgs(Args):
    dashboard_id: str
    name: str = Field(json_schema_extra=NAME_SCHEMA)
    rows: list[Any] | None = None
    arrow: str | None = None
    mode: Literal["replace", "append"] = "replace"


class RenameArgs(Args):
    dashboard_id: str
    name: str
    new_name: str = Field(min_length=1, json_schema_extra=NAME_SCHEMA)


def describe_source(row: dict[str, Any]) -> dict[str, Any]:
    kind = "import" if row["format"] in catalog.IMPORTED else "push"
    return {
        "name": row["name"],
        "kind": kind,
        "format": row["format"],
        "row_count": row["row_count"],
        "columns": row["columns"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


@REGISTRY.tool(
    "catalog_list",
    BoardArgs,
    role="viewer",
    writes=False,
    example={},
)
def catalog_list(board: BoardScope, args: BoardArgs) -> dict[str, Any]:
    """The named tables a SQL block of this board can read: sources, block outputs, and the tables of
    connected warehouses and app databases (``connection.schema.table``, with their columns).

    List the named tables SQL in this board can read: sources (pushed or imported data, with columns
    and row counts), connected tables (NAME.schema.table) and every block's output. Use it before
    writing SQL.
    Returns `sources`.
    """
    ctx = board.ctx
    sources = [describe_source(s) for s in board.sources()]
    runs = repos.runs_by_id(ctx.ws.db, [b["current_run_id"] for b in board.blocks() if b["current_run_id"]])
    for block in board.blocks():
        run = runs.get(block["current_run_id"] or "")
        output = run["output"] if run and run["status"] == "success" else None
        sources.append(
            {
                "name": block["name"],
                "kind": "block",
                "block_id": block["id"],
                "block_type": block["type"],
                "state": block["state"],
                "row_count": output["row_count"] if output else None,
                "columns": output["columns"] if output else [],
                "updated_at": block["updated_at"],
            }
        )
    connected, connections = connected_sources(board)
    return {"sources": sources + connected, "connections": connections}


def _source_name(board: BoardScope, given: str) -> str:
    """The source name `given` makes by the one rule (`engine.import_files.source_name`: a leading
    digit gets a ``_``, other characters become ``_``), refused when it is a block's name."""
    if not given.strip():
        raise InvalidRequest("name is empty: give the source a name", field="name")
    name = validate_name(source_name(given))
    if any(b["name"] == name for b in board.blocks()):
        raise InvalidRequest(f"{name!r} is the name of a block of this board; pick another source name")
    return name


def _store_source(
    ctx: Context,
    board: BoardScope,
    name: str,
    file_format: str,
    stored: tuple[str, str, int, list[dict[str, str]]],
    action: str,
) -> dict[str, Any]:
    """Write the source row (new or replacing), audit it, and re-run the blocks that read it."""
    file_name, content_hash, row_count, columns = stored
    old = board.find_source(name)
    replaced = None if old is None else {"row_count": old["row_count"], "format": old["format"]}
    now = utcnow()
    g = board.graph()
    with ctx.ws.board_lock(board.id), ctx.ws.db.write() as tx:
        mark_pending(tx, g, g.readers_of_source(name))
        if old is None:
            tx.table("sources").insert(
                {
                    "id": catalog.source_id(),
                    "board_id": board.id,
                    "name": name,
                    "format": file_format,
                    "file": file_name,
                    "row_count": row_count,
                    "columns": dumps(columns),
                    "content_hash": content_hash,
                    "created_by": ctx.user.id,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        else:
            tx.execute(
                "UPDATE sources SET format = ?, file = ?, row_count = ?, columns = ?, content_hash = ?, "
                "updated_at = ? WHERE id = ?",
                [file_format, file_name, row_count, dumps(columns), content_hash, now, old["id"]],
            )
        record(
            tx, ctx, board.id, action, name, format=file_format, row_count=row_count, replaced=old is not None
        )
        repos.touch_board(tx, board.id)
    if old is not None and old["file"] != file_name:
        (ctx.ws.board_dir(board.id) / old["file"]).unlink(missing_ok=True)
    source = board.find_source(name)
    assert source is not None
    publish(ctx, SourceChanged(dashboard_id=board.id, name=name, row_count=row_count))
    result = cascade(board, g.readers_of_source(name), "edit")
    return {"source": describe_source(source), "replaced": replaced, "cascade": result.describe()}


@REGISTRY.tool(
    "catalog_import",
    ImportArgs,
    refuses="content or a file that is not of that format, a path outside the import directories",
    role="editor",
    writes=True,
    destructive=True,
    example={"name": "sales", "format": "csv", "content": "ZGF5LGFtb3VudAoyMDI2LTAxLTAxLDEwCg=="},
)
def catalog_import(board: BoardScope, args: ImportArgs) -> dict[str, Any]:
    """Import a CSV/TSV (gzipped or not), Parquet, JSON/JSONL or Excel file as a source: `content`
    (base64) or a `path` inside the workspace's import directory. The name follows the one rule for
    source names (a leading digit gets a ``_``). Replaces a source of the same name (`replaced` says
    what it had); its readers re-run.

    Import a file as a source: `content` (base64 of the file) or `path` (a file in the workspace's
    imports directory on the server); `format` csv, tsv, parquet, json or xlsx (`sheet`: which one,
    default the first). `name` is made a valid name (2026-sales -> _2026_sales). Readers re-run.
    Returns `source` (name, columns, row_count) and `replaced` (null, or the old source's row_count).
    """
    ctx = board.ctx
    name = _source_name(board, args.name)
    if (args.content is None) == (args.path is None):
        raise InvalidRequest("give exactly one of `content` (base64) or `path`")
    if args.sheet is not None and args.format != "xlsx":
        raise InvalidRequest(f"sheet is for Excel workbooks (xlsx), not {args.format} files", field="sheet")
    if args.content is not None:
        raw = catalog.decode_base64(args.content, "content")
        stored = catalog.import_content(ctx.ws, board.id, raw, args.format, sheet=args.sheet)
    else:
        given = args.path or ""
        path = catalog.import_path(ctx.ws, given)
        stored = catalog.read_file_to_source(
            ctx.ws, board.id, path, args.format, sheet=args.sheet, shown=given
        )
    return _store_source(ctx, board, name, args.format, stored, "source_import")


@REGISTRY.tool(
    "catalog_push",
    PushArgs,
    refuses=(
        "rows that make no table (a column of mixed types, an empty object), an Arrow "
        "stream that does not read"
    ),
    role="editor",
    writes=True,
    destructive=True,
    example={"name": "sales", "rows": [{"day": "2026-01-01", "region": "North", "amount": 120.5}]},
)
def catalog_push(board: BoardScope, args: PushArgs) -> dict[str, Any]:
    """Push a table as a source: `rows` (objects) or `arrow` (base64 IPC stream); `mode` replaces
    the source or appends to it. Its readers re-run.

    Push a table as a source: `rows` (a list of objects, one per row, same keys) or `arrow` (base64 IPC
    stream); `mode` replace (default) or append (same columns). The easiest way to bring data the user
    gave you; blocks that read it re-run.
    Returns `source` (name, columns with types, row_count).
    """
    ctx = board.ctx
    name = _source_name(board, args.name)
    if (args.rows is None) == (args.arrow is None):
        raise InvalidRequest("give exactly one of `rows` or `arrow`")
    if args.rows is not None:
        table, file_format = catalog.rows_to_table(args.rows), "rows"
    else:
        table, file_format = catalog.arrow_to_table(catalog.decode_base64(args.arrow or "", "arrow")), "arrow"
    existing = board.find_source(name)
    if args.mode == "append" and existing is not None:
        table = catalog.appended(ctx.ws, board.id, ctx.ws.board_dir(board.id) / existing["file"], table)
    stored = catalog.write_table_source(ctx.ws, board.id, table)
    return _store_source(ctx, board, name, file_format, stored, "source_push")


@REGISTRY.tool(
    "catalog_rename",
    RenameArgs,
    refuses="a name no source of the board has, or a new name one already has",
    role="editor",
    writes=True,
    destructive=True,
    example={"name": "sales", "new_name": "orders"},
)
def catalog_rename(board: BoardScope, args: RenameArgs) -> dict[str, Any]:
    """Rename a source (or a block's output) and rewrite every block that reads it, in one transaction.

    Rename a source (or a block) and rewrite every block that reads it, in one change.
    Returns `source` and `rewritten` (the blocks whose SQL or source changed).
    """
    ctx = board.ctx
    new_name = validate_name(args.new_name)
    blocks = board.blocks()
    source = board.find_source(args.name)
    renamed_block = next((b for b in blocks if b["name"] == args.name), None)
    if source is None and renamed_block is None:
        raise NotFound(f"no source or block named {args.name!r} in {board.id}")
    taken = {b["name"] for b in blocks} | {s["name"] for s in board.sources()}
    if new_name != args.name and new_name in taken:
        raise InvalidRequest(f"the name {new_name!r} is already used in this board")
    readers = [b for b in blocks if renamed_block is None or b["id"] != renamed_block["id"]]
    rewritten = rewrite_readers(readers, args.name, new_name)
    for block_id in [*rewritten, *([renamed_block["id"]] if renamed_block else [])]:
        check_unlocked(board, block_id)
    with ctx.ws.db.write() as tx:
        if source is not None:
            tx.execute(
                "UPDATE sources SET name = ?, updated_at = ? WHERE id = ?", [new_name, utcnow(), source["id"]]
            )
        else:
            assert renamed_block is not None
            repos.update_block(tx, renamed_block["id"], name=new_name)
        for block_id, config in rewritten.items():
            repos.update_block(tx, block_id, config=config)
        # Check the renamed graph inside the transaction: a failure rolls all of it back.
        renamed = build_graph(board.blocks(), {s["name"]: s for s in board.sources()})
        mark_pending(tx, renamed, rewritten)
        record(tx, ctx, board.id, "source_rename", args.name, new_name=new_name, rewritten=sorted(rewritten))
        repos.touch_board(tx, board.id)
    for block_id in rewritten:
        publish(
            ctx,
            BlockChanged(
                dashboard_id=board.id,
                block_id=block_id,
                change="updated",
                block=describe_block(board.block(block_id)),
            ),
        )
    publish(ctx, SourceChanged(dashboard_id=board.id, name=new_name, previous=args.name))
    result = cascade(board, list(rewritten), "edit")
    answer_source = board.find_source(new_name)
    return {
        "source": describe_source(answer_source) if answer_source else {"name": new_name, "kind": "block"},
        "rewritten": sorted(rewritten),
        "cascade": result.describe(),
    }
