"""The dependency graph between blocks, generic over string node ids.

A graph is given as the ordered list of its nodes and, for each node, the names
it depends on (its upstreams). Upstream names that are not nodes (catalog
sources, blocks not yet created) are ignored when ordering.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence

from ballast_tui.engine.errors import InvalidRequest

__all__ = [
    "CycleError",
    "downstream_closure",
    "downstreams",
    "find_cycle",
    "topological_order",
    "upstream_closure",
]


class CycleError(InvalidRequest):
    """The blocks depend on each other in a circle.

    ``cycle`` lists the nodes of one cycle in data-flow order: each node is an
    upstream of the next, and the last is an upstream of the first. It starts at
    the cycle's node that comes first in the graph's node order.
    """

    def __init__(self, cycle: list[str]) -> None:
        super().__init__("the blocks form a cycle: " + " → ".join([*cycle, cycle[0]]))
        self.cycle = cycle


def topological_order(nodes: Sequence[str], upstreams: Mapping[str, Iterable[str]]) -> list[str]:
    """``nodes`` ordered so that every node comes after its upstreams.

    Among the nodes ready at any point, the one earliest in ``nodes`` goes
    first, so the order is deterministic and stays close to ``nodes``.
    Raises `CycleError` naming one cycle when there is no such order.
    """
    order, cycle = _order(nodes, upstreams)
    if cycle is not None:
        raise CycleError(cycle)
    return order


def find_cycle(nodes: Sequence[str], upstreams: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle among ``nodes`` (as in `CycleError.cycle`), or None when there is none."""
    return _order(nodes, upstreams)[1]


def downstreams(nodes: Sequence[str], upstreams: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """For every node, the nodes that depend on it directly (the inverse of ``upstreams``)."""
    position = _positions(nodes)
    inverse: dict[str, set[str]] = {node: set() for node in position}
    for node, node_ups in _node_upstreams(position, upstreams).items():
        for up in node_ups:
            inverse[up].add(node)
    return inverse


def downstream_closure(
    nodes: Sequence[str], upstreams: Mapping[str, Iterable[str]], roots: Iterable[str]
) -> set[str]:
    """``roots`` plus every node that depends on one of them, directly or not.

    A root need not be a node: a name that nodes only list as an upstream (a
    catalog source, say) still reaches the nodes reading it.
    """
    return _reach(_inverse(nodes, upstreams), roots)


def upstream_closure(upstreams: Mapping[str, Iterable[str]], roots: Iterable[str]) -> set[str]:
    """``roots`` plus every name they depend on, directly or not (non-nodes included)."""
    return _reach({node: set(ups) for node, ups in upstreams.items()}, roots)


def _positions(nodes: Sequence[str]) -> dict[str, int]:
    """Each node's first position in ``nodes``."""
    position: dict[str, int] = {}
    for index, node in enumerate(nodes):
        position.setdefault(node, index)
    return position


def _node_upstreams(
    position: Mapping[str, int], upstreams: Mapping[str, Iterable[str]]
) -> dict[str, set[str]]:
    """Each node's upstreams that are nodes, each listed once."""
    return {node: {up for up in upstreams.get(node, ()) if up in position} for node in position}


def _inverse(nodes: Sequence[str], upstreams: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Every node and every upstream name, mapped to the nodes that depend on it."""
    inverse: dict[str, set[str]] = {node: set() for node in nodes}
    for node in _positions(nodes):
        for up in upstreams.get(node, ()):
            inverse.setdefault(up, set()).add(node)
    return inverse


def _reach(edges: Mapping[str, Iterable[str]], roots: Iterable[str]) -> set[str]:
    """``roots`` plus everything reachable from them along ``edges``."""
    seen = set(roots)
    stack = list(seen)
    while stack:
        for neighbour in edges.get(stack.pop(), ()):
            if neighbour not in seen:
                seen.add(neighbour)
                stack.append(neighbour)
    return seen


def _order(
    nodes: Sequence[str], upstreams: Mapping[str, Iterable[str]]
) -> tuple[list[str], list[str] | None]:
    """Kahn's algorithm: the nodes in dependency order, and a cycle if some were left over."""
    position = _positions(nodes)
    ups = _node_upstreams(position, upstreams)
    waiting = {node: len(node_ups) for node, node_ups in ups.items()}
    down: dict[str, list[str]] = {node: [] for node in position}
    for node, node_ups in ups.items():
        for up in node_ups:
            down[up].append(node)
    ready = [position[node] for node, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        order.append(node)
        for dependent in down[node]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, position[dependent])
    if len(order) == len(position):
        return order, None
    left = {node for node, count in waiting.items() if count > 0}
    return order, _cycle_among(left, ups, position)


def _cycle_among(left: set[str], ups: Mapping[str, set[str]], position: Mapping[str, int]) -> list[str]:
    """A cycle among the nodes Kahn's algorithm could not order.

    Each such node has an upstream that is also left over, so walking upstream
    from any of them must come back to a node already seen.
    """
    node = min(left, key=position.__getitem__)
    walked: dict[str, int] = {}
    while node not in walked:
        walked[node] = len(walked)
        node = min((up for up in ups[node] if up in left), key=position.__getitem__)
    upstream_walk = list(walked)[walked[node] :]
    cycle = upstream_walk[::-1]  # the walk went against the data flow
    start = min(range(len(cycle)), key=lambda index: position[cycle[index]])
    return cycle[start:] + cycle[:start]
