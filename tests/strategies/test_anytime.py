"""The anytime strategies: within budget whenever they return a schedule, never worse with more
rounds, deterministic per seed; the reordering variant's order is topological and the simulator
agrees with its report."""

from __future__ import annotations

import numpy as np
import pytest

from checkmate_opt.budget import no_remat_peak, resolve_budget
from checkmate_opt.generators import linear_graph, random_layered_graph
from checkmate_opt.io import load_graph
from checkmate_opt.results import Termination
from checkmate_opt.simulate import simulate
from checkmate_opt.strategies import solve
from checkmate_opt.strategies.anytime import (
    anytime,
    anytime_reorder,
    no_remat_peak_of_order,
    reorder_graph,
)

GRAPHS = [
    linear_graph(12),
    random_layered_graph(12, seed=1),
    random_layered_graph(20, seed=2, width=4),
]


@pytest.mark.parametrize("graph", GRAPHS, ids=lambda g: g.name or "linear")
@pytest.mark.parametrize("mult", [0.9, 0.8, 0.7])
@pytest.mark.parametrize("strategy", [anytime, anytime_reorder])
def test_within_budget_and_referee_agrees(graph, mult, strategy):
    budget = int(mult * no_remat_peak(graph))
    res = strategy(graph, budget, time_limit_s=None, max_rounds=3)
    if res.schedule is None:
        assert res.termination in (Termination.OTHER_LIMIT, Termination.INFEASIBLE)
        return
    g = graph
    if strategy is anytime_reorder:
        g = reorder_graph(graph, res.params["order"])
    rep = simulate(g, res.schedule)
    assert rep.compute_cost == res.report.compute_cost
    assert rep.peak_activation_memory == res.report.peak_activation_memory
    assert rep.peak_activation_memory <= budget
    assert res.within_budget
    assert res.objective_bound == graph.total_compute <= rep.compute_cost


def test_fixed_order_finds_a_schedule_on_small_graphs():
    # the greedy must not give up where recomputation clearly helps
    found = 0
    for seed in range(6):
        g = random_layered_graph(15, seed=seed)
        res = anytime(g, int(0.8 * no_remat_peak(g)), time_limit_s=None, max_rounds=2)
        found += res.within_budget
    assert found >= 5


def test_more_rounds_never_worse_and_deterministic():
    g = random_layered_graph(30, seed=3, width=4)
    budget = int(0.8 * no_remat_peak(g))
    costs = []
    for rounds in (0, 4, 12):
        res = anytime(g, budget, time_limit_s=None, seed=7, max_rounds=rounds)
        assert res.within_budget
        costs.append(res.compute_cost)
    assert costs == sorted(costs, reverse=True)
    again = anytime(g, budget, time_limit_s=None, seed=7, max_rounds=12)
    assert again.schedule == anytime(g, budget, time_limit_s=None, seed=7, max_rounds=12).schedule


def test_no_budget_and_loose_budget_recompute_nothing():
    g = random_layered_graph(10, seed=4)
    for budget in (None, no_remat_peak(g)):
        res = anytime(g, budget, time_limit_s=1.0)
        assert res.compute_cost == g.total_compute
        assert res.proven_optimal
        assert res.termination is Termination.COMPLETED


def test_budget_below_a_node_footprint_is_infeasible():
    g = random_layered_graph(10, seed=5)
    res = anytime(g, g.min_feasible_memory() - 1, time_limit_s=1.0)
    assert res.termination is Termination.INFEASIBLE
    assert res.schedule is None
    assert str(g.min_feasible_memory()) in res.message


