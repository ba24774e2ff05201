"""A board's blocks as a checked dependency graph.

Edges come from `source`, `inputs` and the tables a SQL block reads. Building
the graph refuses unknown names, inputs that are not controls, undeclared
`$params` and cycles, so a change that would break the graph is refused
before anything is saved.

A three-part name (``warehouse.public.orders``) that is no block or source is
a connected table: a source of the graph, whose existence is checked where a
block is saved (`ballast_tui.tools.connections.check_connected_reads`) and
where it runs, not here (the graph is built without touching a network).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ballast_tui.engine import graph
from ballast_tui.engine.blocks import CONTROL_TYPES, DATERANGE, SOURCE_READERS, references
from ballast_tui.engine.derived_cache import DerivedCache, code_id
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.sql import ParsedQuery, parse_query

Row = dict[str, Any]


_kept_parses: DerivedCache | None = None


def keep_parses_in(cache: DerivedCache) -> None:
    """Keep what SQL texts read in `cache` too, for the next process (`parsed`)."""
    global _kept_parses
    _kept_parses = cache


@functools.cache
def _parser_id() -> str:
    """Which parser read a kept answer: the installed sqlglot and our modules around it."""
    return code_id(
        "sqlglot", "ballast_tui.engine.sql", "ballast_tui.engine.sql_check", "ballast_tui.engine.sql_refs"
    )


@lru_cache(maxsize=4096)
def parsed(sql: str) -> ParsedQuery:
    """`parse_query`, remembered: the graph is rebuilt on every change. What a text that parsed
    reads is also kept on disk (`keep_parses_in`), so a later process builds a board's graph without
    loading the SQL parser; a refused text is parsed every time, for its message."""
    cache = _kept_parses
    key = f"{_parser_id()}\0{sql}"
    if cache is not None:
        kept = cache.get("sql-reads", key)
        if isinstance(kept, dict):
            return ParsedQuery(frozenset(kept["tables"]), frozenset(kept["params"]))
    query = parse_query(sql)
    if cache is not None:
        cache.put("sql-reads", key, {"tables": sorted(query.tables), "params": sorted(query.params)})
    return query


def allowed_params(inputs: Iterable[str], by_name: Mapping[str, Row]) -> set[str]:
    """The `$names` that a SQL block's declared inputs bind."""
    allowed: set[str] = set()
    for name in inputs:
        allowed.add(name)
        control = by_name.get(name)
        if control is not None and control["type"] == DATERANGE:
            allowed.update({f"{name}_start", f"{name}_end"})
    return allowed


@dataclass
class BoardGraph:
    """Blocks by id and name, their upstream blocks and sources, and a topological order."""

    blocks: list[Row]
    sources: dict[str, Row]
    by_id: dict[str, Row] = field(default_factory=dict)
    by_name: dict[str, Row] = field(default_factory=dict)
    upstream_ids: dict[str, list[str]] = field(default_factory=dict)
    upstream_sources: dict[str, list[str]] = field(default_factory=dict)
    upstream_remote: dict[str, list[str]] = field(default_factory=dict)
    params: dict[str, frozenset[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def downstream(self, roots: Iterable[str]) -> set[str]:
        """`roots` and every block that depends on them."""
        return graph.downstream_closure([b["id"] for b in self.blocks], self.upstream_ids, roots)

    def upstream(self, roots: Iterable[str]) -> set[str]:
        """`roots` and every block they depend on."""
        return graph.upstream_closure(self.upstream_ids, roots)

    def downstream_of(self, block_id: str) -> list[str]:
        """The blocks that read `block_id` directly."""
        return [b for b, ups in self.upstream_ids.items() if block_id in ups]

    def ordered(self, ids: Iterable[str]) -> list[str]:
        wanted = set(ids)
        return [b for b in self.order if b in wanted]

    def readers_of_source(self, name: str) -> list[str]:
        return [
            b
            for b in self.upstream_sources
            if name in self.upstream_sources[b] or name in self.upstream_remote.get(b, [])
        ]

    def sources_of(self, block_id: str) -> list[str]:
        """The catalog sources a block reads: local ones, then connected tables."""
        return self.upstream_sources.get(block_id, []) + self.upstream_remote.get(block_id, [])


def build_graph(blocks: Sequence[Row], sources: Mapping[str, Row]) -> BoardGraph:
    """Check every block's references and the absence of cycles; `InvalidRequest` otherwise."""
    g = BoardGraph(list(blocks), dict(sources))
    g.by_id = {b["id"]: b for b in blocks}
    g.by_name = {b["name"]: b for b in blocks}
    for block in blocks:
        _link(g, block)
    try:
        g.order = graph.topological_order([b["id"] for b in blocks], g.upstream_ids)
    except graph.CycleError as error:
        raise graph.CycleError([g.by_id[b]["name"] for b in error.cycle]) from None
    return g


def _link(g: BoardGraph, block: Row) -> None:
    config = block["config"]
    tables: frozenset[str] = frozenset()
    if block["type"] == "sql":
        query = _parse_for(block)
        tables = query.tables
        _check_inputs(g, block, config.get("inputs", []), query.params)
        g.params[block["id"]] = query.params
    upstream_ids: list[str] = []
    upstream_sources: list[str] = []
    upstream_remote: list[str] = []
    for name in sorted(references(block["type"], config, tables)):
        if name in g.by_name:
            upstream_ids.append(g.by_name[name]["id"])
        elif name in g.sources:
            upstream_sources.append(name)
        elif name.count(".") == 2 and (name in tables or block["type"] in SOURCE_READERS):
            upstream_remote.append(name)
        else:
            known = sorted({*g.by_name, *g.sources} - {block["name"]})
            hint = " (a connected table is named connection.schema.table)" if "." in name else ""
            raise InvalidRequest(
                f"block {block['name']!r} reads {name!r}, which is neither a block nor a source of this board"
                + hint
                + (f"; it has: {', '.join(known)}" if known else "; it has no other block or source yet"),
                accepted=known,
            )
    g.upstream_ids[block["id"]] = upstream_ids
    g.upstream_sources[block["id"]] = upstream_sources
    g.upstream_remote[block["id"]] = upstream_remote


def _parse_for(block: Row) -> ParsedQuery:
    try:
        return parsed(block["config"]["sql"])
    except InvalidRequest as error:
        raise InvalidRequest(f"block {block['name']!r}: {error.message}") from None


def _check_inputs(g: BoardGraph, block: Row, inputs: list[str], params: frozenset[str]) -> None:
    for name in inputs:
        control = g.by_name.get(name)
        if control is None or control["type"] not in CONTROL_TYPES:
            raise InvalidRequest(
                f"block {block['name']!r} lists {name!r} in inputs, which is not a control of this board"
            )
    undeclared = sorted(params - allowed_params(inputs, g.by_name))
    if undeclared:
        raise InvalidRequest(
            f"block {block['name']!r} uses {', '.join('$' + p for p in undeclared)} without declaring "
            "the control in its inputs"
        )
