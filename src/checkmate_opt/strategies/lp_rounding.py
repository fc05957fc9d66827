"""LP relaxation, rounding and the LP lower bound.

The LP is the MILP of :mod:`checkmate_opt.milp.formulation` with integrality relaxed. Rounding
turns its fractional S into candidate checkpoint sets; R is recovered with ``solve_r_opt``;
every candidate is simulated, and the cheapest one within the *full* budget wins. Unlike the
published implementation, a candidate over budget is never reported as within budget.
"""

from __future__ import annotations

import functools
import time
from typing import Literal

import numpy as np

from checkmate_opt.backends import Backend, BackendResult, get_backend
from checkmate_opt.errors import ScheduleError
from checkmate_opt.graph import Graph
from checkmate_opt.milp.extract import matrices
from checkmate_opt.milp.formulation import MilpInstance, Variant, build_instance
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import SolveResult, Termination
from checkmate_opt.schedule import Schedule
from checkmate_opt.simulate import simulate
from checkmate_opt.strategies.optimal import (
    _check_budget,
    compile_instance,
    footprint_infeasible,
)

__all__ = ["lp_bound", "lp_rounding"]

Rounding = Literal["sweep", "threshold_0.5", "randomized"]
SWEEP_THRESHOLDS = tuple(round(0.1 * k, 1) for k in range(1, 10))


def _solve_lp(
    graph: Graph,
    budget: int,
    *,
    backend: Backend,
    options: SolveOptions,
    eps_noise: float,
    seed: int | None,
    variant: Variant,
    tighten: bool = False,
) -> tuple[MilpInstance, BackendResult]:
    inst = build_instance(
        graph,
        budget,
        variant=variant,
        relax=True,
        eps_noise=eps_noise,
        seed=seed,
        tighten=tighten,
    )
    return inst, backend.solve(None, options, compiled=compile_instance(inst))


def lp_rounding(
    graph: Graph,
    budget: int | None,
    *,
    rounding: Rounding = "sweep",
    rounds: int = 100,
    seed: int | None = 0,
    lp_budget_factor: float = 0.9,
    solver: str | Backend | None = "highs",
    options: SolveOptions = SolveOptions(),  # noqa: B008 - frozen dataclass
    eps_noise: float = 0.0,
    variant: Variant = "full",
    tighten: bool = False,
) -> SolveResult:
    """Round the LP relaxation to a schedule.

    Parameters
    ----------
    graph
        The training graph.
    budget
        Activation-memory budget in bytes.
    rounding
        ``"sweep"``: thresholds 0.1 ... 0.9; ``"threshold_0.5"``; ``"randomized"``: ``rounds``
        independent Bernoulli roundings ``S = [u < S*]``.
    rounds
        Number of randomized roundings.
    seed
        Seeds both the randomized rounding and the cost noise.
    lp_budget_factor
        The LP is solved at ``int(factor * budget)`` (the paper's safety margin, 0.9). If that
        LP is infeasible the LP at the full budget is tried.
    solver, options
        The backend and its options (applied to the LP solve).
    eps_noise
        Relative cost noise of the LP (0: exact costs, the default).
    variant
        MILP variant (the cover variants keep the LP's R as well; see docs/milp.md).
    tighten
        Add the disaggregated hazard rows (a tighter LP).

    Returns
    -------
    SolveResult
        The cheapest candidate whose simulated peak fits the budget (``COMPLETED``). When no
        candidate fits: the candidate with the smallest peak, ``within_budget`` false and a
        message. ``INFEASIBLE`` without a schedule when even the LP at the full budget is
        infeasible (then no schedule fits). ``objective_bound`` is the LP bound only when the LP
        was solved at the full budget.

    Raises
    ------
    ValueError
        For a bad budget, rounding name, rounds or factor.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> r = lp_rounding(linear_graph(4), 5, eps_noise=0)
    >>> r.within_budget
    True
    """
    budget = _check_budget(budget, "lp_rounding")
    early = footprint_infeasible(graph, budget, "lp_rounding")
    if early is not None:
        return early
    if rounding not in ("sweep", "threshold_0.5", "randomized"):
        raise ValueError(
            f"unknown rounding {rounding!r}; choose 'sweep', 'threshold_0.5' or 'randomized'"
        )
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    if not 0 < lp_budget_factor <= 1:
        raise ValueError(f"lp_budget_factor must be in (0, 1], got {lp_budget_factor}")
    backend = get_backend(solver)
    t0 = time.perf_counter()
    lp_budget = int(lp_budget_factor * budget)
    solve_lp = functools.partial(
        _solve_lp,
        graph,
        backend=backend,
        options=options,
        eps_noise=eps_noise,
        seed=seed,
        variant=variant,
        tighten=tighten,
    )
    inst, res = solve_lp(lp_budget)
    if res.values is None and lp_budget != budget:
        lp_budget = budget
        inst, res = solve_lp(budget)
    params: dict[str, object] = {
        "rounding": rounding,
        "lp_budget": lp_budget,
        "eps_noise": inst.eps_noise,
        "seed": seed,
        "variant": variant,
    }
    if res.values is None:
        term = (
            res.termination if res.termination is not Termination.COMPLETED else Termination.ERROR
        )
        return SolveResult.from_schedule(
            graph,
            None,
            strategy="lp_rounding",
            budget=budget,
            solve_time_s=time.perf_counter() - t0,
            termination=term,
            solver=res.solver,
            params=params,
            message=f"the LP relaxation has no solution at the full budget ({res.message})",
        )
    r_star, s_star = matrices(inst, res.values)
    s_star = np.clip(s_star, 0.0, 1.0)
    candidates: list[tuple[str, np.ndarray]] = []
    if rounding == "sweep":
        candidates = [(f"threshold={th}", s_star >= th - 1e-9) for th in SWEEP_THRESHOLDS]
    elif rounding == "threshold_0.5":
        candidates = [("threshold=0.5", s_star >= 0.5 - 1e-9)]
    else:
        rng = np.random.default_rng(seed)
        candidates = [(f"round={k}", rng.random(s_star.shape) < s_star) for k in range(rounds)]
    keep_r = variant != "full"
    r_round = r_star >= 0.5
    best: tuple[tuple[int, int], str, Schedule, object] | None = None
    fallback: tuple[tuple[int, int], str, Schedule, object] | None = None
    tried = fits = 0
    seen: set[bytes] = set()
    for label, s in candidates:
        key = np.packbits(s).tobytes()
        if key in seen:
            continue
        seen.add(key)
        tried += 1
        if keep_r:
            sched = Schedule(R=r_round, S=s)
            try:
                rep = simulate(graph, sched)
            except ScheduleError:  # a rounding of a cover-variant LP that is not a schedule
                continue
        else:
            sched = Schedule.from_s(graph, s)
            rep = simulate(graph, sched)
        item = ((rep.compute_cost, rep.peak_activation_memory), label, sched, rep)
        if rep.peak_activation_memory <= budget:
            fits += 1
            if best is None or item[0] < best[0]:
                best = item
        fkey = (rep.peak_activation_memory, rep.compute_cost)
        if fallback is None or fkey < (fallback[0][1], fallback[0][0]):
            fallback = item
    chosen = best if best is not None else fallback
    params.update({"candidates": tried, "candidates_within_budget": fits})
    bound = None
    if lp_budget == budget and res.objective is not None:
        bound = inst.bound_to_cost(res.objective)
    if chosen is None:
        return SolveResult.from_schedule(
            graph,
            None,
            strategy="lp_rounding",
            budget=budget,
            solve_time_s=time.perf_counter() - t0,
            termination=Termination.ERROR,
            objective_bound=bound,
            solver=res.solver,
            params=params,
            message="no rounding gave a valid schedule",
        )
    params["winner"] = chosen[1]
    msg = "" if best is not None else "no rounded schedule fits the budget; smallest peak returned"
    return SolveResult.from_schedule(
        graph,
        chosen[2],
        strategy="lp_rounding",
        budget=budget,
        solve_time_s=time.perf_counter() - t0,
        termination=Termination.COMPLETED,
        objective_bound=bound,
        solver=res.solver,
        params=params,
        message=msg,
    )


