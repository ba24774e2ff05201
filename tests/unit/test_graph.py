"""Ordering blocks by their dependencies, naming cycles, and following edges both ways."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.graph import (
    CycleError,
    downstream_closure,
    downstreams,
    find_cycle,
    topological_order,
    upstream_closure,
)

Upstreams = Mapping[str, Sequence[str]]


@pytest.mark.parametrize(
    ("nodes", "upstreams", "order"),
    [
        pytest.param([], {}, [], id="empty"),
        pytest.param(["a", "b", "c"], {}, ["a", "b", "c"], id="no_edges_keeps_node_order"),
        pytest.param(["c", "b", "a"], {}, ["c", "b", "a"], id="no_edges_not_sorted_by_name"),
        pytest.param(["a", "b"], {"a": ["b"]}, ["b", "a"], id="upstream_first"),
        pytest.param(["a", "b", "c"], {"a": ["c"]}, ["b", "c", "a"], id="ties_by_position"),
        pytest.param(
            ["d", "a", "b", "c"],
            {"d": ["a", "b"], "a": ["c"], "b": ["c"]},
            ["c", "a", "b", "d"],
            id="diamond",
        ),
        pytest.param(["a", "b"], {"a": ["sales", "b"]}, ["b", "a"], id="unknown_upstreams_ignored"),
        pytest.param(["a", "b"], {"a": ["b", "b"]}, ["b", "a"], id="duplicate_edges"),
        pytest.param(["a", "b"], {"b": [], "x": ["a"]}, ["a", "b"], id="edges_of_non_nodes_ignored"),
    ],
)
def test_topological_order_puts_upstreams_first(
    nodes: list[str], upstreams: Upstreams, order: list[str]
) -> None:
    assert topological_order(nodes, upstreams) == order


def test_upstreams_may_be_one_shot_iterators() -> None:
    assert topological_order(["a", "b"], {"a": iter(["b"])}) == ["b", "a"]


@pytest.mark.parametrize(
    ("nodes", "upstreams", "cycle"),
    [
        pytest.param(["a"], {"a": ["a"]}, ["a"], id="self_loop"),
        pytest.param(["a", "b"], {"a": ["b"], "b": ["a"]}, ["a", "b"], id="pair"),
        # b reads a, c reads b, a reads c: data flows a → b → c → a.
        pytest.param(["a", "b", "c"], {"a": ["c"], "b": ["a"], "c": ["b"]}, ["a", "b", "c"], id="triangle"),
        pytest.param(
            ["x", "c", "b", "a"],
            {"x": ["a"], "a": ["c"], "b": ["a"], "c": ["b"]},
            ["c", "a", "b"],
            id="starts_at_earliest_node",
        ),
    ],
)
def test_cycle_is_named_in_data_flow_order(nodes: list[str], upstreams: Upstreams, cycle: list[str]) -> None:
    with pytest.raises(CycleError) as raised:
        topological_order(nodes, upstreams)
    assert raised.value.cycle == cycle
    assert find_cycle(nodes, upstreams) == cycle


def test_cycle_error_message_closes_the_loop() -> None:
    with pytest.raises(CycleError) as raised:
        topological_order(["a", "b", "c"], {"a": ["c"], "b": ["a"], "c": ["b"]})
    assert raised.value.message == "the blocks form a cycle: a → b → c → a"


def test_cycle_error_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest) as raised:
        topological_order(["a"], {"a": ["a"]})
    assert raised.value.code == "invalid_request"


def test_find_cycle_is_none_for_a_dag() -> None:
    assert find_cycle(["a", "b"], {"a": ["b"]}) is None


EDGES: dict[str, list[str]] = {
    "chart": ["summary"],
    "summary": ["sales", "fx"],
    "table": ["sales"],
    "fx": ["rates"],
}
NODES = ["sales", "fx", "summary", "chart", "table", "lonely"]


def test_downstreams_inverts_edges_between_nodes() -> None:
    assert downstreams(NODES, EDGES) == {
        "sales": {"summary", "table"},
        "fx": {"summary"},
        "summary": {"chart"},
        "chart": set(),
        "table": set(),
        "lonely": set(),
    }


@pytest.mark.parametrize(
    ("roots", "closure"),
    [
        pytest.param(["sales"], {"sales", "summary", "chart", "table"}, id="fans_out"),
        pytest.param(["fx"], {"fx", "summary", "chart"}, id="transitive"),
        pytest.param(["chart"], {"chart"}, id="leaf"),
        pytest.param(["rates"], {"rates", "fx", "summary", "chart"}, id="root_that_is_not_a_node"),
        pytest.param([], set(), id="no_roots"),
    ],
)
def test_downstream_closure_holds_roots_and_dependents(roots: list[str], closure: set[str]) -> None:
    assert downstream_closure(NODES, EDGES, roots) == closure


@pytest.mark.parametrize(
    ("roots", "closure"),
    [
        pytest.param(["chart"], {"chart", "summary", "sales", "fx", "rates"}, id="transitive"),
        pytest.param(["table", "lonely"], {"table", "sales", "lonely"}, id="several_roots"),
        pytest.param(["sales"], {"sales"}, id="source"),
    ],
)
def test_upstream_closure_holds_roots_and_what_they_read(roots: list[str], closure: set[str]) -> None:
    assert upstream_closure(EDGES, roots) == closure


def test_closures_terminate_on_cycles() -> None:
    edges = {"a": ["b"], "b": ["a"]}
    assert upstream_closure(edges, ["a"]) == {"a", "b"}
    assert downstream_closure(["a", "b"], edges, ["a"]) == {"a", "b"}


def test_topological_order_handles_thousands_of_nodes() -> None:
    nodes = [f"n{index}" for index in range(5000)]
    upstreams = {node: nodes[max(0, index - 3) : index] for index, node in enumerate(nodes)}
    assert topological_order(list(reversed(nodes)), upstreams) == nodes


# --- properties ----------------------------------------------------------------------------


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[str], dict[str, list[str]]]:
    """Nodes in a random order, with edges only from later to earlier in a hidden ranking."""
    count = draw(st.integers(min_value=0, max_value=25))
    ranking = [f"n{index}" for index in range(count)]
    upstreams = {
        node: draw(st.lists(st.sampled_from(ranking[:index]), max_size=5)) if index else []
        for index, node in enumerate(ranking)
    }
    nodes = draw(st.permutations(ranking))
    return list(nodes), upstreams


@st.composite
def cyclic_graphs(draw: st.DrawFn) -> tuple[list[str], dict[str, list[str]]]:
    """A random DAG plus one back edge that closes a cycle."""
    nodes, upstreams = draw(dags().filter(lambda graph: len(graph[0]) >= 1))
    ranking = sorted(nodes, key=lambda node: int(node[1:]))
    low = draw(st.integers(min_value=0, max_value=len(ranking) - 1))
    high = draw(st.integers(min_value=low, max_value=len(ranking) - 1))
    # Make ranking[low] read ranking[high], and give high a path back to low.
    chain = ranking[low : high + 1]
    for later, earlier in zip(chain[1:], chain, strict=False):
        upstreams[later] = [*upstreams[later], earlier]
    upstreams[ranking[low]] = [*upstreams[ranking[low]], ranking[high]]
    return nodes, upstreams


@given(dags())
def test_order_is_a_permutation_with_upstreams_first(graph: tuple[list[str], dict[str, list[str]]]) -> None:
    nodes, upstreams = graph
    order = topological_order(nodes, upstreams)
    assert sorted(order) == sorted(nodes)
    seen: set[str] = set()
    for node in order:
        assert set(upstreams[node]) <= seen
        seen.add(node)


@given(dags())
def test_order_is_deterministic_and_idempotent(graph: tuple[list[str], dict[str, list[str]]]) -> None:
    nodes, upstreams = graph
    order = topological_order(nodes, upstreams)
    assert topological_order(nodes, upstreams) == order
    assert topological_order(order, upstreams) == order


@given(cyclic_graphs())
def test_cycle_error_names_a_real_cycle(graph: tuple[list[str], dict[str, list[str]]]) -> None:
    nodes, upstreams = graph
    with pytest.raises(CycleError) as raised:
        topological_order(nodes, upstreams)
    cycle = raised.value.cycle
    assert cycle
    assert len(set(cycle)) == len(cycle)
    for upstream, node in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
        assert upstream in upstreams[node]


@given(dags(), st.data())
def test_closures_are_mirror_images(
    graph: tuple[list[str], dict[str, list[str]]], data: st.DataObject
) -> None:
    nodes, upstreams = graph
    roots = set(data.draw(st.lists(st.sampled_from(nodes), max_size=3))) if nodes else set()
    down = downstream_closure(nodes, upstreams, roots)
    up = upstream_closure(upstreams, roots)
    for node in nodes:
        assert (node in down) == bool(upstream_closure(upstreams, [node]) & roots)
        assert (node in up) == bool(downstream_closure(nodes, upstreams, [node]) & roots)
