"""The optimal schedule: the Checkmate MILP solved by a backend.

The schedule is read from the solver's S (rounded), R is recomputed with ``solve_r_opt``
(never costlier than the solver's R) and the result is simulated: the reported cost and memory
come from the simulator, the bound from the solver.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from checkmate_opt.backends import Backend, Progress, get_backend, log_progress
from checkmate_opt.errors import ScheduleError
from checkmate_opt.graph import Graph
from checkmate_opt.milp.accounting import clean_schedule, milp_peak
from checkmate_opt.milp.extract import schedule_from_values, start_from_schedule
from checkmate_opt.milp.formulation import MilpInstance, Variant, build_instance
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import SolveResult, SolverInfo, Termination
from checkmate_opt.schedule import Schedule

__all__ = ["optimal", "optimal_sweep", "warm_start_schedule"]


def _check_budget(budget: int | None, strategy: str) -> int:
    if budget is None:
        raise ValueError(f"{strategy} needs a memory budget in bytes (got None)")
    if int(budget) != budget or budget < 0:
        raise ValueError(
            f"{strategy}: budget must be a non-negative integer of bytes, got {budget}"
        )
    return int(budget)


def footprint_infeasible(graph: Graph, budget: int, strategy: str) -> SolveResult | None:
    """``INFEASIBLE`` at once when ``budget`` is below the graph's single-node footprint.

    Computing node ``v`` needs its inputs and its output resident together, so no schedule,
    whatever it recomputes, fits a budget below ``max_v footprint(v)``.
    """
    need = graph.min_feasible_memory()
    if budget >= need:
        return None
    v = graph.min_feasible_node
    return SolveResult.from_schedule(
        graph,
        None,
        strategy=strategy,
        budget=budget,
        solve_time_s=0.0,
        termination=Termination.INFEASIBLE,
        message=(
            f"no schedule fits {budget} bytes: node {v} ({graph.names[v]}) needs its inputs and "
            f"output, {need} bytes, resident at once; the least memory any schedule needs is "
            f"at least {need} bytes"
        ),
        params={"min_feasible_memory": need, "min_feasible_node": graph.names[v]},
    )


def _no_solve(elapsed: float, solver_name: str) -> Any:
    """A backend result for a solve skipped because the time limit was already spent."""
    from checkmate_opt.backends.base import BackendResult

    return BackendResult(
        termination=Termination.TIME_LIMIT,
        values=None,
        objective=None,
        objective_bound=None,
        solver=SolverInfo(name=solver_name),
        wall_time_s=0.0,
        message=f"the time limit was spent before the solver started ({elapsed:.1f} s on the "
        "model build and warm start)",
    )


def compile_instance(inst: MilpInstance) -> Any:
    """The solver-ready standard form of ``inst``: written directly with numpy for the
    ``"full"`` variant (no Pyomo instance needed), else compiled from the Pyomo model."""
    from checkmate_opt.backends.base import CompiledModel, compile_model

    if inst.fast_matrices:
        return CompiledModel(**inst.matrices())
    return compile_model(inst.model)


def exact_gap(options: SolveOptions, inst: MilpInstance) -> SolveOptions:
    """With exact costs and no gap asked for, stop only at proven optimality.

    Exact costs are integers in gcd units, so an absolute gap below one unit (and no relative
    gap) proves the incumbent optimal; the solvers' default relative gap (1e-4) would accept
    a schedule up to 0.01 % costlier and still call it optimal.
    """
    if options.mip_rel_gap is not None or options.mip_abs_gap is not None:
        return options
    if inst.eps_noise or inst.mode != "budget":
        return options
    return dataclasses.replace(options, mip_rel_gap=0.0, mip_abs_gap=1.0 - 1e-6)


def _time_left(options: SolveOptions, started: float) -> float:
    """Fraction of the time limit still left (1.0 without a limit)."""
    if options.time_limit_s is None:
        return 1.0
    return max(0.0, 1.0 - (time.perf_counter() - started) / options.time_limit_s)


def _share_deadline(options: SolveOptions, started: float, frac: float) -> float | None:
    """A ``perf_counter`` deadline ``frac`` of the time left from now (None without a limit)."""
    if options.time_limit_s is None:
        return None
    now = time.perf_counter()
    left = options.time_limit_s - (now - started)
    return now + frac * max(0.0, left)


def remaining_time(options: SolveOptions, started: float) -> SolveOptions:
    """``options`` with the time limit cut by what the call has already spent (model build,
    warm start) and a small reserve for the read-back, so that the limit bounds the whole
    call and not just the solver."""
    if options.time_limit_s is None:
        return options
    # kept back for reading the solution back and simulating it (large graphs: ~0.5 s)
    reserve = min(0.03 * options.time_limit_s, 1.0)
    left = options.time_limit_s - (time.perf_counter() - started) - reserve
    return dataclasses.replace(options, time_limit_s=max(0.05, left))


def _fits(graph: Graph, schedule: Schedule, budget: int) -> tuple[int, Schedule] | None:
    """``(cost, cleaned schedule)`` when ``schedule`` fits ``budget`` by the MILP's accounting."""
    sched = clean_schedule(graph, schedule)
    if milp_peak(graph, sched) > budget:
        return None
    return int(sched.R.sum(axis=0) @ graph.compute_array), sched


