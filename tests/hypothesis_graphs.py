"""Hypothesis strategies for random graphs shared by the test suite."""

from __future__ import annotations

from hypothesis import strategies as st

from checkmate_opt.graph import Graph, training_graph


@st.composite
def forward_dags(draw: st.DrawFn, max_layers: int = 6) -> list[list[int]]:
    """Connected forward DAGs of 1..``max_layers`` layers, as ordered argument lists.

    Layer 0 is the only source; every later layer consumes at least one earlier layer.
    """
    num = draw(st.integers(min_value=1, max_value=max_layers))
    args: list[list[int]] = [[]]
    for v in range(1, num):
        first = draw(st.integers(min_value=0, max_value=v - 1))
        extra = draw(st.sets(st.integers(min_value=0, max_value=v - 1), max_size=2))
        args.append(sorted({first, *extra}))
    return args


@st.composite
def training_graphs(
    draw: st.DrawFn, max_layers: int = 6, max_cost: int = 5, max_memory: int = 5
) -> Graph:
    """Training graphs (forward + loss + gradients) of at most ``2*max_layers+1`` nodes."""
    fargs = draw(forward_dags(max_layers))
    num = len(fargs)
    compute = draw(st.lists(st.integers(0, max_cost), min_size=num, max_size=num))
    memory = draw(st.lists(st.integers(1, max_memory), min_size=num, max_size=num))
    loss_memory = draw(st.integers(1, max_memory))
    return training_graph(fargs, compute, memory, loss_compute=1, loss_memory=loss_memory)


@st.composite
def dags(draw: st.DrawFn, max_nodes: int = 8, max_cost: int = 5, max_memory: int = 5) -> Graph:
    """Plain DAGs (no training structure) of 1..``max_nodes`` nodes in topological id order."""
    n = draw(st.integers(min_value=1, max_value=max_nodes))
    args: list[tuple[int, ...]] = [()]
    for v in range(1, n):
        deps = draw(st.sets(st.integers(min_value=0, max_value=v - 1), min_size=1, max_size=3))
        args.append(tuple(sorted(deps)))
    compute = draw(st.lists(st.integers(0, max_cost), min_size=n, max_size=n))
    memory = draw(st.lists(st.integers(1, max_memory), min_size=n, max_size=n))
    return Graph(args=tuple(args), compute_cost=tuple(compute), memory_cost=tuple(memory))