def lp_bound(
    graph: Graph,
    budget: int | None,
    *,
    solver: str | Backend | None = "highs",
    options: SolveOptions = SolveOptions(),  # noqa: B008 - frozen dataclass
    eps_noise: float = 0.0,
    seed: int | None = 0,
    variant: Variant = "full",
    tighten: bool = False,
) -> SolveResult:
    """The LP lower bound on the compute cost at ``budget``, in real cost units.

    No schedule is returned; ``objective_bound`` holds the bound (rounded up to the cost
    gcd, since every schedule's cost is a multiple of it). With ``eps_noise > 0`` the bound is
    divided by the largest noise factor, so it stays valid for the exact costs.

    Returns
    -------
    SolveResult
        ``COMPLETED`` with ``objective_bound``, or ``INFEASIBLE`` when the LP is infeasible
        (then no schedule fits the budget).

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> lp_bound(linear_graph(4), 4).objective_bound <= 11
    True
    """
    budget = _check_budget(budget, "lp_bound")
    early = footprint_infeasible(graph, budget, "lp_bound")
    if early is not None:
        return early
    backend = get_backend(solver)
    t0 = time.perf_counter()
    inst, res = _solve_lp(
        graph,
        budget,
        backend=backend,
        options=options,
        eps_noise=eps_noise,
        seed=seed,
        variant=variant,
        tighten=tighten,
    )
    bound = None
    if res.termination is Termination.COMPLETED and res.objective is not None:
        bound = inst.bound_to_cost(res.objective)
    return SolveResult.from_schedule(
        graph,
        None,
        strategy="lp_bound",
        budget=budget,
        solve_time_s=time.perf_counter() - t0,
        termination=res.termination,
        objective_bound=bound,
        solver=res.solver,
        params={
            "variant": variant,
            "tighten": tighten,
            "eps_noise": inst.eps_noise,
            "lp_objective": res.objective,
        },
        message=res.message,
    )