def warm_start_schedule(
    graph: Graph,
    budget: int,
    *,
    baselines: list[SolveResult] | None = None,
    extra: Sequence[tuple[Schedule, str]] = (),
) -> tuple[Schedule, str] | None:
    """The cheapest candidate schedule that fits ``budget`` under the MILP's accounting.

    Candidates are the baselines (``baselines``, computed here when ``None``) and ``extra``
    ``(schedule, source)`` pairs. Each is first cleaned
    (:func:`~checkmate_opt.milp.accounting.clean_schedule`), which never raises its simulated
    cost or memory and makes the MILP's accounting agree with the simulator's; schedules
    whose MILP peak still exceeds the budget are skipped. Ties go to the earlier candidate
    (``extra`` first), so the choice is deterministic. Returns ``(schedule, source)`` or ``None``.
    """
    from checkmate_opt.strategies.baselines import baseline_results

    if baselines is None:
        baselines = list(baseline_results(graph, greedy_grid="max_batch"))
    cands = list(extra)
    cands += [(r.schedule, r.strategy) for r in baselines if r.schedule is not None]
    cost_of = graph.compute_array
    best: tuple[int, Schedule, str] | None = None
    for sched0, source in cands:
        if best is not None and int(sched0.R.sum(axis=0) @ cost_of) >= best[0]:
            continue  # cleaning only lowers the cost, but not below this
        fit = _fits(graph, sched0, budget)
        if fit is None or (best is not None and fit[0] >= best[0]):
            continue
        best = (fit[0], fit[1], source)
    return None if best is None else (best[1], best[2])


def best_within_budget(
    graph: Graph,
    budget: int,
    candidates: Sequence[tuple[Schedule, str]],
    *,
    simulated: Sequence[SolveResult] = (),
) -> tuple[Schedule, str] | None:
    """The cheapest candidate that the simulator puts within ``budget`` (ties: the first).

    This is what ``optimal`` already holds before solving, so it never returns anything
    costlier, even where the MILP's stricter accounting rejects the candidate as a MIP start.
    ``simulated`` are results whose simulator report is reused (the baselines); the other
    candidates are simulated here, cheapest first, only while they could still win.
    """
    from checkmate_opt.simulate import simulate

    cost_of = graph.compute_array
    best: tuple[int, Schedule, str] | None = None
    for r in simulated:
        if r.schedule is None or r.report is None or r.compute_cost is None:
            continue
        if r.report.peak_activation_memory <= budget and (best is None or r.compute_cost < best[0]):
            best = (int(r.compute_cost), r.schedule, r.strategy)
    order = sorted(
        range(len(candidates)),
        key=lambda k: (int(candidates[k][0].R.sum(axis=0) @ cost_of), k),
    )
    for k in order:
        sched, source = candidates[k]
        if best is not None and int(sched.R.sum(axis=0) @ cost_of) >= best[0]:
            break  # the simulator charges exactly the computations in R
        try:
            rep = simulate(graph, sched)
        except ScheduleError:
            continue
        if rep.peak_activation_memory <= budget and (best is None or rep.compute_cost < best[0]):
            best = (rep.compute_cost, sched, source)
    return None if best is None else (best[1], best[2])


#: above this many nodes LP rounding is tried as a seed only when no other candidate fits
LP_SEED_MAX_NODES = 200
#: under a shorter time limit the LP seed is skipped (its LP solves and roundings would eat
#: the limit; baselines and the solver use it better)
LP_SEED_MIN_LIMIT_S = 5.0


