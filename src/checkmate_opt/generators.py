"""Graph generators for tests, docs and benchmarks."""

from __future__ import annotations

import numpy as np

from checkmate_opt.errors import GraphError
from checkmate_opt.graph import Graph, training_graph

__all__ = ["linear_graph", "random_forward_dag", "random_layered_graph"]


def linear_graph(num_layers: int) -> Graph:
    """The unit-cost training chain of ``num_layers`` layers (``gen_linear_graph``).

    Nodes ``0..2N``: forward ``0..N-1``, loss ``N``, gradient of ``i`` at ``2N - i``. Edges: the
    chain ``i -> i+1`` and ``i -> 2N - i`` for every forward ``i``; so ``n = 2N + 1`` and
    ``m = 3N``. Unit compute and memory costs.

    Examples
    --------
    >>> g = linear_graph(3)
    >>> g.args[5]
    (1, 4)
    """
    if num_layers < 1:
        raise GraphError(f"a linear graph needs at least 1 layer, got {num_layers}")
    big_n = num_layers
    n = 2 * big_n + 1
    args: list[tuple[int, ...]] = [()]
    for v in range(1, n):
        if v <= big_n:
            args.append((v - 1,))
        else:
            args.append((n - 1 - v, v - 1))  # forward input first, then the previous gradient
    return Graph(
        args=tuple(args),
        compute_cost=(1,) * n,
        memory_cost=(1,) * n,
        forward_to_backward={i: n - 1 - i for i in range(big_n)},
        loss=big_n,
        name=f"linear{num_layers}",
    )


def random_forward_dag(
    num_layers: int,
    *,
    width: int = 3,
    edge_prob: float = 0.3,
    seed: int | np.random.Generator | None = 0,
) -> list[list[int]]:
    """A seeded random layered forward DAG, as ordered argument lists.

    Layers ``0..num_layers-1`` are grouped into levels of at most ``width`` nodes; every node
    after the first consumes at least one node of the previous level and, with probability
    ``edge_prob``, each other earlier node of the two previous levels. Node 0 is the only source
    and the last node consumes every otherwise unconsumed node, so the DAG is connected with a
    single output.
    """
    if num_layers < 1:
        raise GraphError(f"a DAG needs at least 1 layer, got {num_layers}")
    rng = np.random.default_rng(seed)
    levels: list[list[int]] = [[0]]
    node = 1
    while node < num_layers:
        size = int(rng.integers(1, width + 1))
        level = list(range(node, min(num_layers, node + size)))
        levels.append(level)
        node += len(level)
    args: list[list[int]] = [[]]
    for li in range(1, len(levels)):
        prev = levels[li - 1]
        older = levels[li - 2] if li >= 2 else []
        for _ in levels[li]:
            deps = [int(rng.choice(prev))]
            for u in prev + older:
                if u not in deps and rng.random() < edge_prob:
                    deps.append(u)
            args.append(sorted(deps))
    consumed = {u for deps in args for u in deps}
    last = num_layers - 1
    for u in range(last):
        if u not in consumed and u not in args[last]:
            args[last].append(u)
    args[last].sort()
    return args


def random_layered_graph(
    num_layers: int,
    *,
    width: int = 3,
    edge_prob: float = 0.3,
    max_compute: int = 10,
    max_memory: int = 10,
    seed: int | np.random.Generator | None = 0,
) -> Graph:
    """A seeded random training graph built on :func:`random_forward_dag`.

    Forward compute and memory costs are integers drawn uniformly from ``1..max_*``; gradient
    nodes cost twice the forward compute, as the FLOP model does.
    """
    rng = np.random.default_rng(seed)
    fargs = random_forward_dag(num_layers, width=width, edge_prob=edge_prob, seed=rng)
    compute = [int(x) for x in rng.integers(1, max_compute + 1, size=num_layers)]
    memory = [int(x) for x in rng.integers(1, max_memory + 1, size=num_layers)]
    return training_graph(
        fargs,
        compute,
        memory,
        loss_compute=1,
        loss_memory=1,
        name=f"random_layered_{num_layers}",
    )
