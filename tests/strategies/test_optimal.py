"""The optimal strategy: brute force, baselines, infeasibility, time limits, both backends."""

from __future__ import annotations

import numpy as np
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


@settings(max_examples=10, deadline=None)
@given(g=training_graphs(max_layers=3), frac=st.floats(0.0, 1.0))
def test_default_is_exact_never_costlier_than_true_optimum(g, frac: float) -> None:  # type: ignore[no-untyped-def]
    """With default options, "proven optimal" means optimal for the real costs (no noise)."""
    low, high = g.min_feasible_memory(), g.total_memory
    budget = int(low + frac * (high - low))
    want = brute_force_optimum(g, budget)
    res = optimal(g, budget, options=SolveOptions(threads=1), progress=None)
    assert res.params["eps_noise"] == 0
    if want is None:
        assert res.schedule is None
        return
    assert res.proven_optimal
    assert res.compute_cost == want


def _demo_case() -> tuple:  # type: ignore[type-arg]
    from checkmate_opt.budget import resolve_budget

    g = random_layered_graph(30, seed=0)  # checkmate-opt demo --layers 30 --fraction 0.7
    return g, resolve_budget("0.7x", g)


def test_never_worse_than_its_seeds_and_repeatable() -> None:
    """Issue: under a time limit ``optimal`` returned 827 or 608 where lp_rounding found 602."""
    from checkmate_opt.strategies.lp_rounding import lp_rounding

    g, budget = _demo_case()
    opts = SolveOptions(threads=1, time_limit_s=10)
    lp = lp_rounding(g, budget, options=opts)
    runs = [optimal(g, budget, options=opts, progress=None)]
    fitting = [
        r.compute_cost
        for r in baseline_results(g, greedy_grid="max_batch")
        if r.report is not None and r.report.peak_activation_memory <= budget
    ]
    for res in runs:
        assert res.within_budget
        assert_valid_schedule(g, res, budget=budget)
        assert res.params["warm_start"] is not None
        if lp.within_budget:
            assert res.compute_cost <= lp.compute_cost
        assert all(res.compute_cost <= c for c in fitting)
    small = random_layered_graph(10, seed=0)
    b2 = int(0.7 * small.total_memory)
    a, b = (optimal(small, b2, options=EXACT, progress=None) for _ in range(2))
    assert a.compute_cost == b.compute_cost
    assert np.array_equal(a.schedule.S, b.schedule.S)  # type: ignore[union-attr]


def test_time_limit_bounds_the_whole_call() -> None:
    """Issue: ``time_limit_s=3`` took 6.6 s (build, warm start and overrun not counted)."""
    import time

    g = linear_graph(16)  # 33 nodes at 9 units: several seconds to prove on one thread
    budget = 9
    limit = 2.0
    t = time.perf_counter()
    res = optimal(g, budget, options=SolveOptions(threads=1, time_limit_s=limit), progress=None)
    elapsed = time.perf_counter() - t
    assert elapsed <= limit + 1.5  # a correctness bound (the watchdog's grace), not a speed test
    assert res.solve_time_s <= elapsed
    if res.termination is Termination.TIME_LIMIT:
        assert res.schedule is None or res.within_budget


def test_progress_lines_agree_with_the_report() -> None:
    """Progress events are in real cost units: the last one is the reported cost and bound."""
    from checkmate_opt.budget import resolve_budget

    g = random_layered_graph(14, seed=4)
    budget = resolve_budget("0.7x", g)
    events = []
    res = optimal(g, budget, options=EXACT, progress=events.append)
    assert events
    last = events[-1]
    assert last.incumbent == pytest.approx(res.params["milp_objective"])
    assert last.bound == pytest.approx(res.objective_bound)
    assert res.compute_cost is not None
    assert last.bound <= res.compute_cost <= last.incumbent + 1e-6
    for e in events:  # never an incumbent below the bound
        if e.incumbent is not None and e.bound is not None:
            assert e.bound <= e.incumbent + 1e-6


def test_progress_event_type_is_exported() -> None:
    import checkmate_opt as cm
    from checkmate_opt.backends import Progress

    assert cm.Progress is Progress