#: at most this many seconds of ``anytime`` seeding on graphs of at most LP_SEED_MAX_NODES
#: nodes: on the benchmark CNNs its first schedule is already optimal, on segnet within
#: 0.001 % at 0.5 s
SMALL_ANYTIME_S = 0.5
#: ... and it ends once it has not improved for as long as its last gain took (at least this
#: long): on the benchmark graphs the seed stops improving within 0.13 s (segnet, MobileNet,
#: random_layered_n100), so the rest of the 0.5 s was idle search
SMALL_PATIENCE_S = 0.1
#: HiGHS without its root sub-MIP heuristics: with a seed that is already (near) optimal they
#: only cost time (vgg19 0.8: 4.4 s -> 1.8 s); with a poor seed they are what finds better
#: schedules (random_layered_n100 0.8: stuck at 6.3 % without them)
SEEDED_HIGHS_OPTIONS: dict[str, object] = {
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
}
#: models of this many columns and up are raced in two HiGHS configurations (memory doubles);
#: below RACE_MIN_COLUMNS a second process costs more than it can save
RACE_MAX_COLUMNS = 250_000
RACE_MIN_COLUMNS = 2_000


def _solver_for(
    backend: Backend, options: SolveOptions, *, race: bool, seeded: bool, size: int
) -> Backend:
    """The backend to solve with: with a seed in hand, on two or more cores, HiGHS races its
    default configuration against :data:`SEEDED_HIGHS_OPTIONS` (one process each, the cores
    shared between them); the first proof wins. Otherwise ``backend`` as it is."""
    from checkmate_opt.backends.highs import HighsBackend, usable_cpus

    if (
        not race
        or not seeded
        or type(backend) is not HighsBackend
        or backend.alternatives
        or backend.isolate is False
        or options.threads is not None
        or not RACE_MIN_COLUMNS <= size <= RACE_MAX_COLUMNS
        or usable_cpus() < 2
    ):
        return backend
    return HighsBackend(isolate=True, alternatives=(SEEDED_HIGHS_OPTIONS,))


#: seconds kept between the end of the search beside the solver and the solver's own limit
BESIDE_MARGIN_S = 0.5


def _search_beside(backend: Backend, options: SolveOptions, graph: Graph, anytime_s: float) -> bool:
    """Whether ``anytime`` runs beside the solver (see ``optimal``'s ``beside``)."""
    from checkmate_opt.backends.highs import HighsBackend, usable_cpus
    from checkmate_opt.strategies import STRATEGIES

    return (
        graph.n > LP_SEED_MAX_NODES
        and anytime_s > 0
        and "anytime" in STRATEGIES
        and options.time_limit_s is not None
        and options.threads is None
        and type(backend) is HighsBackend
        and not backend.alternatives
        and backend.isolate is not False
        and usable_cpus() >= 2
    )


def _merged(
    sink: Callable[[Progress], None] | None,
) -> tuple[Callable[[Progress], None], Callable[[], None]]:
    """One progress stream from two searches in two threads: the backends' filter (best
    incumbent, best bound, improvements only) behind a lock; and the flush of the last pair
    it held back."""
    from checkmate_opt.backends.base import _ProgressFilter

    filt = _ProgressFilter(sink)
    lock = threading.Lock()

    def take(ev: Progress) -> None:
        with lock:
            filt(ev.incumbent, ev.bound)

    def flush() -> None:
        with lock:
            filt(None, None, final=True)

    return take, flush


