"""Helpers for tests and benchmarks (imported only by ``tests/`` and ``benchmarks/``)."""

from __future__ import annotations

from checkmate_opt.graph import Graph
from checkmate_opt.results import SolveResult, Termination
from checkmate_opt.simulate import simulate

__all__ = ["assert_valid_schedule", "brute_force_optimum"]


def assert_valid_schedule(
    graph: Graph, result: SolveResult, *, budget: int | None = None, require_schedule: bool = True
) -> None:
    """Check a result with the simulator, the referee.

    Asserts that the schedule (if any) simulates cleanly, that the result's report is exactly what
    the simulator measures, and that a result claiming to be within ``budget`` really is.
    """
    if result.schedule is None:
        assert not require_schedule, f"{result.strategy}: no schedule ({result.termination})"
        assert result.report is None
        return
    report = simulate(graph, result.schedule)  # raises ScheduleError on an invalid schedule
    assert result.report is not None, f"{result.strategy}: schedule without a report"
    assert result.report.compute_cost == report.compute_cost
    assert result.report.peak_activation_memory == report.peak_activation_memory
    assert report.compute_cost >= graph.total_compute or graph.total_compute == 0
    limit = result.budget if budget is None else budget
    if limit is not None and result.within_budget:
        assert report.peak_activation_memory <= limit, (
            f"{result.strategy}: reported within budget {limit} but peaks at "
            f"{report.peak_activation_memory}"
        )
    if result.termination is Termination.INFEASIBLE:
        raise AssertionError(f"{result.strategy}: infeasible result holds a schedule")


def brute_force_optimum(graph: Graph, budget: int, *, max_nodes: int = 9) -> int | None:
    """Cheapest compute cost of any MILP-feasible schedule, by exhaustive search (tiny graphs).

    Ground truth for the MILP (spec §3.3, FULL_SCHEDULE) under the MILP's **own** memory
    accounting (:mod:`checkmate_opt.milp.accounting`: unused checkpoints and unconsumed values
    stay counted; FREE as the hazard rows force it), so the claim "MILP optimum == brute force"
    is exact. A dynamic programme over stages: the state is the checkpoint set entering stage
    ``t``; each stage enumerates every dependency-closed compute set containing ``t`` and
    every checkpoint set for stage ``t + 1`` drawn from what is in memory.

    Returns
    -------
    int or None
        The optimum, or ``None`` when no schedule fits ``budget``.

    Raises
    ------
    ValueError
        When the graph has more than ``max_nodes`` nodes (the search is exponential).
    """
    n = graph.n
    if n > max_nodes:
        raise ValueError(f"brute force is for tiny graphs: n={n} > max_nodes={max_nodes}")
    mem = graph.memory_cost
    cost = graph.compute_cost
    args = graph.args
    succ = graph.successors
    in_edges: list[list[int]] = [[] for _ in range(n)]
    for u, v in graph.edges:
        in_edges[v].append(u)

    def submasks(mask: int):  # type: ignore[no-untyped-def]
        sub = mask
        while True:
            yield sub
            if sub == 0:
                return
            sub = (sub - 1) & mask

    def stage_peak(t: int, s_in: int, r: int, s_out: int) -> int:
        u = (mem[0] if r & 1 else 0) + sum(mem[i] for i in range(n) if s_in >> i & 1)
        peak = u
        for k in range(t):
            freed = 0
            if r >> k & 1:
                for i in in_edges[k]:
                    if t < n - 1 and s_out >> i & 1:
                        continue
                    if any(j > k and r >> j & 1 for j in succ[i]):
                        continue
                    freed += mem[i]
            u = u - freed + (mem[k + 1] if r >> (k + 1) & 1 else 0)
            peak = max(peak, u)
        return peak

    best: dict[int, int] = {0: 0}
    for t in range(n):
        nxt: dict[int, int] = {}
        below = (1 << t) - 1
        for s_in, so_far in best.items():
            for extra in submasks(below):
                r = extra | (1 << t)
                closed = all(
                    (r >> w & 1) or (s_in >> w & 1)
                    for v in range(t + 1)
                    if r >> v & 1
                    for w in args[v]
                )
                if not closed:
                    continue
                c = so_far + sum(cost[i] for i in range(t + 1) if r >> i & 1)
                pool = (s_in | r) & ((1 << (t + 1)) - 1) if t < n - 1 else 0
                for s_out in submasks(pool):
                    if stage_peak(t, s_in, r, s_out) > budget:
                        continue
                    if c < nxt.get(s_out, c + 1):
                        nxt[s_out] = c
        best = nxt
        if not best:
            return None
    return min(best.values())
