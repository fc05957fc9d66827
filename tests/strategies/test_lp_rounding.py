"""LP rounding and the LP bound: ordering with the MILP, budgets, seeds, infeasibility."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkmate_opt.backends import BACKENDS
from checkmate_opt.generators import linear_graph, random_layered_graph
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import Termination
from checkmate_opt.strategies import solve
from checkmate_opt.strategies.lp_rounding import lp_bound, lp_rounding
from checkmate_opt.strategies.optimal import optimal
from checkmate_opt.testing import assert_valid_schedule
from hypothesis_graphs import training_graphs

OPTS = SolveOptions(threads=1, time_limit_s=60, mip_rel_gap=0)
SOLVERS = [pytest.param(name, marks=getattr(pytest.mark, name)) for name in BACKENDS]


@settings(max_examples=10)
@given(g=training_graphs(max_layers=4), frac=st.floats(0.0, 1.0))
def test_lp_bound_le_milp_le_rounding(g, frac: float) -> None:  # type: ignore[no-untyped-def]
    # from one byte below the minimum to "everything fits", denser at the tight end
    low, high = g.min_feasible_memory(), g.total_memory
    budget = max(1, low - 1 + round(frac**2 * (high - low + 1)))
    lb = lp_bound(g, budget, options=OPTS)
    milp = optimal(g, budget, options=OPTS, eps_noise=0, progress=None)
    if milp.termination is Termination.INFEASIBLE:
        return
    assert lb.termination is Termination.COMPLETED
    assert lb.schedule is None
    assert lb.objective_bound is not None
    assert g.total_compute <= lb.objective_bound <= milp.compute_cost
    for rounding in ("sweep", "threshold_0.5", "randomized"):
        r = lp_rounding(g, budget, rounding=rounding, rounds=20, options=OPTS, eps_noise=0)
        assert_valid_schedule(g, r, budget=budget)
        if r.within_budget:
            assert milp.compute_cost <= r.compute_cost


def test_over_budget_rounding_is_never_reported_within_budget() -> None:
    g = linear_graph(8)
    for budget in (3, 4, 5):
        r = lp_rounding(g, budget, options=OPTS)
        assert r.schedule is not None
        assert r.report is not None
        fits = r.report.peak_activation_memory <= budget
        assert r.within_budget == fits
        if not fits:
            assert "no rounded schedule fits" in r.message
        assert_valid_schedule(g, r, budget=budget)


def test_randomized_rounding_is_seeded() -> None:
    g = random_layered_graph(6, seed=4)
    budget = g.min_feasible_memory() + (g.total_memory - g.min_feasible_memory()) // 3
    a = lp_rounding(g, budget, rounding="randomized", rounds=30, seed=1, options=OPTS)
    b = lp_rounding(g, budget, rounding="randomized", rounds=30, seed=1, options=OPTS)
    assert a.schedule == b.schedule
    assert a.params["winner"] == b.params["winner"]
    assert 1 <= a.params["candidates"] <= 30


def test_lp_bound_infeasible_and_units() -> None:
    g = linear_graph(4)
    # budget 1: stage 1 computes node 1 (1 B) while its input node 0 is held or recomputed
    # (R[1,0] + S[1,0] >= 1 by the dependency row), so U[1,1] >= 2 even fractionally
    bad = lp_bound(g, 1, options=OPTS)
    assert bad.termination is Termination.INFEASIBLE
    assert bad.objective_bound is None
    # costs scaled by 7 and memory by 3: the bound is reported in the real units
    g7 = g.with_costs(
        compute_cost=[7 * c for c in g.compute_cost], memory_cost=[3 * m for m in g.memory_cost]
    )
    assert (
        lp_bound(g7, 12, options=OPTS).objective_bound
        == 7 * lp_bound(g, 4, options=OPTS).objective_bound
    )


def test_lp_rounding_infeasible_lp_returns_no_schedule() -> None:
    g = linear_graph(3)
    r = lp_rounding(g, 1, options=OPTS)
    assert r.termination is Termination.INFEASIBLE
    assert r.schedule is None


@pytest.mark.parametrize("solver", SOLVERS)
def test_registered_and_solver_keyword(solver: str) -> None:
    if not BACKENDS[solver].is_available():
        pytest.skip(f"{solver} not installed")
    g = linear_graph(4)
    r = solve(g, 5, strategy="lp_rounding", solver=solver, options=OPTS)
    assert r.solver is not None
    assert r.solver.name == solver
    b = solve(g, 5, strategy="lp_bound", solver=solver, options=OPTS)
    assert b.objective_bound is not None
    assert b.objective_bound <= optimal(g, 5, eps_noise=0, progress=None).compute_cost


def test_bad_arguments() -> None:
    g = linear_graph(2)
    with pytest.raises(ValueError, match="rounding"):
        lp_rounding(g, 4, rounding="floor")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rounds"):
        lp_rounding(g, 4, rounding="randomized", rounds=0)
    with pytest.raises(ValueError, match="lp_budget_factor"):
        lp_rounding(g, 4, lp_budget_factor=1.5)


def test_tightened_lp_bound_is_higher_and_still_valid() -> None:
    g = linear_graph(3)
    for budget in (3, 4, 6):
        plain = lp_bound(g, budget, options=OPTS).objective_bound
        tight = lp_bound(g, budget, options=OPTS, tighten=True).objective_bound
        milp = optimal(g, budget, options=OPTS, eps_noise=0, progress=None).compute_cost
        assert plain is not None
        assert tight is not None
        assert plain <= tight <= milp
    # at 3 units the LP bound (fractional 8.1, rounded up) is below the MILP optimum (10)
    assert lp_bound(g, 3, options=OPTS).objective_bound < 10