def _solve_beside_anytime(
    graph: Graph,
    budget: int,
    inst: MilpInstance,
    compiled: Any,
    start: Any,
    seed_info: tuple[Schedule, str] | None,
    options: SolveOptions,
    started: float,
    progress: Callable[[Progress], None] | None,
) -> tuple[Any, tuple[Schedule, str] | None]:
    """HiGHS (one thread, in its child process) and ``anytime`` (a thread of this process) at
    once; the solver's result and the cheaper of the seed and ``anytime``'s schedule.

    The solver runs in the calling thread, so Ctrl-C reaches it as in a plain solve; when it
    returns (proof, limit or Ctrl-C) the search is told to stop."""
    from checkmate_opt.backends.highs import HighsBackend
    from checkmate_opt.strategies.anytime import anytime

    solver_opts = remaining_time(exact_gap(dataclasses.replace(options, threads=1), inst), started)
    merged, flush = _merged(progress)
    stop = threading.Event()
    box: dict[str, SolveResult] = {}
    seconds = max(0.0, float(solver_opts.time_limit_s or 0.0) - BESIDE_MARGIN_S)

    def search() -> None:
        with contextlib.suppress(Exception):  # a failed search leaves the seed, never the solve
            box["res"] = anytime(
                graph,
                budget,
                options=SolveOptions(time_limit_s=seconds, seed=options.seed),
                progress=merged,
                stop=stop,
                workers=1,  # the other core is the solver's
            )

    worker = threading.Thread(target=search, name="checkmate-optimal-anytime", daemon=True)
    worker.start()
    try:
        res = HighsBackend(isolate=True).solve(
            None,
            solver_opts,
            compiled=compiled,
            start=start,
            progress=progress_in_cost_units(inst, merged),
        )
    finally:
        stop.set()
        worker.join(BESIDE_MARGIN_S + 5.0)
        flush()
    found = box.get("res")
    if found is not None and found.schedule is not None and found.within_budget:
        cost = found.compute_cost
        seed_cost = (
            None if seed_info is None else int(seed_info[0].R.sum(axis=0) @ graph.compute_array)
        )
        if cost is not None and (seed_cost is None or cost < seed_cost):
            seed_info = (found.schedule, "anytime beside the solver")
    return res, seed_info


def _seed_candidates(
    graph: Graph,
    budget: int,
    backend: Backend,
    options: SolveOptions,
    started: float,
    *,
    lp_seed: bool,
    anytime_s: float,
    have_fit: bool,
    patience_s: float | None = None,
) -> list[tuple[Schedule, str]]:
    """Extra warm-start candidates: a short ``anytime`` run (when registered), then LP rounding.

    Each gets a share of the time limit, so that seeding never eats the solve. On graphs over
    :data:`LP_SEED_MAX_NODES` nodes the LP (as large as the MILP) is solved only when nothing
    else fits.
    """
    from checkmate_opt.strategies import STRATEGIES, get_strategy

    out: list[tuple[Schedule, str]] = []
    limit = options.time_limit_s

    def share(frac: float, cap: float | None) -> float | None:
        if limit is None:
            return cap
        left = limit - (time.perf_counter() - started)
        budget_s = frac * left
        return budget_s if cap is None else min(cap, budget_s)

    # baselines already seed small graphs well; anytime pays where none fits or the graph is big
    if "anytime" in STRATEGIES and anytime_s > 0 and (not have_fit or graph.n > LP_SEED_MAX_NODES):
        t = share(0.2, anytime_s)
        if t is not None and t > 0.2:
            fn = get_strategy("anytime")
            extra: dict[str, Any] = {}
            if patience_s is not None and "patience_s" in inspect.signature(fn).parameters:
                extra["patience_s"] = patience_s
            try:
                res = fn(
                    graph, budget, options=SolveOptions(time_limit_s=t, seed=options.seed), **extra
                )
            except Exception:
                res = None
            if res is not None and res.schedule is not None and res.within_budget:
                out.append((res.schedule, "anytime"))
    short = limit is not None and limit < LP_SEED_MIN_LIMIT_S
    if lp_seed and not short and (graph.n <= LP_SEED_MAX_NODES or not (have_fit or out)):
        from checkmate_opt.strategies.lp_rounding import lp_rounding

        t = share(0.5, None)
        if t is None or t > 0.2:
            quiet = dataclasses.replace(options, time_limit_s=t, verbose=False)
            try:
                res = lp_rounding(graph, budget, solver=backend, options=quiet, eps_noise=0.0)
            except Exception:
                res = None
            if res is not None and res.schedule is not None and res.within_budget:
                out.append((res.schedule, "lp_rounding"))
    return out


def progress_in_cost_units(
    inst: MilpInstance, sink: Callable[[Progress], None] | None
) -> Callable[[Progress], None] | None:
    """Wrap a progress sink so that it sees real cost units instead of scaled ones.

    The bound goes through :meth:`MilpInstance.bound_to_cost`, the same conversion as the
    result's ``objective_bound``; with exact costs (the default) the incumbent is exactly the
    cost of the solver's schedule, so the lines agree with the final report.
    """
    if sink is None:
        return None

    def convert(ev: Progress) -> None:
        sink(
            Progress(
                ev.time_s,
                None if ev.incumbent is None else inst.objective_to_cost(ev.incumbent),
                None if ev.bound is None else inst.bound_to_cost(ev.bound),
            )
        )

    return convert


