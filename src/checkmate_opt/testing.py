"""Helpers for tests and benchmarks (imported only by ``tests/`` and ``benchmarks/``)."""

from __future__ import annotations

from checkmate_opt.graph import Graph
from checkmate_opt.results import SolveResult, Termination
from checkmate_opt.simulate import simulate

__all__ = ["assert_valid_schedule"]


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
