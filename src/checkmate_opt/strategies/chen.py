"""Chen et al. (2016) √n and greedy checkpointing (spec §5.4, §5.5).

Both choose forward checkpoints and hand them to the shared §5.1 builder. Two deliberate
departures from the original code (spec A8, A10; see ``docs/baselines.md``): the √n candidates
are enumerated in sorted order (not CPython set order) and greedy walks the forward nodes in
node-id order (a true topological order, not the undirected-DFS order).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from typing import Literal

from checkmate_opt.graph import Graph
from checkmate_opt.results import SolveResult
from checkmate_opt.strategies.checkpoint_all import fixed_checkpoint_result

__all__ = [
    "GREEDY_GRIDS",
    "chen_greedy",
    "chen_greedy_linearized",
    "chen_sqrtn",
    "chen_sqrtn_linearized",
    "greedy_checkpoints",
    "greedy_grid_deltas",
    "greedy_grid_results",
    "pick_result",
    "sqrtn_checkpoints",
]

#: greedy hyper-parameter grids of spec §5.5: (first delta, step, count), deltas in 1/100
GREEDY_GRIDS: dict[str, tuple[int, int, int]] = {
    "sweep": (-100, 1, 300),  # -1.00, -0.99, ..., +1.99 (budget sweep)
    "max_batch": (-100, 5, 60),  # -1.00, -0.95, ..., +1.95 (max-batch baseline)
}


def _candidates(graph: Graph, use_articulation_points: bool) -> tuple[int, ...]:
    return graph.articulation_points if use_articulation_points else graph.forward_nodes


def sqrtn_checkpoints(graph: Graph, *, use_articulation_points: bool = True) -> list[int]:
    """Every k-th candidate (1-based positions k, 2k, ...) with ``k = floor(sqrt(|C|))``.

    Candidates are the articulation points or all forward nodes, in sorted order. An empty
    candidate set (which made the original code divide by zero) gives no checkpoints.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> sqrtn_checkpoints(linear_graph(9))
    [2, 5, 8]
    """
    cands = sorted(_candidates(graph, use_articulation_points))
    k = math.isqrt(len(cands))
    if k == 0:
        return []
    return cands[k - 1 :: k]


def chen_sqrtn(
    graph: Graph, budget: int | None = None, *, use_articulation_points: bool = True
) -> SolveResult:
    """Chen et al.'s √n checkpointing (spec §5.4).

    Parameters
    ----------
    graph
        The graph.
    budget
        Activation-memory budget in bytes; only recorded (√n has no memory knob).
    use_articulation_points
        Choose among the articulation points (``True``, "AP √n") or among all forward nodes
        (``False``, the "linearized" / "generalized" variant).

    Returns
    -------
    SolveResult
        Strategy ``"chen_sqrtn"`` or ``"chen_sqrtn_linearized"``; ``params["checkpoints"]``.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> chen_sqrtn(linear_graph(4)).params["checkpoints"]
    [1, 3]
    """
    t0 = time.perf_counter()
    name = "chen_sqrtn" if use_articulation_points else "chen_sqrtn_linearized"
    ckpts = sqrtn_checkpoints(graph, use_articulation_points=use_articulation_points)
    return fixed_checkpoint_result(graph, budget, ckpts, strategy=name, started=t0)


def chen_sqrtn_linearized(graph: Graph, budget: int | None = None) -> SolveResult:
    """√n over all forward nodes (``chen_sqrtn(..., use_articulation_points=False)``)."""
    return chen_sqrtn(graph, budget, use_articulation_points=False)


def greedy_checkpoints(
    graph: Graph, segment_bytes: float, *, use_articulation_points: bool = True
) -> list[int]:
    """Chen's greedy rule: close a segment at the first candidate where it exceeds the size.

    Walk the forward nodes in id order accumulating their output bytes; when the running total
    is strictly greater than ``segment_bytes`` at a candidate node, checkpoint it and reset.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> greedy_checkpoints(linear_graph(6), 2)
    [2, 5]
    """
    if not segment_bytes >= 0:  # also rejects NaN
        raise ValueError(f"segment_bytes must be >= 0, got {segment_bytes!r}")
    cands = set(_candidates(graph, use_articulation_points))
    mem = graph.memory_cost
    out: list[int] = []
    acc = 0
    for v in graph.forward_nodes:
        acc += mem[v]
        if v in cands and acc > segment_bytes:
            out.append(v)
            acc = 0
    return out


def greedy_grid_deltas(grid: str) -> list[float]:
    """The deltas of a named grid (``"sweep"``: 300 values, ``"max_batch"``: 60 values).

    Raises
    ------
    ValueError
        For an unknown grid name.
    """
    try:
        first, step, count = GREEDY_GRIDS[grid]
    except KeyError:
        raise ValueError(
            f"unknown greedy grid {grid!r}; choose one of: {', '.join(GREEDY_GRIDS)}"
        ) from None
    return [(first + step * j) / 100 for j in range(count)]


def greedy_grid_results(
    graph: Graph,
    budget: int | None = None,
    *,
    use_articulation_points: bool = True,
    grid: str = "sweep",
    sqrtn_activation: int | None = None,
    deadline: float | None = None,
) -> list[SolveResult]:
    """One simulated result per distinct checkpoint set of the greedy grid.

    The segment sizes are ``A * (1 + delta)`` with ``A`` the peak activation memory of the
    linearized √n schedule. Grid values giving the same checkpoint set are simulated once; the
    result keeps the first such value in ``params`` (``segment_bytes``, ``delta``) and the
    number of grid values it stands for (``grid_values``). ``sqrtn_activation`` (``A``) may be
    passed when already known. Past ``deadline`` (a ``time.perf_counter()`` value) no further
    grid point is simulated: the results so far are returned.

    Returns
    -------
    list[SolveResult]
        In grid order of first occurrence.
    """
    deltas = greedy_grid_deltas(grid)
    if sqrtn_activation is None:
        base = chen_sqrtn(graph, None, use_articulation_points=False).report
        assert base is not None
        sqrtn_activation = base.peak_activation_memory
    A = sqrtn_activation
    name = "chen_greedy" if use_articulation_points else "chen_greedy_linearized"
    seen: dict[tuple[int, ...], int] = {}
    found: list[tuple[tuple[int, ...], float, float, int]] = []
    for delta in deltas:
        seg = A * round(100 + 100 * delta) / 100  # exact for integer A: no float drift at ties
        key = tuple(greedy_checkpoints(graph, seg, use_articulation_points=use_articulation_points))
        if key in seen:
            k, d0, s0, cnt = found[seen[key]]
            found[seen[key]] = (k, d0, s0, cnt + 1)
        else:
            seen[key] = len(found)
            found.append((key, delta, seg, 1))
    results = []
    for key, delta, seg, cnt in found:
        t1 = time.perf_counter()
        if deadline is not None and t1 > deadline:
            break
        results.append(
            fixed_checkpoint_result(
                graph,
                budget,
                key,
                strategy=name,
                started=t1,
                params={
                    "segment_bytes": seg,
                    "delta": delta,
                    "grid": grid,
                    "grid_values": cnt,
                    "sqrtn_activation": A,
                },
            )
        )
    return results


def pick_result(results: Sequence[SolveResult], budget: int | None) -> tuple[SolveResult, bool]:
    """The cheapest result within ``budget``, else the lowest-memory one.

    Ties on cost go to the lower peak memory, then to the earlier result; with ``budget=None``
    the lowest-memory result is chosen (ties to the cheaper). Returns the result and whether it
    was chosen as fitting the budget.
    """
    if not results:
        raise ValueError("no results to choose from")

    def mem(r: SolveResult) -> int:
        assert r.report is not None
        return r.report.peak_activation_memory

    def cost(r: SolveResult) -> int:
        assert r.report is not None
        return r.report.compute_cost

    if budget is not None:
        fits = [r for r in results if mem(r) <= budget]
        if fits:
            return min(fits, key=lambda r: (cost(r), mem(r))), True
    return min(results, key=lambda r: (mem(r), cost(r))), False


def chen_greedy(
    graph: Graph,
    budget: int | None = None,
    *,
    segment_bytes: float | None = None,
    use_articulation_points: bool = True,
    grid: Literal["sweep", "max_batch"] = "sweep",
) -> SolveResult:
    """Chen et al.'s greedy segment checkpointing (spec §5.5).

    Parameters
    ----------
    graph
        The graph.
    budget
        Activation-memory budget in bytes. Used only when ``segment_bytes`` is not given, to
        choose among the grid's schedules.
    segment_bytes
        The segment size ``B`` (bytes): with it, exactly that one schedule.
    use_articulation_points
        Checkpoint only articulation points (``True``) or any forward node (``False``).
    grid
        Without ``segment_bytes``: ``"sweep"`` (300 values ``A*(1+delta)``,
        ``delta = -1.00..+1.99``) or ``"max_batch"`` (60 values, step 0.05), ``A`` = peak
        activation memory of the linearized √n schedule.

    Returns
    -------
    SolveResult
        The cheapest grid schedule whose simulated peak activation memory fits ``budget``; if
        none fits, or ``budget`` is ``None``, the lowest-memory one (``within_budget`` then
        says whether it fits). The chosen ``segment_bytes`` and ``delta`` are in ``params``.

    Raises
    ------
    ValueError
        For a negative ``segment_bytes`` or an unknown ``grid``.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> chen_greedy(linear_graph(4), segment_bytes=100).params["checkpoints"]
    []
    """
    t0 = time.perf_counter()
    name = "chen_greedy" if use_articulation_points else "chen_greedy_linearized"
    if segment_bytes is not None:
        ckpts = greedy_checkpoints(
            graph, segment_bytes, use_articulation_points=use_articulation_points
        )
        return fixed_checkpoint_result(
            graph,
            budget,
            ckpts,
            strategy=name,
            started=t0,
            params={"segment_bytes": segment_bytes},
        )
    results = greedy_grid_results(
        graph, budget, use_articulation_points=use_articulation_points, grid=grid
    )
    best, fits = pick_result(results, budget)
    if budget is None:
        msg = "no budget: the lowest-memory grid schedule"
    elif fits:
        msg = f"cheapest of {len(results)} distinct grid schedules within the budget"
    else:
        msg = f"none of {len(results)} distinct grid schedules fits; the lowest-memory one"
    return dataclasses.replace(
        best, budget=budget, solve_time_s=time.perf_counter() - t0, message=msg
    )


def chen_greedy_linearized(
    graph: Graph,
    budget: int | None = None,
    *,
    segment_bytes: float | None = None,
    grid: Literal["sweep", "max_batch"] = "sweep",
) -> SolveResult:
    """Greedy over all forward nodes (``chen_greedy(..., use_articulation_points=False)``)."""
    return chen_greedy(
        graph, budget, segment_bytes=segment_bytes, use_articulation_points=False, grid=grid
    )