def test_reorder_gives_a_topological_order_with_the_same_costs():
    g = random_layered_graph(25, seed=6, width=4)
    budget = int(0.7 * no_remat_peak(g))
    res = anytime_reorder(g, budget, time_limit_s=None, max_rounds=2)
    order = res.params["order"]
    pos = {v: k for k, v in enumerate(order)}
    assert sorted(order) == list(range(g.n))
    assert all(pos[u] < pos[v] for u, v in g.edges)
    assert res.params["order_peak"] == no_remat_peak_of_order(g, order)
    assert res.params["order_peak"] <= no_remat_peak(g)
    g2 = reorder_graph(g, order)
    assert g2.total_compute == g.total_compute
    assert no_remat_peak(g2) == no_remat_peak_of_order(g, order)


def test_reorder_is_deterministic_per_seed():
    g = random_layered_graph(25, seed=9, width=4)
    budget = int(0.7 * no_remat_peak(g))
    a = anytime_reorder(g, budget, time_limit_s=None, seed=1, max_rounds=2)
    b = anytime_reorder(g, budget, time_limit_s=None, seed=1, max_rounds=2)
    assert a.params["order"] == b.params["order"]
    assert a.schedule == b.schedule


def test_reorder_graph_rejects_a_non_topological_order():
    g = linear_graph(3)
    with pytest.raises(ValueError, match="before its input"):
        reorder_graph(g, list(reversed(range(g.n))))


def test_registered_and_options_seed_and_limit_apply():
    from checkmate_opt.options import SolveOptions

    g = random_layered_graph(12, seed=8)
    res = solve(g, "0.8x", strategy="anytime", options=SolveOptions(time_limit_s=0.5, seed=3))
    assert res.strategy == "anytime"
    assert res.params.get("seed", 3) == 3
    assert res.budget == resolve_budget("0.8x", g)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["random_layered_n250", "random_layered_n500"])
@pytest.mark.parametrize("mult", [0.9, 0.8])
def test_shared_random_graphs_reorder_within_budget(shared_graphs, name, mult):
    g = load_graph(shared_graphs / f"{name}.json")
    budget = int(np.ceil(mult * no_remat_peak(g)))
    res = anytime_reorder(g, budget, time_limit_s=5.0)
    assert res.within_budget
    rep = simulate(reorder_graph(g, res.params["order"]), res.schedule)
    assert rep.peak_activation_memory <= budget