def optimal(
    graph: Graph,
    budget: int | None,
    *,
    solver: str | Backend | None = "highs",
    options: SolveOptions = SolveOptions(),  # noqa: B008 - frozen dataclass
    eps_noise: float = 0.0,
    seed: int | None = 0,
    warm_start: bool = True,
    lp_seed: bool = True,
    anytime_s: float = 5.0,
    race: bool = True,
    beside: bool = True,
    variant: Variant = "full",
    tighten: bool = True,
    progress: Callable[[Progress], None] | None = log_progress,
    baselines: list[SolveResult] | None = None,
    seeds: Sequence[tuple[Schedule, str]] = (),
) -> SolveResult:
    """The cheapest schedule within ``budget``: solve the Checkmate MILP.

    Parameters
    ----------
    graph
        The training graph.
    budget
        Activation-memory budget in bytes (fixed memory excluded).
    solver
        ``"highs"`` (default), ``"gurobi"``, ``None`` (first available) or a Backend.
    options
        Time limit (of the whole call: build, warm start and solve), MIP gap, threads, seed,
        verbosity, vendor options.
    eps_noise
        Relative per-node cost noise (``1 + eps * z_i``, seeded). The default 0 solves the
        exact costs, so "proven optimal" holds for the real cost; noise only changes which of
        several equally cheap schedules is found, and can cost optimality by up to ``eps``.
    seed
        Seed of the noise.
    warm_start
        Seed the solve (a MIP start) with the cheapest of: the baselines, LP rounding
        (``lp_seed``), a short ``anytime`` run (``anytime_s``, when that strategy is
        registered) and ``seeds``, among those that fit. The returned schedule is never
        costlier than that seed.
    lp_seed
        Try LP rounding as a warm start (at most half of the time left).
    anytime_s
        Seconds for the ``anytime`` strategy's warm start (0: skip it); on graphs of at most
        200 nodes at most 0.5 s (0.01 s per node below 50), and LP rounding runs only when
        it finds no schedule.
    race
        With a warm start in hand and two or more cores, solve with two HiGHS processes at
        once: its defaults, and without its root sub-MIP heuristics (RINS, RENS, reduced-cost
        fixing heuristic), which only cost time when the seed is already optimal but are what
        improves a poor one. The first proof wins; otherwise the best incumbent and the best
        bound of either count. Only for the ``highs`` backend, models of 2 000 to 250 000
        columns and no ``threads`` option.
    beside
        On graphs of more than 200 nodes under a time limit, with two or more cores: after
        the warm start, run ``anytime`` beside the solver (HiGHS on one thread) for the rest
        of the limit; the cheaper schedule of the two is returned, with the solver's bound.
        On those graphs the solver rarely improves on ``anytime`` within minutes, but it is
        what proves a bound (and, on ResNet50, optimality). Only for the ``highs`` backend,
        the ``"full"`` variant with ``warm_start``, and no ``threads`` option.
    variant
        ``"full"`` (the paper's), ``"cover_all"`` or ``"cover_last"``.
    tighten
        Add the disaggregated hazard rows (same optimum, tighter LP relaxation; about 2x
        faster on MobileNet). ``False`` solves exactly the paper's rows.
    progress
        Called with the incumbent and bound (real cost units) as they improve; default: log
        lines on the ``checkmate_opt.solve`` logger; ``None``: silent.
    baselines
        Baseline results to seed from (computed when ``None``; a sweep passes them once).
    seeds
        Further ``(schedule, source)`` warm-start candidates (e.g. a neighbouring budget's).

    Returns
    -------
    SolveResult
        ``COMPLETED`` with ``proven_optimal=True`` when the solver proved optimality (within
        the MIP gap); ``TIME_LIMIT`` / ``INTERRUPTED`` with the best schedule seen if there is
        one; ``INFEASIBLE`` without a schedule when no schedule fits.
        ``objective_bound`` is a valid lower bound on the compute cost in real units.

    Raises
    ------
    ValueError
        For a missing or negative budget or a bad variant.
    BackendUnavailableError, UnknownBackendError
        For a solver that is not installed or not registered (or over Gurobi's pip licence).

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> r = optimal(linear_graph(4), 4, progress=None)
    >>> r.termination.value, r.compute_cost, r.within_budget
    ('completed', 11, True)
    """
    budget = _check_budget(budget, "optimal")
    backend = get_backend(solver)
    t0 = time.perf_counter()
    early = footprint_infeasible(graph, budget, "optimal")
    if early is not None:
        return early
    seed_info = None
    found = None
    if warm_start and variant == "full":
        extra = list(seeds)
        small = graph.n <= LP_SEED_MAX_NODES
        if small:
            # anytime first: on the benchmark graphs its first schedules are usually already
            # the optimum; LP rounding (an LP as large as the MILP) only when it finds none
            quick = _seed_candidates(
                graph,
                budget,
                backend,
                options,
                t0,
                lp_seed=False,
                # tiny graphs need less (under 20 nodes it is skipped, see _seed_candidates)
                anytime_s=min(anytime_s, SMALL_ANYTIME_S * min(1.0, graph.n / 50)),
                have_fit=False,
                patience_s=SMALL_PATIENCE_S,
            )
            if lp_seed and not quick:
                quick = _seed_candidates(
                    graph, budget, backend, options, t0, lp_seed=True, anytime_s=0, have_fit=False
                )
            extra += quick
        if baselines is None and (not extra or _time_left(options, t0) > 0.5):
            # the baselines cannot be stopped midway: with a seed in hand and half the limit
            # gone, the solver gets the time instead
            from checkmate_opt.strategies.baselines import baseline_results

            baselines = list(
                baseline_results(
                    graph, greedy_grid="max_batch", deadline=_share_deadline(options, t0, 0.3)
                )
            )
        found = warm_start_schedule(graph, budget, baselines=baselines or [], extra=extra)
        more = _seed_candidates(
            graph,
            budget,
            backend,
            options,
            t0,
            lp_seed=lp_seed and not small,
            anytime_s=0 if small else anytime_s,
            have_fit=found is not None,
        )
        if more:
            extra += more
            found = warm_start_schedule(graph, budget, baselines=baselines or [], extra=extra)
        seed_info = best_within_budget(
            graph, budget, ([found] if found else []) + extra, simulated=baselines or []
        )
    if options.time_limit_s is not None:
        elapsed = time.perf_counter() - t0
        need = estimated_build_s(graph)
        if elapsed + need >= options.time_limit_s:
            # the model cannot be built (let alone solved) in the time left: the rest goes to
            # the anytime search, and the best schedule seen is the answer
            left = options.time_limit_s - elapsed - min(0.03 * options.time_limit_s, 1.0)
            seed_info, stopped = _longer_anytime(graph, budget, seed_info, left, options.seed)
            return _seed_only_result(
                graph,
                budget,
                seed_info,
                started=t0,
                solver=backend.name,
                interrupted=stopped,
                why=f"the time limit leaves {max(0.0, options.time_limit_s - elapsed):.1f} s "
                f"after the warm start; building the model takes about {need:.1f} s",
            )
    inst = build_instance(
        graph, budget, variant=variant, eps_noise=eps_noise, seed=seed, tighten=tighten
    )
    start = None if found is None else start_from_schedule(inst, found[0])
    if (
        options.time_limit_s is not None
        and time.perf_counter() - t0 >= options.time_limit_s
        and seed_info is not None
    ):
        # build and warm start used up the limit: the warm start is the answer
        return milp_result(
            graph,
            budget,
            inst,
            _no_solve(time.perf_counter() - t0, backend.name),
            strategy="optimal",
            started=t0,
            fallback=seed_info,
        )
    compiled = compile_instance(inst)  # before the time left is measured: it counts too
    if (
        beside
        and warm_start
        and variant == "full"
        and _search_beside(backend, options, graph, anytime_s)
    ):
        res, seed_info = _solve_beside_anytime(
            graph, budget, inst, compiled, start, seed_info, options, t0, progress
        )
        out = milp_result(
            graph, budget, inst, res, strategy="optimal", started=t0, fallback=seed_info
        )
        return dataclasses.replace(out, params={**out.params, "beside": "anytime"})
    solver_now = _solver_for(
        backend, options, race=race, seeded=start is not None, size=compiled.num_variables
    )
    res = solver_now.solve(
        None,
        remaining_time(exact_gap(options, inst), t0),
        compiled=compiled,
        start=start,
        progress=progress_in_cost_units(inst, progress),
    )
    return milp_result(
        graph,
        budget,
        inst,
        res,
        strategy="optimal",
        started=t0,
        fallback=seed_info,
    )


