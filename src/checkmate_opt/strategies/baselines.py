"""Every heuristic baseline at once, and the budget filter the experiments apply to them.

The experiments (budget sweep, max-batch baseline, MILP warm starts, spec §3.4, §7.1, §7.3)
run every baseline, sweep the hyper-parameters of greedy and Griewank, and keep whatever is
cheapest under each budget; these two functions are that protocol.
"""

from __future__ import annotations

from collections.abc import Iterable

from checkmate_opt.graph import Graph
from checkmate_opt.results import SolveResult
from checkmate_opt.strategies.checkpoint_all import (
    checkpoint_all,
    checkpoint_all_ap,
    checkpoint_last_node,
)
from checkmate_opt.strategies.chen import chen_sqrtn, greedy_grid_results
from checkmate_opt.strategies.griewank import griewank_results

__all__ = ["baseline_results", "cheapest_within", "is_chain"]


def is_chain(graph: Graph) -> bool:
    """Every forward node is an articulation point (Griewank's setting)."""
    return len(graph.articulation_points) == len(graph.forward_nodes)


def baseline_results(
    graph: Graph,
    *,
    greedy_grid: str = "sweep",
    include_griewank: bool | None = None,
    deadline: float | None = None,
) -> list[SolveResult]:
    """Run every baseline on ``graph`` (no budget).

    Parameters
    ----------
    graph
        The graph.
    greedy_grid
        ``"sweep"`` (300 segment sizes, the budget-sweep protocol) or ``"max_batch"`` (60, the
        max-batch protocol), for both greedy variants. Each distinct greedy schedule is a
        separate result.
    include_griewank
        Add one Griewank result per slot count. ``None``: only on chains (every forward node an
        articulation point), as the paper's experiments do.
    deadline
        A ``time.perf_counter()`` value: past it, the greedy grid and Griewank points not yet
        simulated are skipped (the five fixed baselines always run). ``optimal`` uses it so
        that its warm start cannot eat its time limit.

    Returns
    -------
    list[SolveResult]
        checkpoint-all, checkpoint-all-AP, checkpoint-last-node, √n (AP and linearized), the
        greedy grid results (AP then linearized) and the Griewank results, each simulated.

    Raises
    ------
    ValueError
        For an unknown ``greedy_grid``.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> rs = baseline_results(linear_graph(4))
    >>> sorted({r.strategy for r in rs})[:3]
    ['checkpoint_all', 'checkpoint_all_ap', 'checkpoint_last_node']
    """
    sqrtn_lin = chen_sqrtn(graph, use_articulation_points=False)
    assert sqrtn_lin.report is not None
    results = [
        checkpoint_all(graph),
        checkpoint_all_ap(graph),
        checkpoint_last_node(graph),
        chen_sqrtn(graph, use_articulation_points=True),
        sqrtn_lin,
    ]
    for ap in (True, False):
        results += greedy_grid_results(
            graph,
            use_articulation_points=ap,
            grid=greedy_grid,
            sqrtn_activation=sqrtn_lin.report.peak_activation_memory,
            deadline=deadline,
        )
    if include_griewank is None:
        include_griewank = is_chain(graph)
    if include_griewank:
        results += griewank_results(graph, deadline=deadline)
    return results


def cheapest_within(results: Iterable[SolveResult], budget: int) -> SolveResult | None:
    """The cheapest result whose simulated peak activation memory fits ``budget``.

    Ties on compute cost go to the lower peak memory, then to the earlier result. Results
    without a schedule are ignored.

    Returns
    -------
    SolveResult or None
        ``None`` when nothing fits.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> rs = baseline_results(linear_graph(4))
    >>> cheapest_within(rs, 6).strategy, cheapest_within(rs, 2)
    ('checkpoint_all', None)
    """
    best: SolveResult | None = None
    best_key: tuple[int, int] | None = None
    for r in results:
        if r.report is None or r.report.peak_activation_memory > budget:
            continue
        key = (r.report.compute_cost, r.report.peak_activation_memory)
        if best_key is None or key < best_key:
            best, best_key = r, key
    return best
