"""A board's graph explained for a reader (an agent first): which displayed block depends on what,
and which displayed blocks a change to any block, control or source would reach.

Derived from the checked `BoardGraph` alone; nothing here reads outputs or runs anything.
"""

from __future__ import annotations

from typing import Any

from ballast_tui.engine.blocks import CONTROL_TYPES
from ballast_tui.engine.board_graph import BoardGraph


def _names(g: BoardGraph, ids: set[str]) -> list[str]:
    """Block names in topological order (upstream first)."""
    return [g.by_id[i]["name"] for i in g.ordered(ids)]


def _sources_read(g: BoardGraph, ids: set[str]) -> list[str]:
    return sorted({name for i in ids for name in g.upstream_sources.get(i, [])})


def _line(g: BoardGraph, block: dict[str, Any], upstream: set[str]) -> str:
    """``name (type) <- what it reads directly; depends on: everything above``."""
    direct = [g.by_id[u]["name"] for u in g.upstream_ids.get(block["id"], [])]
    direct += [f"{s} [source]" for s in g.upstream_sources.get(block["id"], [])]
    text = f"{block['name']} ({block['type']})"
    if direct:
        text += " <- " + ", ".join(direct)
    deeper = [n for n in _names(g, upstream) if n not in direct]
    deeper += [f"{s} [source]" for s in _sources_read(g, upstream) if f"{s} [source]" not in direct]
    if deeper:
        text += "; through them also: " + ", ".join(deeper)
    return text


def explain(g: BoardGraph) -> dict[str, Any]:
    """What a model needs before an edit.

    - `displayed`: each displayed block (in layout-independent graph order) with what it reads
      directly and everything it depends on (blocks, controls, sources);
    - `affects`: for every block and source, the displayed blocks a change to it would re-run;
    - `hidden`: helper blocks not on the grid;
    - `lines`: the same as sentences, one per displayed block.
    """
    displayed_ids = {b["id"] for b in g.blocks if b["displayed"]}
    displayed = []
    lines = []
    for block_id in g.ordered(displayed_ids):
        block = g.by_id[block_id]
        upstream = g.upstream([block_id]) - {block_id}
        controls = {i for i in upstream if g.by_id[i]["type"] in CONTROL_TYPES}
        displayed.append(
            {
                "id": block_id,
                "name": block["name"],
                "type": block["type"],
                "reads": [g.by_id[u]["name"] for u in g.upstream_ids.get(block_id, [])]
                + list(g.upstream_sources.get(block_id, [])),
                "depends_on": {
                    "blocks": _names(g, upstream - controls),
                    "controls": _names(g, controls),
                    "sources": _sources_read(g, upstream | {block_id}),
                },
            }
        )
        lines.append(_line(g, block, upstream))
    affects: dict[str, list[str]] = {}
    for block_id in g.order:
        reached = g.downstream([block_id]) & displayed_ids
        affects[g.by_id[block_id]["name"]] = _names(g, reached)
    for source in sorted(g.sources):
        reached = g.downstream(g.readers_of_source(source)) & displayed_ids
        affects[source] = _names(g, reached)
    return {
        "displayed": displayed,
        "hidden": _names(g, {b["id"] for b in g.blocks} - displayed_ids),
        "affects": affects,
        "lines": lines,
    }
