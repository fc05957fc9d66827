"""The optimal strategy: brute force, baselines, infeasibility, time limits, both backends."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkmate_opt.backends import BACKENDS
from checkmate_opt.generators import linear_graph, random_layered_graph
from checkmate_opt.milp.accounting import milp_peak
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import Termination
from checkmate_opt.strategies import solve
from checkmate_opt.strategies.baselines import baseline_results
from checkmate_opt.strategies.optimal import optimal, warm_start_schedule
from checkmate_opt.testing import assert_valid_schedule, brute_force_optimum
from hypothesis_graphs import training_graphs

EXACT = SolveOptions(threads=1, time_limit_s=60, mip_rel_gap=0)
SOLVERS = [pytest.param(name, marks=getattr(pytest.mark, name)) for name in BACKENDS]


def _need(solver: str) -> None:
    if not BACKENDS[solver].is_available():
        pytest.skip(f"{solver} not installed ({BACKENDS[solver].install_hint})")


@pytest.mark.parametrize("solver", SOLVERS)
@settings(max_examples=12)
@given(g=training_graphs(max_layers=3), frac=st.floats(0.0, 1.0))
def test_milp_optimum_equals_brute_force(solver: str, g, frac: float) -> None:  # type: ignore[no-untyped-def]
    _need(solver)
    # from one byte below the minimum to "everything fits", denser at the tight end
    low, high = g.min_feasible_memory(), g.total_memory
    budget = max(1, low - 1 + round(frac**2 * (high - low + 1)))
    truth = brute_force_optimum(g, budget)
    res = optimal(g, budget, solver=solver, options=EXACT, eps_noise=0, progress=None)
    assert_valid_schedule(g, res, budget=budget, require_schedule=truth is not None)
    if truth is None:
        assert res.termination is Termination.INFEASIBLE
        assert res.schedule is None
        return
    assert res.termination is Termination.COMPLETED
    assert res.proven_optimal
    assert res.params["milp_objective"] == pytest.approx(truth)
    assert res.objective_bound == pytest.approx(truth)
    # R is recomputed from S: never costlier than the solver's, and the simulator is the referee
    assert res.compute_cost <= truth
    assert res.within_budget


@settings(max_examples=10)
@given(g=training_graphs(max_layers=5))
def test_milp_beats_every_baseline_at_its_own_budget(g) -> None:  # type: ignore[no-untyped-def]
    seen: set[int] = set()
    for base in baseline_results(g, greedy_grid="max_batch"):
        assert base.report is not None
        budget = base.report.peak_activation_memory
        if budget in seen:
            continue
        seen.add(budget)
        best_base = min(
            r.report.compute_cost
            for r in baseline_results(g, greedy_grid="max_batch")
            if r.report is not None and r.report.peak_activation_memory <= budget
        )
        res = optimal(g, budget, options=EXACT, eps_noise=0, progress=None)
        assert_valid_schedule(g, res, budget=budget)
        assert res.termination is Termination.COMPLETED
        assert res.within_budget
        assert res.compute_cost <= best_base


def test_budget_below_minimum_is_infeasible() -> None:
    g = linear_graph(4)
    budget = g.min_feasible_memory() - 1  # a gradient node needs its two inputs and itself
    res = optimal(g, budget, options=EXACT, progress=None)
    assert res.termination is Termination.INFEASIBLE
    assert res.schedule is None
    assert not res.within_budget
    assert res.objective_bound is None
    assert_valid_schedule(g, res, require_schedule=False)


def test_time_limit_on_hard_instance_returns_incumbent() -> None:
    g = linear_graph(16)  # 33 nodes at 9 units: several seconds to prove on one thread
    res = optimal(g, 9, options=SolveOptions(threads=1, time_limit_s=1.0), progress=None)
    assert res.termination is Termination.TIME_LIMIT
    assert res.schedule is not None
    assert res.within_budget
    assert_valid_schedule(g, res, budget=9)
    assert not res.proven_optimal
    assert res.objective_bound is not None
    assert res.objective_bound <= res.compute_cost
    assert res.params["warm_start"] is not None


def test_warm_start_fits_by_milp_accounting() -> None:
    g = random_layered_graph(8, seed=3)
    low, high = g.min_feasible_memory(), g.total_memory
    budget = low + (high - low) // 2
    found = warm_start_schedule(g, budget)
    assert found is not None
    assert milp_peak(g, found[0]) <= budget


def test_noise_keeps_bound_valid_and_result_exactly_simulated() -> None:
    g = random_layered_graph(6, seed=2)
    low, high = g.min_feasible_memory(), g.total_memory
    budget = low + (high - low) // 3
    exact = optimal(g, budget, options=EXACT, eps_noise=0, progress=None)
    noisy = optimal(g, budget, options=EXACT, eps_noise=0.05, seed=7, progress=None)
    assert_valid_schedule(g, noisy, budget=budget)
    assert noisy.objective_bound is not None
    assert exact.compute_cost is not None
    assert noisy.objective_bound <= exact.compute_cost  # conservative real-unit bound
    assert "eps=0.05" in noisy.message


def test_progress_reports_real_units() -> None:
    g = linear_graph(6)
    events = []
    res = optimal(g, 5, options=EXACT, eps_noise=0, progress=events.append)
    assert events
    last = events[-1]
    assert last.incumbent == pytest.approx(res.params["milp_objective"])
    assert last.bound == pytest.approx(res.objective_bound)


def test_registered_in_solve_with_solver_keyword() -> None:
    g = linear_graph(3)
    res = solve(g, 4, strategy="optimal", solver="highs", options=EXACT, progress=None)
    assert res.strategy == "optimal"
    assert res.solver is not None
    assert res.solver.name == "highs"
    with pytest.raises(ValueError, match="budget"):
        optimal(g, None)


@pytest.mark.gurobi
@pytest.mark.parametrize("layers", [3, 6, 8])
def test_gurobi_and_highs_agree(layers: int) -> None:
    _need("gurobi")
    g = linear_graph(layers)
    for budget in (3, 4, layers):
        h = optimal(g, budget, solver="highs", options=EXACT, eps_noise=0, progress=None)
        gu = optimal(g, budget, solver="gurobi", options=EXACT, eps_noise=0, progress=None)
        assert h.termination is gu.termination is Termination.COMPLETED
        assert h.params["milp_objective"] == pytest.approx(gu.params["milp_objective"])
        assert gu.within_budget
        assert_valid_schedule(g, gu, budget=budget)


@pytest.mark.parametrize("tighten", [False, True])
@pytest.mark.parametrize("solver", SOLVERS)
def test_brute_force_on_every_budget_of_small_graphs(solver: str, tighten: bool) -> None:
    _need(solver)
    for g in (linear_graph(3), random_layered_graph(3, seed=5)):
        for budget in range(g.min_feasible_memory() - 1, g.total_memory + 1):
            truth = brute_force_optimum(g, budget)
            res = optimal(
                g,
                budget,
                solver=solver,
                options=EXACT,
                eps_noise=0,
                tighten=tighten,
                progress=None,
            )
            if truth is None:
                assert res.termination is Termination.INFEASIBLE
            else:
                assert res.params["milp_objective"] == pytest.approx(truth), budget
                assert res.within_budget
                assert res.compute_cost <= truth


@pytest.mark.parametrize("budget", [3, 4, 6])
def test_variants_are_nested_relaxations(budget: int) -> None:
    """cover_last relaxes cover_all, which relaxes the frontier-advancing (full) schedule."""
    from checkmate_opt.strategies.lp_rounding import lp_bound

    g = linear_graph(3)
    lps = [lp_bound(g, budget, variant=v, options=EXACT).objective_bound for v in VARIANTS]
    assert lps[2] <= lps[1] <= lps[0]
    full, cover = (
        optimal(g, budget, variant=v, options=EXACT, eps_noise=0, progress=None)
        for v in ("full", "cover_all")
    )
    assert cover.params["milp_objective"] <= full.params["milp_objective"] + 1e-6
    assert_valid_schedule(g, cover, budget=budget)
    assert cover.within_budget


VARIANTS = ("full", "cover_all", "cover_last")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vgg16_b256_train.json", "vggunet_b32_train.json"])
def test_shared_graph_beats_baselines(shared_graphs, name: str) -> None:  # type: ignore[no-untyped-def]
    from checkmate_opt.io import load_graph
    from checkmate_opt.strategies.baselines import cheapest_within
    from checkmate_opt.strategies.checkpoint_all import checkpoint_all

    g = load_graph(shared_graphs / name)
    budget = int(0.8 * checkpoint_all(g).report.peak_activation_memory)  # type: ignore[union-attr]
    res = optimal(g, budget, options=SolveOptions(threads=1, time_limit_s=120), progress=None)
    assert_valid_schedule(g, res, budget=budget)
    assert res.within_budget
    assert res.objective_bound is not None
    assert res.objective_bound <= res.compute_cost
    best = cheapest_within(baseline_results(g), budget)
    assert best is not None
    assert res.compute_cost <= best.compute_cost