#: seconds per unit of ``n*n/2 + n*m/2`` to build and compile the full model (measured on the
#: 2-core development machine: random_layered_n500 ~5 s, n1000 ~22 s), rounded up
BUILD_S_PER_UNIT = 8e-6


def estimated_build_s(graph: Graph) -> float:
    """About how long building and compiling the full MILP of ``graph`` takes, in seconds."""
    n, m = graph.n, len(graph.edges)
    return BUILD_S_PER_UNIT * (n * n / 2 + n * m / 2)


def _longer_anytime(
    graph: Graph,
    budget: int,
    seed_info: tuple[Schedule, str] | None,
    seconds: float,
    seed: int | None,
) -> tuple[tuple[Schedule, str] | None, bool]:
    """The cheaper of ``seed_info`` and an ``anytime`` run of ``seconds`` (when registered),
    and whether Ctrl-C stopped that run."""
    from checkmate_opt.strategies import STRATEGIES, get_strategy

    if "anytime" not in STRATEGIES or seconds < 1.0:
        return seed_info, False
    try:
        res = get_strategy("anytime")(
            graph, budget, options=SolveOptions(time_limit_s=seconds, seed=seed)
        )
    except Exception:
        return seed_info, False
    stopped = res.termination is Termination.INTERRUPTED
    if res.schedule is None or not res.within_budget or res.compute_cost is None:
        return seed_info, stopped
    if seed_info is not None:
        cost = int(seed_info[0].R.sum(axis=0) @ graph.compute_array)
        if cost <= res.compute_cost:
            return seed_info, stopped
    return (res.schedule, "anytime"), stopped


