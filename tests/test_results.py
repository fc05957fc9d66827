"""SolveResult: built from a schedule through the simulator, budgets, serialization."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from checkmate_opt.errors import NoScheduleError, ScheduleError
from checkmate_opt.generators import linear_graph
from checkmate_opt.graph import Graph
from checkmate_opt.results import SolveResult, SolverInfo, Termination
from checkmate_opt.schedule import Schedule, solve_r_opt
from checkmate_opt.testing import assert_valid_schedule
from hypothesis_graphs import dags, training_graphs

SUMMARY_KEYS = {
    "strategy",
    "status",
    "feasible",
    "within_budget",
    "budget",
    "compute_cost",
    "total_compute",
    "overhead",
    "peak_activation_memory",
    "fixed_memory",
    "peak_memory",
    "solve_time_s",
    "objective_bound",
    "proven_optimal",
    "solver",
    "params",
    "message",
}


def _keep_all(n: int) -> Schedule:
    return Schedule(R=np.eye(n, dtype=bool), S=np.tril(np.ones((n, n), dtype=bool), k=-1))


def _result(graph: Graph, budget: int | None, **kw) -> SolveResult:
    return SolveResult.from_schedule(
        graph, _keep_all(graph.n), strategy="keep_all", budget=budget, solve_time_s=0.25, **kw
    )


def _assert_same(a: SolveResult, b: SolveResult) -> None:
    assert a.summary() == b.summary()
    assert a.schedule == b.schedule
    assert a.solver == b.solver


# ------------------------------------------------------------------ building and budgets


def test_from_schedule_reports_what_the_simulator_measures():
    # keep-all on linear_graph(2) peaks at 4 activations (see test_simulate); cost 5
    g = linear_graph(2).with_costs(parameter_bytes=10)
    res = _result(g, 4)
    assert res.report is not None
    assert res.compute_cost == 5
    assert res.report.peak_activation_memory == 4
    assert res.report.peak_memory == 24  # plus 2 x 10 fixed
    assert res.is_feasible
    assert res.termination is Termination.COMPLETED


@pytest.mark.parametrize(("budget", "within"), [(None, True), (4, True), (100, True), (3, False)])
def test_within_budget_compares_activation_memory(budget, within):
    # fixed memory (2 x 1000) is excluded from budgets: a 4-byte budget fits a 4-byte peak
    g = linear_graph(2).with_costs(parameter_bytes=1000)
    assert _result(g, budget).within_budget is within


def test_result_without_a_schedule():
    res = SolveResult.from_schedule(
        linear_graph(2),
        None,
        strategy="optimal",
        budget=1,
        solve_time_s=0.5,
        termination=Termination.INFEASIBLE,
        message="budget below the largest node footprint",
    )
    assert res.report is None
    assert res.compute_cost is None
    assert not res.is_feasible
    assert not res.within_budget
    with pytest.raises(NoScheduleError, match="raise the budget: budget below"):
        res.unwrap()
    summary = res.summary()
    assert summary["feasible"] is False
    assert summary["status"] == "infeasible"
    assert summary["peak_memory"] is None


@pytest.mark.parametrize(
    ("termination", "hint"),
    [(Termination.TIME_LIMIT, "raise the time limit"), (Termination.ERROR, "see the result's")],
)
def test_unwrap_hints(termination, hint):
    res = SolveResult.from_schedule(
        linear_graph(1), None, strategy="s", budget=None, solve_time_s=0, termination=termination
    )
    with pytest.raises(NoScheduleError, match=hint):
        res.unwrap()


def test_unwrap_returns_the_schedule():
    g = linear_graph(3)
    assert _result(g, None).unwrap() == _keep_all(g.n)


def test_summary_keys_and_values():
    g = linear_graph(2)
    res = _result(
        g,
        4,
        proven_optimal=True,
        objective_bound=5.0,
        solver=SolverInfo(name="highs", version="1.16", options={"threads": 1}),
        params={"seed": np.int64(3), "arr": np.arange(2)},
    )
    s = res.summary()
    assert set(s) == SUMMARY_KEYS
    assert s["strategy"] == "keep_all"
    assert s["status"] == "completed"
    assert s["within_budget"] is True
    assert s["total_compute"] == 5
    assert s["overhead"] == 1.0
    assert s["solver"] == "highs"
    assert s["params"] == {"seed": 3, "arr": [0, 1]}
    assert type(s["params"]["seed"]) is int
    json.dumps(s)  # plain JSON types only


def test_termination_values():
    assert Termination("time_limit") is Termination.TIME_LIMIT
    assert {t.value for t in Termination} == {
        "completed",
        "over_budget",
        "time_limit",
        "other_limit",
        "infeasible",
        "interrupted",
        "error",
        "unknown",
    }
    assert f"{Termination.INFEASIBLE}" == "infeasible"


# ------------------------------------------------------------------ serialization


def test_round_trip_with_graph_resimulates():
    g = linear_graph(3).with_costs(parameter_bytes=7)
    res = _result(
        g,
        5,
        solver=SolverInfo(name="gurobi", version="13", num_variables=10, num_constraints=20),
        params={"k": 2},
        message="ok",
    )
    back = SolveResult.from_dict(json.loads(res.to_json()), graph=g)
    _assert_same(res, back)
    assert back.report is not None
    assert back.report.operations == res.report.operations  # simulated again


def test_round_trip_without_graph_keeps_the_numbers():
    g = linear_graph(3)
    res = _result(g, 5)
    back = SolveResult.from_dict(json.loads(res.to_json()))
    assert back.summary() == res.summary()
    assert back.schedule == res.schedule
    assert back.report is not None
    assert back.report.operations == ()  # nothing to replay without the graph


def test_round_trip_of_a_result_without_schedule():
    res = SolveResult.from_schedule(
        linear_graph(2),
        None,
        strategy="optimal",
        budget=2,
        solve_time_s=1.5,
        termination=Termination.TIME_LIMIT,
        objective_bound=3.5,
    )
    back = SolveResult.from_dict(json.loads(res.to_json()))
    _assert_same(res, back)
    assert back.schedule is None
    assert back.report is None


@st.composite
def results(draw):
    g = draw(st.one_of(training_graphs(), dags()))
    n = g.n
    bits = draw(st.lists(st.booleans(), min_size=n * n, max_size=n * n))
    s = np.tril(np.array(bits, dtype=bool).reshape(n, n), k=-1)
    res = SolveResult.from_schedule(
        g,
        Schedule(R=solve_r_opt(g, s), S=s),
        strategy=draw(st.sampled_from(["optimal", "chen_sqrtn", "x"])),
        budget=draw(st.none() | st.integers(0, 60)),
        solve_time_s=draw(st.floats(0, 100)),
        termination=draw(st.sampled_from(list(Termination)[:3])),
        proven_optimal=draw(st.booleans()),
        objective_bound=draw(st.none() | st.floats(0, 1e6)),
        params=draw(st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)),
        message=draw(st.text(max_size=20)),
    )
    return g, res


@given(results())
def test_round_trip_property(case):
    g, res = case
    line = res.to_json()
    assert "\n" not in line  # one JSON-lines record
    # with the graph, "proven optimal" survives only for a schedule the simulator puts in budget
    honest = dataclasses.replace(res, proven_optimal=res.proven_optimal and res.within_budget)
    _assert_same(honest, SolveResult.from_dict(json.loads(line), graph=g))
    _assert_same(res, SolveResult.from_dict(json.loads(line)))


# ------------------------------------------------------------------ testing.assert_valid_schedule


def test_assert_valid_schedule_accepts_an_honest_result():
    # keep-all on linear_graph(3) peaks at 6: stage 5 still holds 0..4 (S keeps every value)
    g = linear_graph(3)
    assert_valid_schedule(g, _result(g, 6))
    assert_valid_schedule(g, _result(g, 5))  # honestly over budget: within_budget is False
    assert_valid_schedule(g, _result(g, None), budget=6)
    with pytest.raises(AssertionError, match="peaks at 6"):
        assert_valid_schedule(g, _result(g, None), budget=5)


def test_assert_valid_schedule_catches_a_doctored_report():
    g = linear_graph(3)
    res = _result(g, 5)
    fake = dataclasses.replace(
        res, report=dataclasses.replace(res.report, peak_activation_memory=3)
    )
    with pytest.raises(AssertionError):
        assert_valid_schedule(g, fake)


def test_assert_valid_schedule_catches_an_invalid_schedule():
    g = linear_graph(2)
    res = _result(g, None)
    bad = dataclasses.replace(res, schedule=Schedule(R=np.eye(5), S=np.zeros((5, 5))))
    with pytest.raises(ScheduleError):
        assert_valid_schedule(g, bad)


def test_assert_valid_schedule_without_schedule():
    g = linear_graph(2)
    res = SolveResult.from_schedule(
        g, None, strategy="s", budget=1, solve_time_s=0, termination=Termination.INFEASIBLE
    )
    assert_valid_schedule(g, res, require_schedule=False)
    with pytest.raises(AssertionError, match="no schedule"):
        assert_valid_schedule(g, res)


def test_loaded_result_is_not_optimal_when_the_simulator_puts_it_over_budget() -> None:
    from checkmate_opt.generators import random_layered_graph
    from checkmate_opt.strategies import get_strategy

    g = random_layered_graph(8, seed=1)
    r = get_strategy("checkpoint_all")(g, None)
    data = r.to_dict()
    data["proven_optimal"] = True
    data["budget"] = r.report.peak_activation_memory - 1  # edited file: one byte short
    loaded = SolveResult.from_dict(data, g)
    assert loaded.within_budget is False
    assert loaded.proven_optimal is False
    data["budget"] = r.report.peak_activation_memory
    assert SolveResult.from_dict(data, g).proven_optimal is True


def test_over_budget_schedule_is_never_completed_or_optimal() -> None:
    """A run that finished with a schedule the simulator puts over budget says so."""
    from checkmate_opt.generators import linear_graph
    from checkmate_opt.strategies import solve

    g = linear_graph(6)
    res = solve(g, 4, strategy="checkpoint_all")  # holds every forward value: over 4
    assert not res.within_budget
    assert res.termination is Termination.OVER_BUDGET
    assert not res.proven_optimal
    fits = solve(g, 10**6, strategy="checkpoint_all")
    assert fits.within_budget
    assert fits.termination is Termination.COMPLETED
    # a stored "completed" over-budget result, loaded against the graph, is re-judged
    data = fits.to_dict()
    data["budget"] = 4
    data["proven_optimal"] = True
    loaded = SolveResult.from_dict(data, g)
    assert loaded.termination is Termination.OVER_BUDGET
    assert not loaded.proven_optimal
