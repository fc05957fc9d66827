"""HiGHS in a child process: a time limit bounds the call even when the solver does not stop.

Real solves and real signals: the child is frozen with SIGSTOP, which no stop request can
reach, so only the kill at the limit ends it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from checkmate_opt.backends.base import Progress
from checkmate_opt.backends.highs import HighsBackend
from checkmate_opt.generators import linear_graph
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import Termination
from checkmate_opt.strategies.optimal import optimal
from checkmate_opt.testing import assert_valid_schedule

pytestmark = pytest.mark.highs


def _children() -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with open(task / "children") as fh:
            out |= {int(p) for p in fh.read().split()}
    return out


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_frozen_solver_is_killed_at_the_limit_and_the_seed_kept() -> None:
    g = linear_graph(16)  # 33 nodes at 9 units: several seconds to prove on one thread
    before = _children()
    limit = 3.0
    box: dict[str, object] = {}

    def run() -> None:
        t = time.perf_counter()
        box["res"] = optimal(
            g,
            9,
            solver=HighsBackend(isolate=True),
            options=SolveOptions(threads=1, time_limit_s=limit),
            progress=None,
        )
        box["elapsed"] = time.perf_counter() - t

    worker = threading.Thread(target=run)
    worker.start()
    child = None
    deadline = time.perf_counter() + limit
    while child is None and time.perf_counter() < deadline:
        new = _children() - before
        child = min(new) if new else None
        time.sleep(0.01)
    assert child is not None, "the solve did not start a solver process"
    os.kill(child, signal.SIGSTOP)  # it can no longer answer a stop request
    worker.join(60)
    assert not worker.is_alive()
    res = box["res"]
    assert isinstance(res, type(optimal(linear_graph(2), 10, progress=None)))
    assert res.termination is Termination.TIME_LIMIT
    assert float(box["elapsed"]) <= limit + 1.0  # a correctness bound: the kill, not speed
    assert res.schedule is not None  # the warm start (or an incumbent it reported)
    assert res.within_budget
    assert not res.proven_optimal
    assert_valid_schedule(g, res, budget=9)
    assert child not in _children()  # killed and reaped
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_child_and_thread_give_the_same_optimum() -> None:
    g = linear_graph(6)
    opts = SolveOptions(threads=1, time_limit_s=60)
    a = optimal(g, 9, solver=HighsBackend(isolate=True), options=opts, progress=None)
    b = optimal(g, 9, solver=HighsBackend(isolate=False), options=opts, progress=None)
    assert a.termination is b.termination is Termination.COMPLETED
    assert a.compute_cost == b.compute_cost
    assert a.objective_bound == b.objective_bound
    assert a.proven_optimal
    assert b.proven_optimal


def test_progress_events_cross_the_process_boundary() -> None:
    g = linear_graph(8)
    events = []
    res = optimal(
        g,
        9,
        solver=HighsBackend(isolate=True),
        options=SolveOptions(threads=1, time_limit_s=60),
        progress=events.append,
    )
    assert res.proven_optimal
    assert events
    assert events[-1].incumbent == pytest.approx(res.params["milp_objective"])


NO_SUBMIP = {"mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False}


def test_a_race_of_configurations_gives_the_single_solver_optimum() -> None:
    g = linear_graph(8)
    opts = SolveOptions(time_limit_s=60)
    raced = optimal(
        g, 9, solver=HighsBackend(alternatives=(NO_SUBMIP,)), options=opts, progress=None
    )
    alone = optimal(
        g, 9, solver=HighsBackend(isolate=True), options=opts, race=False, progress=None
    )
    assert raced.termination is alone.termination is Termination.COMPLETED
    assert raced.proven_optimal
    assert raced.compute_cost == alone.compute_cost
    assert "configuration" in raced.message
    assert_valid_schedule(g, raced, budget=9)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_race_is_won_by_the_child_that_proves_and_the_other_is_killed() -> None:
    g = linear_graph(12)
    before = _children()
    box: dict[str, object] = {}

    def run() -> None:
        box["res"] = optimal(
            g,
            9,
            solver=HighsBackend(alternatives=(NO_SUBMIP,)),
            options=SolveOptions(time_limit_s=120),
            progress=None,
        )

    worker = threading.Thread(target=run)
    worker.start()
    kids: set[int] = set()
    deadline = time.perf_counter() + 60
    while len(kids) < 2 and time.perf_counter() < deadline and worker.is_alive():
        kids = _children() - before
        time.sleep(0.005)
    assert len(kids) == 2, "the race did not start two solver processes"
    frozen = min(kids)
    os.kill(frozen, signal.SIGSTOP)  # this one can never finish: the other must win
    worker.join(120)
    assert not worker.is_alive()
    res = box["res"]
    assert res.termination is Termination.COMPLETED
    assert res.proven_optimal
    assert_valid_schedule(g, res, budget=9)
    assert not (kids & _children())  # both reaped, the frozen one killed
    with pytest.raises(ProcessLookupError):
        os.kill(frozen, 0)


def test_a_race_stopped_by_the_limit_keeps_the_best_incumbent_and_bound() -> None:
    g = linear_graph(16)  # not provable in 2 s
    res = optimal(
        g,
        9,
        solver=HighsBackend(alternatives=(NO_SUBMIP,)),
        options=SolveOptions(time_limit_s=2.0),
        progress=None,
    )
    assert res.termination in (Termination.TIME_LIMIT, Termination.COMPLETED)
    assert res.schedule is not None
    assert res.within_budget
    assert res.objective_bound is not None
    assert res.objective_bound <= res.compute_cost
    assert_valid_schedule(g, res, budget=9)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_bound_reported_before_any_incumbent_survives_a_killed_solver() -> None:
    """Issue: with HiGHS' log off, bounds were relayed only with new incumbents, so a solver
    killed at the limit before it found one lost its bound (random_layered_n250 at 0.8 ended
    with the trivial bound after 290 s)."""
    import math

    from checkmate_opt.budget import no_remat_peak
    from checkmate_opt.generators import random_layered_graph
    from checkmate_opt.milp.formulation import build_instance
    from checkmate_opt.strategies.optimal import compile_instance

    g = random_layered_graph(10, seed=0)
    inst = build_instance(g, math.ceil(0.8 * no_remat_peak(g)), tighten=True)
    cm = compile_instance(inst)
    before = _children()
    events: list[Progress] = []
    frozen: list[int] = []

    def freeze(ev: Progress) -> None:
        events.append(ev)
        if not frozen:  # the solver stops here, with the bound it had at the first event
            frozen.extend(_children() - before)
            for pid in frozen:
                os.kill(pid, signal.SIGSTOP)

    # no heuristics, no start: the root LP's bound comes before any incumbent
    no_heuristics = {"mip_heuristic_effort": 0.0, "mip_heuristic_run_feasibility_jump": False}
    res = HighsBackend(isolate=True).solve(
        None,
        SolveOptions(threads=1, time_limit_s=3.0, backend_options=no_heuristics),
        compiled=cm,
        progress=freeze,
    )
    assert frozen, "no progress event came from the solver"
    assert events[0].incumbent is None
    assert events[0].bound is not None
    assert res.termination is Termination.TIME_LIMIT
    assert res.objective is None
    assert res.objective_bound is not None
    assert res.objective_bound == pytest.approx(max(e.bound or 0.0 for e in events))
    assert inst.bound_to_cost(res.objective_bound) > g.total_compute  # above the trivial bound