def test_sweep_reuses_work_and_matches_single_solves(monkeypatch: pytest.MonkeyPatch) -> None:
    import checkmate_opt.strategies.baselines as baselines_mod
    from checkmate_opt.strategies.optimal import optimal_sweep

    calls = []
    real = baselines_mod.baseline_results

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    g = random_layered_graph(8, seed=5)
    low, high = g.min_feasible_memory(), g.total_memory
    budgets = [high, low - 1, low + (high - low) // 3, low + (high - low) // 2]
    monkeypatch.setattr(baselines_mod, "baseline_results", counted)
    results = optimal_sweep(g, budgets, options=EXACT, progress=None)
    assert len(calls) == 1  # the baselines are computed once for the whole sweep
    monkeypatch.undo()
    assert [r.budget for r in results] == budgets
    assert results[1].termination is Termination.INFEASIBLE
    for b, r in zip(budgets, results, strict=True):
        if r.schedule is None:
            continue
        single = optimal(g, b, options=EXACT, progress=None)
        assert r.compute_cost == single.compute_cost
        assert r.within_budget


def test_seeds_from_the_anytime_strategy_when_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Works with or without an ``anytime`` strategy; when there is one, it seeds the solve."""
    from checkmate_opt.budget import resolve_budget
    from checkmate_opt.strategies import STRATEGIES

    g = random_layered_graph(12, seed=2)
    budget = resolve_budget("0.8x", g)
    # no baseline seeds: anytime is asked only where none fits (or on big graphs)
    without = optimal(g, budget, options=EXACT, progress=None, lp_seed=False, baselines=[])
    # a stand-in that is a real strategy with the same calling convention (options=...)
    monkeypatch.setitem(STRATEGIES, "anytime", "lp_rounding:lp_rounding")
    seen = []
    real = optimal.__globals__["_seed_candidates"]

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real(*args, **kwargs)
        seen.extend(src for _, src in out)
        return out

    monkeypatch.setitem(optimal.__globals__, "_seed_candidates", spy)
    with_any = optimal(g, budget, options=EXACT, progress=None, lp_seed=False, baselines=[])
    assert "anytime" in seen
    assert with_any.compute_cost == without.compute_cost  # same proven optimum


def test_default_gap_proves_exact_optimality() -> None:
    """No gap asked for: stop only when the integer objective is proven (not at 0.01 %)."""
    from checkmate_opt.milp.formulation import build_instance
    from checkmate_opt.strategies.optimal import exact_gap

    g = linear_graph(3)
    exact = exact_gap(SolveOptions(), build_instance(g, 4))
    assert exact.mip_rel_gap == 0.0
    assert exact.mip_abs_gap is not None
    assert 0.99 < exact.mip_abs_gap < 1.0  # below one gcd unit of the integer objective
    asked = SolveOptions(mip_rel_gap=0.01)
    assert exact_gap(asked, build_instance(g, 4)) is asked
    noisy = SolveOptions()
    assert exact_gap(noisy, build_instance(g, 4, eps_noise=0.01)).mip_rel_gap is None


def test_a_model_too_big_for_the_time_left_is_not_built(monkeypatch) -> None:
    """Issue: n1000 with --time-limit 30 took 41 s, the model build alone ~22 s."""
    import time

    import checkmate_opt.strategies.optimal as opt_mod

    g = random_layered_graph(12, seed=1)
    budget = int(0.8 * g.total_memory)
    # as if the build took an hour: the call must not start it
    monkeypatch.setattr(opt_mod, "BUILD_S_PER_UNIT", 3600.0)
    t = time.perf_counter()
    res = optimal(g, budget, options=SolveOptions(time_limit_s=2.0), progress=None)
    elapsed = time.perf_counter() - t
    assert elapsed <= 2.0 + 1.0  # a correctness bound on the limit, not a speed test
    assert res.termination is Termination.TIME_LIMIT
    assert "building the model" in res.message
    assert res.schedule is not None
    assert res.within_budget
    assert not res.proven_optimal
    assert res.objective_bound == g.total_compute
    assert_valid_schedule(g, res, budget=budget)


def test_a_seeded_solve_races_two_highs_configurations_on_two_cores() -> None:
    from checkmate_opt.backends.highs import usable_cpus

    if "highs" not in BACKENDS or usable_cpus() < 2:
        pytest.skip("needs highspy and two cores")
    g = linear_graph(16)  # 2266 columns: large enough to race
    raced = optimal(g, 12, options=SolveOptions(time_limit_s=60), progress=None)
    alone = optimal(g, 12, options=SolveOptions(time_limit_s=60), race=False, progress=None)
    pinned = optimal(g, 12, options=SolveOptions(time_limit_s=60, threads=1), progress=None)
    assert raced.params["warm_start"] is not None
    assert "configuration" in raced.message  # which of the two proved it
    assert "configuration" not in alone.message
    assert "configuration" not in pinned.message  # a caller's thread count is kept
    assert raced.proven_optimal
    assert alone.proven_optimal
    assert raced.compute_cost == alone.compute_cost
    tiny = optimal(linear_graph(4), 5, options=SolveOptions(time_limit_s=60), progress=None)
    assert "configuration" not in tiny.message  # too small to be worth a second process
    assert tiny.compute_cost == brute_force_optimum(linear_graph(4), 5)


def test_large_graphs_run_anytime_beside_a_one_thread_solver() -> None:
    from checkmate_opt.backends.base import Progress
    from checkmate_opt.backends.highs import usable_cpus
    from checkmate_opt.budget import no_remat_peak

    if "highs" not in BACKENDS or usable_cpus() < 2:
        pytest.skip("needs highspy and two cores")
    g = random_layered_graph(101, seed=5)  # 203 nodes: over the 200 of the small path
    budget = int(0.8 * no_remat_peak(g))
    events: list[Progress] = []
    res = optimal(g, budget, options=SolveOptions(time_limit_s=12), progress=events.append)
    assert res.params.get("beside") == "anytime"
    assert res.solver is not None
    assert res.solver.options.get("threads") == 1
    assert res.schedule is not None
    assert res.within_budget
    assert_valid_schedule(g, res, budget=budget)
    assert res.solve_time_s <= 12 + 2.0  # the limit bounds the whole call (correctness)
    assert res.objective_bound is not None
    assert res.objective_bound <= res.compute_cost
    incs = [e.incumbent for e in events if e.incumbent is not None]
    bounds = [e.bound for e in events if e.bound is not None]
    assert incs == sorted(incs, reverse=True)  # one stream, from both searches
    assert bounds == sorted(bounds)
    if incs:
        assert incs[-1] >= res.compute_cost
    plain = optimal(g, budget, options=SolveOptions(time_limit_s=12), beside=False, progress=None)
    assert "beside" not in plain.params
    assert plain.within_budget