def _seed_only_result(
    graph: Graph,
    budget: int,
    seed_info: tuple[Schedule, str] | None,
    *,
    started: float,
    solver: str,
    why: str,
    interrupted: bool = False,
) -> SolveResult:
    """A time-limited (or interrupted) result without a model: the best warm start (or
    none), simulated."""
    schedule = None if seed_info is None else seed_info[0]
    source = None if seed_info is None else f"warm start ({seed_info[1]})"
    return SolveResult.from_schedule(
        graph,
        schedule,
        strategy="optimal",
        budget=budget,
        solve_time_s=time.perf_counter() - started,
        termination=Termination.INTERRUPTED if interrupted else Termination.TIME_LIMIT,
        objective_bound=graph.total_compute if schedule is not None else None,
        solver=SolverInfo(name=solver),
        message=f"{why}: returned {source or 'no schedule'} without solving",
        params={
            "warm_start": None if seed_info is None else seed_info[1],
            "schedule_source": source,
            "estimated_build_s": round(estimated_build_s(graph), 2),
        },
    )


def optimal_sweep(
    graph: Graph,
    budgets: Sequence[int],
    **kwargs: Any,
) -> list[SolveResult]:
    """:func:`optimal` at each of ``budgets``, reusing work between them.

    The baselines are computed once, and the budgets are solved from the smallest up: every
    schedule that fits a budget fits all larger ones, so each solve is warm-started from its
    smaller neighbour's result (as well as the usual seeds). A budget below the graph's
    single-node footprint is ``INFEASIBLE`` at once. Results come back in the order of
    ``budgets``; ``kwargs`` are :func:`optimal`'s (``options.time_limit_s`` applies to each
    budget).
    """
    from checkmate_opt.strategies.baselines import baseline_results

    cleaned = [_check_budget(b, "optimal_sweep") for b in budgets]
    base = list(baseline_results(graph, greedy_grid="max_batch"))
    out: dict[int, SolveResult] = {}
    prev: list[tuple[Schedule, str]] = []
    for b in sorted(set(cleaned)):
        res = optimal(graph, b, baselines=base, seeds=prev, **kwargs)
        out[b] = res
        if res.schedule is not None and res.within_budget:
            prev = [(res.schedule, f"budget {b}")]
    return [out[b] for b in cleaned]


