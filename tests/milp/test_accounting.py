"""The MILP's own memory accounting versus the simulator, and the brute-force reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given

from checkmate_opt.generators import linear_graph
from checkmate_opt.milp.accounting import clean_schedule, milp_memory, milp_peak
from checkmate_opt.schedule import Schedule
from checkmate_opt.simulate import simulate
from checkmate_opt.strategies.baselines import baseline_results
from checkmate_opt.testing import brute_force_optimum
from hypothesis_graphs import training_graphs


@given(training_graphs(max_layers=5))
def test_milp_memory_bounds_simulator_and_agrees_after_cleaning(g) -> None:  # type: ignore[no-untyped-def]
    for res in baseline_results(g, greedy_grid="max_batch"):
        assert res.schedule is not None
        assert res.report is not None
        assert milp_peak(g, res.schedule) >= res.report.peak_activation_memory
        clean = clean_schedule(g, res.schedule)
        rep = simulate(g, clean)
        assert rep.compute_cost <= res.report.compute_cost
        assert rep.peak_activation_memory <= res.report.peak_activation_memory
        assert milp_peak(g, clean) == rep.peak_activation_memory


def test_checkpoint_all_memory_by_hand() -> None:
    # linear_graph(1): 0 -> 1 (loss) -> 2 (grad, consumes 0 and 1). Checkpoint everything.
    g = linear_graph(1)
    S = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0]], dtype=bool)
    sched = Schedule.from_s(g, S)
    u = milp_memory(g, sched.R, sched.S)
    # stage 0 computes node 0 (1 B); stage 1 holds 0 and computes 1; stage 2 holds 0, 1 and
    # computes 2: 3 B (nothing is freed before the last node)
    assert u[0, 0] == 1
    assert u[1, 1] == 2
    assert u[2, 2] == 3
    assert milp_peak(g, sched) == 3


def test_unused_checkpoint_counts_until_cleaned() -> None:
    g = linear_graph(2)  # n = 5
    n = g.n
    S = np.zeros((n, n), dtype=bool)
    S[1:, 0] = True  # keep node 0 all along (used again only by its gradient, node 4)
    sched = Schedule.from_s(g, S)
    assert milp_peak(g, sched) >= simulate(g, sched).peak_activation_memory
    clean = clean_schedule(g, sched)
    assert milp_peak(g, clean) == simulate(g, clean).peak_activation_memory


def test_brute_force_by_hand_on_linear2() -> None:
    g = linear_graph(2)  # 0 -> 1 -> loss 2 -> 3 -> 4, grads consume forward values
    assert brute_force_optimum(g, 1) is None  # the gradient needs two inputs and itself
    assert brute_force_optimum(g, 100) == g.total_compute  # checkpoint all: no recompute
    # budget 3: stage 3 computes node 3 from 1 and 2 (3 B), so node 0 cannot be held through
    # it; stage 4 holds 3 and recomputes 0 (+1) to compute 4 (3 B). Budget 4 holds all.
    assert brute_force_optimum(g, 3) == 6
    assert brute_force_optimum(g, 4) == 5