# with a 20 s limit the greedy's rounds stall after 2 s: the signal lands in the window search
@pytest.mark.parametrize(("limit", "wait"), [("120", 6.0), ("20", 5.0)])
def test_ctrl_c_returns_the_best_schedule_so_far(tmp_path, limit, wait):
    import json
    import signal
    import subprocess
    import sys
    import time

    from checkmate_opt.io import save_graph

    path = tmp_path / "random40.json"
    save_graph(random_layered_graph(40, seed=7), path)
    cmd = [sys.executable, "-m", "checkmate_opt", "solve", str(path), "--strategy", "anytime"]
    cmd += ["--budget", "0.8x", "--time-limit", limit, "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(wait)  # imports and the first schedule (milliseconds), then improvement rounds
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    data = json.loads(out)
    assert data["status"] == "interrupted"
    assert data["within_budget"] is True
    assert data["peak_activation_memory"] <= data["budget"]
    from checkmate_opt.backends.highs import usable_cpus

    if usable_cpus() >= 2:  # a portfolio ran: its child searches handed over and are gone
        assert data["params"]["workers"] >= 2
    assert not _portfolio_processes()


@pytest.mark.parametrize("seed", [3, 4])
def test_window_milp_keeps_the_incumbent_feasible_and_the_simulator_agrees(seed):
    # the exact re-solve of a stage window: the incumbent must fit its model (else the model
    # is stricter than the simulator), and what it returns must simulate within the budget
    from checkmate_opt.schedule import Schedule
    from checkmate_opt.strategies.anytime import _prep, _tidy, _window_milp

    g = random_layered_graph(20, seed=seed, width=4)
    budget = int(0.75 * no_remat_peak(g))
    res = anytime(g, budget, time_limit_s=None, max_rounds=1)
    assert res.schedule is not None
    p = _prep(g)
    R, S = res.schedule.R.copy(), res.schedule.S.copy()
    _tidy(p, R, S)
    assert simulate(g, Schedule(R, S)).compute_cost == res.compute_cost
    cost = np.asarray(g.compute_cost)
    for a, b in [(0, 16), (10, 30), (g.n - 12, g.n)]:
        out = _window_milp(p, R, S, a, b, budget, None, 0)
        assert out is not None
        Rw, Sw = out
        R2, S2 = R.copy(), S.copy()
        R2[a:b], S2[a + 1 : b] = Rw, Sw
        rep = simulate(g, Schedule(R2, S2))
        assert rep.peak_activation_memory <= budget
        saved = int((R[a:b].astype(int) @ cost).sum() - (Rw.astype(int) @ cost).sum())
        assert rep.compute_cost == res.compute_cost - saved
        assert rep.compute_cost <= res.compute_cost


def test_window_search_runs_deterministically_and_stays_within_budget():
    g = random_layered_graph(20, seed=2, width=4)
    budget = int(0.7 * no_remat_peak(g))
    a = anytime(g, budget, time_limit_s=None, seed=1, max_rounds=20)
    b = anytime(g, budget, time_limit_s=None, seed=1, max_rounds=20)
    assert a.schedule == b.schedule
    assert a.within_budget
    assert simulate(g, a.schedule).peak_activation_memory <= budget


def _plain_greedy_or_sweep_finds(g, budget):
    """What ``anytime`` tried before holding inputs instead of values: the plain greedy's
    tries, then the eviction sweep."""
    from checkmate_opt.strategies.anytime import _drop_greedy, _prep, _Sweep, _sweep

    p = _prep(g)
    rng = np.random.default_rng(0)
    tries = [{}, {"wide": True}, {"wide": True, "transient": True}]
    tries += [{"wide": True, "transient": k % 2 == 0, "extend": k % 2 == 1} for k in range(4)]
    for k, flags in enumerate(tries):
        if _drop_greedy(p, budget, rng if k >= 3 else None, 0.1 * k, **flags) is not None:
            return True
    for alpha in (0.5, 0.0, 1.0, 2.0):
        w = np.ones(p.n)
        for _ in range(20):
            sw = _sweep(p, budget, w.tolist(), alpha)
            if isinstance(sw, _Sweep):
                return True
            w[sw.redone] *= 100.0
    return False


# (found by searching small random layered graphs: the plain greedy and the eviction sweep
# find no schedule; the greedy that holds inputs instead of values finds one on the first,
# the other two also need the soft-budget windows)
@pytest.mark.parametrize(("layers", "width", "seed"), [(10, 4, 12), (8, 4, 19), (8, 3, 9)])
def test_first_schedule_where_the_plain_greedy_and_the_sweep_find_none(layers, width, seed):
    g = random_layered_graph(layers, seed=seed, width=width)
    budget = int(0.7 * no_remat_peak(g))
    assert not _plain_greedy_or_sweep_finds(g, budget)
    res = anytime(g, budget, time_limit_s=None, max_rounds=0)
    assert res.schedule is not None, res.message
    rep = simulate(g, res.schedule)
    assert rep.peak_activation_memory <= budget
    assert rep.compute_cost == res.compute_cost > g.total_compute
    assert res.within_budget


def test_soft_windows_bring_an_over_budget_schedule_within_budget():
    from checkmate_opt.strategies.anytime import _drop_greedy, _first_fit, _prep, _schedule

    g = random_layered_graph(8, seed=9, width=3)
    budget = int(0.7 * no_remat_peak(g))
    p = _prep(g)
    over = _drop_greedy(p, budget, None, 0.0, partial=True, swap=True)
    assert over is not None
    assert simulate(g, _schedule(g.n, over)).peak_activation_memory > budget
    fit = _first_fit(p, over, budget, deadline=None, seed=0)
    assert fit is not None
    rep = simulate(g, _schedule(g.n, fit))
    assert rep.peak_activation_memory <= budget
    assert rep.compute_cost == fit.cost


@pytest.mark.slow
def test_random_layered_n250_at_08_gets_a_schedule_within_60s(shared_graphs):
    # neither the plain greedy nor the eviction sweep finds one here (the sink reads 74 % of B)
    g = load_graph(shared_graphs / "random_layered_n250.json")
    budget = int(np.ceil(0.8 * no_remat_peak(g)))
    res = anytime(g, budget, time_limit_s=10.0)
    assert res.schedule is not None
    assert res.solve_time_s < 60
    rep = simulate(g, res.schedule)
    assert rep.peak_activation_memory <= budget
    assert rep.compute_cost == res.compute_cost


def test_a_stop_event_ends_the_search_early_with_its_best_schedule():
    """``optimal`` stops the search it runs beside its solver once the solver is done."""
    import threading
    import time

    g = random_layered_graph(60, seed=3)
    budget = int(0.8 * no_remat_peak(g))
    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    t = time.perf_counter()
    res = anytime(g, budget, time_limit_s=60.0, stop=stop)
    elapsed = time.perf_counter() - t
    timer.cancel()
    assert elapsed < 30.0  # a correctness bound (the limit is 60 s), not a speed claim
    assert res.schedule is not None
    assert res.within_budget
    rep = simulate(g, res.schedule)
    assert rep.compute_cost == res.compute_cost
    assert rep.peak_activation_memory <= budget


def test_patience_ends_a_stalled_search_early_and_keeps_its_schedule():
    """``optimal`` seeds small graphs with a patient search: it stops once the schedule has
    not improved for as long as its last gain took (the benchmark CNNs: within 0.15 s)."""
    g = random_layered_graph(30, seed=4)
    budget = int(0.8 * no_remat_peak(g))
    patient = anytime(g, budget, time_limit_s=60.0, patience_s=0.1)
    # completed, not stopped by the limit, and not because nothing is recomputed
    assert patient.termination is Termination.COMPLETED
    assert patient.compute_cost is not None
    assert patient.compute_cost > g.total_compute
    assert patient.schedule is not None
    assert patient.within_budget
    rep = simulate(g, patient.schedule)
    assert rep.compute_cost == patient.compute_cost
    assert rep.peak_activation_memory <= budget


def _portfolio_processes() -> list[int]:
    """Live processes running a search of an ``anytime`` portfolio."""
    from pathlib import Path

    out = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if b"_portfolio_child" in (proc / "cmdline").read_bytes():
                out.append(int(proc.name))
        except OSError:
            continue
    return out


def test_a_portfolio_of_searches_keeps_the_cheapest_and_leaves_no_process():
    from pathlib import Path

    if not Path("/proc/self/cmdline").exists():
        pytest.skip("needs Linux /proc")
    g = random_layered_graph(40, seed=7)
    budget = int(0.8 * no_remat_peak(g))
    res = anytime(g, budget, time_limit_s=3.0, workers=2)
    assert res.params["workers"] == 2
    assert res.params["seeds"] == [0, 1]
    assert res.params["seed"] in (0, 1)  # whose schedule it is
    assert res.termination in (Termination.TIME_LIMIT, Termination.COMPLETED)
    assert res.within_budget
    rep = simulate(g, res.schedule)
    assert rep.compute_cost == res.compute_cost
    assert rep.peak_activation_memory <= budget
    assert not _portfolio_processes()
    # repeatable runs (max_rounds) stay one search; so does a budget no schedule meets
    det = anytime(g, budget, time_limit_s=None, max_rounds=3, workers=2)
    assert "workers" not in det.params
    tiny = anytime(g, 1, time_limit_s=3.0, workers=2)
    assert tiny.termination is Termination.INFEASIBLE