def milp_result(
    graph: Graph,
    budget: int,
    inst: MilpInstance,
    res: Any,
    *,
    strategy: str,
    started: float,
    fallback: tuple[Schedule, str] | None = None,
) -> SolveResult:
    """Turn a backend result into a simulated :class:`SolveResult`."""
    term = res.termination
    schedule = None
    source = "solver"
    if res.values is not None and term is not Termination.INFEASIBLE:
        schedule = schedule_from_values(inst, res.values)
    elif fallback is not None and term is not Termination.INFEASIBLE:
        schedule, source = fallback[0], f"warm start ({fallback[1]})"
    if schedule is not None and fallback is not None and source == "solver":
        # the best schedule seen: a solver stopped early (or a MIP start it dropped) must
        # never leave us with something costlier than the seed we already had
        cost_of = graph.compute_array
        if int(fallback[0].R.sum(axis=0) @ cost_of) < int(schedule.R.sum(axis=0) @ cost_of):
            schedule, source = fallback[0], f"warm start ({fallback[1]})"
    bound = None if res.objective_bound is None else inst.bound_to_cost(res.objective_bound)
    if term is Termination.INFEASIBLE:
        bound = None
    elif bound is None or bound < graph.total_compute:
        # every node is computed at least once: a bound even when the solver was stopped
        # before it reported one
        bound = graph.total_compute
    params: dict[str, object] = {
        "variant": inst.variant,
        "tighten": inst.tighten,
        "eps_noise": inst.eps_noise,
        "seed": inst.seed,
        "g_cpu": inst.g_cpu,
        "g_ram": inst.g_ram,
        "mem_unit": inst.mem_unit,
        "build_time_s": round(inst.build_time_s, 4),
        "solver_time_s": round(res.wall_time_s, 4),
        "warm_start": None if fallback is None else fallback[1],
        "schedule_source": source if schedule is not None else None,
        "milp_objective": None if res.objective is None else inst.objective_to_cost(res.objective),
    }
    msg = res.message
    if inst.eps_noise and term is Termination.COMPLETED:
        msg += f"; optimal for costs perturbed by eps={inst.eps_noise} (use eps_noise=0 for exact)"
    kwargs: dict[str, Any] = {
        "strategy": strategy,
        "budget": budget,
        "termination": term,
        "objective_bound": bound,
        "solver": res.solver,
        "params": params,
    }
    try:
        result = SolveResult.from_schedule(
            graph,
            schedule,
            solve_time_s=time.perf_counter() - started,
            proven_optimal=term is Termination.COMPLETED and schedule is not None,
            message=msg,
            **kwargs,
        )
    except ScheduleError as err:  # cover_last does not compute every node
        params["schedule_source"] = None
        result = SolveResult.from_schedule(
            graph,
            None,
            solve_time_s=time.perf_counter() - started,
            message=f"{msg}; the solution is not a complete schedule ({err})",
            **kwargs,
        )
    if result.schedule is not None and not result.within_budget:
        result = _over_budget(graph, result, fallback, started, kwargs)
    return result


def _over_budget(
    graph: Graph,
    result: SolveResult,
    fallback: tuple[Schedule, str] | None,
    started: float,
    kwargs: dict[str, Any],
) -> SolveResult:
    """The simulator puts the solver's schedule over budget: never call it optimal.

    Return the warm start when it fits; otherwise keep the schedule, flagged, with status
    ``other_limit`` (neither optimal nor completed).
    """
    assert result.report is not None
    over = result.report.peak_activation_memory - int(result.budget or 0)
    note = f"the solver's schedule is {over} bytes over budget in the simulator (tolerances)"
    params = dict(kwargs.pop("params"))
    kwargs.pop("termination")
    if fallback is not None:
        params["schedule_source"] = f"warm start ({fallback[1]})"
        return SolveResult.from_schedule(
            graph,
            fallback[0],
            solve_time_s=time.perf_counter() - started,
            termination=Termination.OTHER_LIMIT,
            message=f"{note}; returned the warm start instead",
            params=params,
            **kwargs,
        )
    return SolveResult.from_schedule(
        graph,
        result.schedule,
        solve_time_s=time.perf_counter() - started,
        termination=Termination.OTHER_LIMIT,
        message=f"{note}; no schedule within budget was found",
        params=params,
        **kwargs,
    )


__all__ += [
    "compile_instance",
    "exact_gap",
    "footprint_infeasible",
    "milp_result",
    "progress_in_cost_units",
    "remaining_time",
]
