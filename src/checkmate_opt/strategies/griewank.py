"""Griewank & Walther's binomial checkpointing mapped onto Checkmate schedules (spec §5.6).

The revolve schedule of the meta-chain (the sorted forward articulation points ``a_0 < ... <
a_{M-1}`` followed by their gradient nodes in reverse order) is turned into an S matrix: the
implied backward retention (§5.1 rule 1), ``S[t, t-1] = 1`` for every stage, and each revolve
snapshot held over its live range. R follows from ``solve_r_opt``. As in the original code
(spec A17), state 0 is taken to be the graph input and never checkpointed, so node ``a_0`` is
recomputed rather than stored.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from checkmate_opt.graph import Graph
from checkmate_opt.results import SolveResult
from checkmate_opt.schedule import Schedule
from checkmate_opt.strategies.chen import pick_result
from checkmate_opt.strategies.revolve import revolve_live_ranges
from checkmate_opt.strategies.sbuilder import implied_backward_s

__all__ = ["griewank", "griewank_results", "griewank_s", "meta_chain"]


def meta_chain(graph: Graph) -> list[int]:
    """Real node of each meta-chain index: the articulation points, then their gradients.

    Graphs without gradient nodes give only the forward half.
    """
    aps = list(graph.articulation_points)
    f2b = graph.forward_to_backward
    back = [f2b[a] for a in reversed(aps) if a in f2b]
    return aps + back if len(back) == len(aps) else aps


def griewank_s(graph: Graph, slots: int) -> np.ndarray:
    """The S matrix of the revolve schedule with ``slots`` snapshot slots (spec §5.6).

    Parameters
    ----------
    graph
        The graph.
    slots
        Snapshot slots ``>= 1`` (one holds the input state); values above the meta-chain
        length behave like the meta-chain length.

    Returns
    -------
    numpy.ndarray
        A strictly lower-triangular boolean ``n x n`` matrix.

    Raises
    ------
    ValueError
        If ``slots < 1``.
    """
    if slots < 1:
        raise ValueError(f"slots must be >= 1, got {slots}")
    n = graph.n
    meta = meta_chain(graph)
    M = len(graph.articulation_points)

    def real(x: int) -> int:
        return meta[x] if x < len(meta) else n

    S = implied_backward_s(graph)
    idx = np.arange(1, n)
    S[idx, idx - 1] = True
    ranges = revolve_live_ranges(M, min(slots, M)) if M else []
    for rng in ranges:
        if rng.state == 0:
            continue  # state 0 is the input, not a node (spec A17)
        S[real(rng.start) : real(rng.end + 1), real(rng.state)] = True
    # a non-monotone gradient numbering could map a range above the diagonal: such entries
    # cannot be honoured by the frontier-advancing schedule, so drop them
    return np.tril(S, -1)


def _result(graph: Graph, budget: int | None, slots: int, started: float) -> SolveResult:
    schedule = Schedule.from_s(graph, griewank_s(graph, slots))
    return SolveResult.from_schedule(
        graph,
        schedule,
        strategy="griewank",
        budget=budget,
        solve_time_s=time.perf_counter() - started,
        params={"slots": slots, "meta_chain_length": len(graph.articulation_points)},
    )


def griewank_results(
    graph: Graph, budget: int | None = None, *, deadline: float | None = None
) -> list[SolveResult]:
    """One simulated result per slot count ``1..M`` (``M`` = number of articulation points);
    past ``deadline`` (a ``time.perf_counter()`` value) the results so far."""
    out: list[SolveResult] = []
    for slots in range(1, max(len(graph.articulation_points), 1) + 1):
        if deadline is not None and time.perf_counter() > deadline:
            break
        out.append(_result(graph, budget, slots, time.perf_counter()))
    return out


def griewank(graph: Graph, budget: int | None = None, *, slots: int | None = None) -> SolveResult:
    """Griewank & Walther's ``revolve`` (log n) checkpointing on the articulation-point chain.

    Parameters
    ----------
    graph
        The graph; only chains (every forward node an articulation point) are what the method
        is meant for, but any graph gets a valid schedule on its articulation-point meta-chain.
    budget
        Activation-memory budget in bytes, used to choose ``slots`` when it is not given.
    slots
        Number of revolve snapshot slots: with it, that one schedule. Otherwise every slot count
        ``1..M`` is tried and the cheapest within ``budget`` is returned (else, or with no
        budget, the lowest-memory one; ``within_budget`` then says whether it fits).

    Returns
    -------
    SolveResult
        Strategy ``"griewank"``; the slot count in ``params["slots"]``.

    Raises
    ------
    ValueError
        If ``slots < 1``.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> r = griewank(linear_graph(4), slots=2)
    >>> r.report.compute_cost
    13
    """
    t0 = time.perf_counter()
    if slots is not None:
        return _result(graph, budget, int(slots), t0)
    results = griewank_results(graph, budget)
    best, fits = pick_result(results, budget)
    if budget is None:
        msg = "no budget: the lowest-memory slot count"
    elif fits:
        msg = f"cheapest of {len(results)} slot counts within the budget"
    else:
        msg = f"no slot count of {len(results)} fits; the lowest-memory one"
    return dataclasses.replace(
        best, budget=budget, solve_time_s=time.perf_counter() - t0, message=msg
    )
