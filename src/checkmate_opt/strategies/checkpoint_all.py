"""Checkpoint all, checkpoint all articulation points, checkpoint last node (spec §5.2-5.3)."""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

from checkmate_opt.graph import Graph
from checkmate_opt.results import SolveResult
from checkmate_opt.schedule import Schedule
from checkmate_opt.strategies.sbuilder import fixed_checkpoint_s

__all__ = [
    "checkpoint_all",
    "checkpoint_all_ap",
    "checkpoint_last_node",
    "fixed_checkpoint_result",
]


def fixed_checkpoint_result(
    graph: Graph,
    budget: int | None,
    checkpoints: Iterable[int],
    *,
    strategy: str,
    started: float | None = None,
    params: dict[str, object] | None = None,
) -> SolveResult:
    """Simulated result of the §5.1 schedule of a fixed checkpoint set.

    Parameters
    ----------
    graph
        The graph.
    budget
        Activation-memory budget in bytes (only recorded: the schedule does not depend on it).
    checkpoints
        Forward nodes to checkpoint.
    strategy
        Name recorded in the result.
    started
        ``time.perf_counter()`` at the start of the strategy (default: now).
    params
        Extra parameters to record; the sorted checkpoint list is added as ``"checkpoints"``.

    Returns
    -------
    SolveResult
        With termination ``COMPLETED``.

    Raises
    ------
    GraphError
        If a checkpoint is not a forward node.
    """
    t0 = time.perf_counter() if started is None else started
    ckpts = sorted({int(c) for c in checkpoints})
    schedule = Schedule.from_s(graph, fixed_checkpoint_s(graph, ckpts))
    return SolveResult.from_schedule(
        graph,
        schedule,
        strategy=strategy,
        budget=budget,
        solve_time_s=time.perf_counter() - t0,
        params={**(params or {}), "checkpoints": ckpts},
    )


def checkpoint_all(graph: Graph, budget: int | None = None) -> SolveResult:
    """Checkpoint every forward node: no recomputation (the "ideal" reference point).

    Parameters
    ----------
    graph
        The graph.
    budget
        Activation-memory budget in bytes; only recorded (``within_budget`` compares it).

    Returns
    -------
    SolveResult
        Compute cost equal to ``graph.total_compute``.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> r = checkpoint_all(linear_graph(4))
    >>> r.report.compute_cost, r.report.peak_activation_memory
    (9, 6)
    """
    t0 = time.perf_counter()
    return fixed_checkpoint_result(
        graph, budget, graph.forward_nodes, strategy="checkpoint_all", started=t0
    )


def checkpoint_all_ap(graph: Graph, budget: int | None = None) -> SolveResult:
    """Checkpoint every forward articulation point (spec §1.1, §5.2).

    Identical to :func:`checkpoint_all` on chains; on branching graphs the nodes between two
    articulation points are recomputed once, during their segment's backward pass.

    Parameters
    ----------
    graph
        The graph.
    budget
        Activation-memory budget in bytes; only recorded.

    Returns
    -------
    SolveResult
        The simulated schedule.
    """
    t0 = time.perf_counter()
    return fixed_checkpoint_result(
        graph, budget, graph.articulation_points, strategy="checkpoint_all_ap", started=t0
    )


def checkpoint_last_node(graph: Graph, budget: int | None = None) -> SolveResult:
    """Keep only the previous stage's node: ``S[t, t-1] = 1`` and nothing else (spec §5.3).

    Minimal memory, quadratic recomputation.

    Parameters
    ----------
    graph
        The graph.
    budget
        Activation-memory budget in bytes; only recorded.

    Returns
    -------
    SolveResult
        The simulated schedule.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> r = checkpoint_last_node(linear_graph(4))
    >>> r.report.compute_cost, r.report.peak_activation_memory
    (19, 3)
    """
    t0 = time.perf_counter()
    n = graph.n
    S = np.zeros((n, n), dtype=bool)
    idx = np.arange(1, n)
    S[idx, idx - 1] = True
    schedule = Schedule.from_s(graph, S)
    return SolveResult.from_schedule(
        graph,
        schedule,
        strategy="checkpoint_last_node",
        budget=budget,
        solve_time_s=time.perf_counter() - t0,
    )
