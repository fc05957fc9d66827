"""Maximum batch size under a memory limit (paper Figure 6).

Batch size enters through a *graph factory*, a function ``batch_size -> Graph``, so that a
Keras model builder, a cost profile or a scaled graph file can all be plugged in.

Two budget protocols for the baselines:

* ``"paper"``: a baseline succeeds when its simulated *peak* memory (activations + fixed)
  is at most ``memory_limit - fixed``; fixed memory is thus subtracted twice. This is what the
  original script did and what produced the published baseline numbers.
* ``"corrected"``: peak memory (activations + fixed) at most ``memory_limit``; fixed memory
  counted once, as the MILP does.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from checkmate_opt.graph import Graph
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import Termination
from checkmate_opt.schedule import Schedule

__all__ = [
    "GraphFactory",
    "MaxBatchBaselines",
    "MaxBatchMilp",
    "compute_cap",
    "max_batch_baselines",
    "max_batch_milp",
    "scaled_factory",
]

GraphFactory = Callable[[int], Graph]
Protocol = Literal["paper", "corrected"]
logger = logging.getLogger("checkmate_opt.solve")


def scaled_factory(graph: Graph, base_batch_size: int | None = None) -> GraphFactory:
    """A factory that scales ``graph``'s node memory linearly with the batch size.

    ``graph`` is taken to be at ``base_batch_size``, by default the batch size the graph
    records (:attr:`Graph.batch_size`, read from graph files); a graph that records none needs
    it given. Node memory at batch ``b`` is
    ``round(memory * b / base)``. Compute costs and parameter bytes are left unchanged (the
    compute cap is relative to the graph's own total, so a common factor does not matter).
    """
    if base_batch_size is None:
        base_batch_size = graph.batch_size
    if base_batch_size is None:
        raise ValueError(
            f"graph {graph.name or '(unnamed)'} does not record the batch size it was built at; "
            "give base_batch_size (--base-batch-size on the command line)"
        )
    if base_batch_size < 1:
        raise ValueError(f"base_batch_size must be >= 1, got {base_batch_size}")

    def factory(batch_size: int) -> Graph:
        if batch_size < 1:
            raise ValueError(f"batch size must be >= 1, got {batch_size}")
        mem = [round(m * batch_size / base_batch_size) for m in graph.memory_cost]
        return graph.with_costs(
            memory_cost=mem, name=f"{graph.name}_b{batch_size}", batch_size=batch_size
        )

    return factory


def compute_cap(graph: Graph, compute_factor: float = 2.0) -> int:
    """Largest total compute allowed: forward nodes ``compute_factor`` times, the rest once.

    With the default 2 this is one extra forward pass.
    """
    fwd = sum(graph.compute_cost[i] for i in graph.forward_nodes)
    return math.floor(graph.total_compute + (compute_factor - 1.0) * fwd + 1e-9)


@dataclass(frozen=True, kw_only=True)
class MaxBatchBaselines:
    """Largest successful batch size per baseline strategy.

    Attributes
    ----------
    max_batch
        Strategy name -> largest batch size at which it succeeded (``None``: never).
    successes
        Strategy name -> every batch size at which it succeeded.
    """

    memory_limit: int
    protocol: str
    compute_factor: float
    batch_sizes: tuple[int, ...]
    max_batch: Mapping[str, int | None]
    successes: Mapping[str, tuple[int, ...]] = field(repr=False)
    wall_time_s: float = 0.0

    def rows(self) -> list[dict[str, object]]:
        """One row per strategy."""
        return [
            {
                "strategy": s,
                "max_batch_size": b,
                "protocol": self.protocol,
                "memory_limit": self.memory_limit,
            }
            for s, b in self.max_batch.items()
        ]

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`rows` as CSV."""
        _write_csv(path, self.rows())


def max_batch_baselines(
    factory: GraphFactory,
    *,
    memory_limit: int,
    batch_sizes: Iterable[int],
    protocol: Protocol = "corrected",
    compute_factor: float = 2.0,
    greedy_grid: str = "max_batch",
    on_batch: Callable[[int, Mapping[str, bool]], None] | None = None,
) -> MaxBatchBaselines:
    """The baseline max-batch protocol.

    For every batch size, every baseline runs (the greedy ones over ``greedy_grid``); a
    strategy succeeds at that batch size when one of its results fits the memory limit (see
    ``protocol``) and costs at most :func:`compute_cap`.

    Parameters
    ----------
    factory
        Batch size -> graph.
    memory_limit
        Device memory in bytes (16e9 for the paper's V100).
    batch_sizes
        Batch sizes to try.
    protocol
        ``"corrected"`` (the default, as on the command line: fixed memory counted once, as
        the MILP does) or ``"paper"`` (fixed memory subtracted twice, as published).
    compute_factor
        Compute cap factor on the forward pass (2: one extra forward pass).
    greedy_grid
        Grid of the greedy baselines (``"max_batch"``: 60 points, as the paper).
    on_batch
        Called after each batch size with ``{strategy: succeeded}``.

    Returns
    -------
    MaxBatchBaselines

    Raises
    ------
    ValueError
        For an unknown protocol or no batch sizes.
    """
    from checkmate_opt.strategies.baselines import baseline_results

    if protocol not in ("paper", "corrected"):
        raise ValueError(f"unknown protocol {protocol!r}; choose 'paper' or 'corrected'")
    sizes = tuple(int(b) for b in batch_sizes)
    if not sizes:
        raise ValueError("give at least one batch size")
    t0 = time.perf_counter()
    successes: dict[str, list[int]] = {}
    for bs in sizes:
        g = factory(bs)
        cap = compute_cap(g, compute_factor)
        limit = memory_limit - g.fixed_memory if protocol == "paper" else memory_limit
        ok: dict[str, bool] = {}
        for r in baseline_results(g, greedy_grid=greedy_grid, include_griewank=False):
            ok.setdefault(r.strategy, False)
            rep = r.report
            if rep is not None and rep.peak_memory <= limit and rep.compute_cost <= cap:
                ok[r.strategy] = True
        for s, good in ok.items():
            successes.setdefault(s, [])
            if good:
                successes[s].append(bs)
        if on_batch is not None:
            on_batch(bs, ok)
    return MaxBatchBaselines(
        memory_limit=int(memory_limit),
        protocol=protocol,
        compute_factor=compute_factor,
        batch_sizes=sizes,
        max_batch={s: (max(v) if v else None) for s, v in successes.items()},
        successes={s: tuple(v) for s, v in successes.items()},
        wall_time_s=time.perf_counter() - t0,
    )


@dataclass(frozen=True, kw_only=True)
class MaxBatchMilp:
    """The MILP max batch size (linear min-peak form).

    Attributes
    ----------
    max_batch_size
        ``floor(budget / min_peak)`` from the best schedule found, confirmed by simulating
        the schedule on the graph at that batch size (memory and compute cap; lowered until it
        fits); ``None`` without a schedule.
    max_batch_upper
        ``floor(budget / peak_bound)``: no schedule within the compute cap does better.
    min_peak_bytes, peak_bound_bytes
        The incumbent's peak ``P`` and the solver's lower bound on it, at batch size 1.
    budget
        Activation budget: ``memory_limit - fixed memory`` of the batch-1 graph.
    schedule
        The batch-1 schedule (R from ``solve_r_opt``), or ``None``.
    simulated_peak_bytes, compute_cost
        Simulated peak activation memory and compute of that schedule at batch size 1.
    """

    memory_limit: int
    budget: int
    compute_factor: float
    compute_cap: int
    termination: Termination
    max_batch_size: int | None
    max_batch_upper: int | None
    min_peak_bytes: float | None
    peak_bound_bytes: float | None
    simulated_peak_bytes: int | None
    compute_cost: int | None
    schedule: Schedule | None = field(repr=False)
    solve_time_s: float
    solver: str

    def rows(self) -> list[dict[str, object]]:
        """One row (CSV-friendly)."""
        return [
            {
                "strategy": "optimal_milp",
                "max_batch_size": self.max_batch_size,
                "max_batch_upper": self.max_batch_upper,
                "status": self.termination.value,
                "min_peak_bytes": self.min_peak_bytes,
                "peak_bound_bytes": self.peak_bound_bytes,
                "memory_limit": self.memory_limit,
                "solve_time_s": round(self.solve_time_s, 3),
                "solver": self.solver,
            }
        ]

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`rows` as CSV."""
        _write_csv(path, self.rows())


def max_batch_milp(
    factory: GraphFactory,
    *,
    memory_limit: int,
    solver: str | None = "highs",
    options: SolveOptions = SolveOptions(),  # noqa: B008 - frozen dataclass
    compute_factor: float = 2.0,
    warm_start: bool = True,
    progress: Callable[[int | None, int | None, float], None] | None = None,
) -> MaxBatchMilp:
    """Maximum batch size by the MILP: minimise the peak at batch size 1 under a compute cap.

    The bilinear max-batch MILP of the paper is solved in its linear form: minimise
    ``P`` subject to the Checkmate rows, ``U <= P`` and the compute cap; then the maximum batch size
    is ``budget / P*`` (node memory scales linearly with the batch size). While solving, the
    batch size of the incumbent and the bound are logged (or passed to ``progress`` as
    ``(incumbent_batch, bound_batch, seconds)``).

    Parameters
    ----------
    factory
        Batch size -> graph; only batch size 1 is built.
    memory_limit
        Device memory in bytes; the activation budget is ``memory_limit - fixed``.
    solver, options
        Backend and its options.
    compute_factor
        Compute cap factor (2: one extra forward pass).
    warm_start
        Start from the baseline with the smallest (MILP-accounted) peak within the cap.
    progress
        Progress sink (default: log lines on ``checkmate_opt.solve``).

    Returns
    -------
    MaxBatchMilp

    Raises
    ------
    ValueError
        When the fixed memory alone exceeds the memory limit.
    """
    from checkmate_opt.backends import Progress, get_backend
    from checkmate_opt.milp.accounting import clean_schedule, milp_peak
    from checkmate_opt.milp.extract import schedule_from_values, start_from_schedule
    from checkmate_opt.milp.formulation import build_instance
    from checkmate_opt.simulate import simulate

    g = factory(1)
    budget = int(memory_limit) - g.fixed_memory
    if budget <= 0:
        raise ValueError(
            f"fixed memory {g.fixed_memory} B leaves nothing of memory_limit {memory_limit} B"
        )
    cap = compute_cap(g, compute_factor)
    backend = get_backend(solver)
    t0 = time.perf_counter()
    # the paper's max-batch MILP carries the tightening rows too
    inst = build_instance(g, None, mode="min_peak", compute_cap=cap, tighten=True)
    start = None
    if warm_start:
        from checkmate_opt.strategies.baselines import baseline_results

        best: tuple[int, Schedule] | None = None
        for r in baseline_results(g, greedy_grid="max_batch", include_griewank=False):
            if r.schedule is None:
                continue
            s = clean_schedule(g, r.schedule)
            if simulate(g, s).compute_cost > cap:
                continue
            p = milp_peak(g, s)
            if best is None or p < best[0]:
                best = (p, s)
        if best is not None:
            start = start_from_schedule(inst, best[1])

    def to_batch(peak_units: float | None) -> int | None:
        if peak_units is None or peak_units <= 0:
            return None
        return int(budget // (peak_units * inst.mem_unit))

    def sink(ev: Progress) -> None:
        inc = to_batch(ev.incumbent)
        bnd = None if ev.bound is None else to_batch(ev.bound)
        if progress is not None:
            progress(inc, bnd, ev.time_s)
        else:
            logger.info("t=%.1fs max batch: incumbent %s, bound %s", ev.time_s, inc, bnd)

    res = backend.solve(inst.model, options, start=start, progress=sink)
    schedule = None
    sim_peak = cost = None
    p_bytes = bound_bytes = None
    if res.values is not None:
        # the solver's own R: it satisfies the cap and its MILP peak is the incumbent's P
        schedule = schedule_from_values(inst, res.values, recompute_r=False)
        rep = simulate(g, schedule)
        sim_peak, cost = rep.peak_activation_memory, rep.compute_cost
        p_bytes = float(milp_peak(g, schedule))  # exact bytes, by the MILP's accounting
    if res.objective_bound is not None and res.objective_bound > 0:
        bound_bytes = inst.bound_to_cost(res.objective_bound)
    max_bs = None if not p_bytes else int(budget // p_bytes)
    # the simulator referees: the schedule must fit (memory and compute cap) at that batch size
    while schedule is not None and max_bs:
        gb = factory(max_bs)
        rep_b = simulate(gb, schedule)
        fits_memory = rep_b.peak_activation_memory <= int(memory_limit) - gb.fixed_memory
        if fits_memory and rep_b.compute_cost <= compute_cap(gb, compute_factor):
            break
        max_bs -= 1
    return MaxBatchMilp(
        memory_limit=int(memory_limit),
        budget=budget,
        compute_factor=compute_factor,
        compute_cap=cap,
        termination=res.termination,
        max_batch_size=max_bs or None,
        max_batch_upper=None if not bound_bytes else int(budget // bound_bytes),
        min_peak_bytes=p_bytes,
        peak_bound_bytes=bound_bytes,
        simulated_peak_bytes=sim_peak,
        compute_cost=cost,
        schedule=schedule,
        solve_time_s=time.perf_counter() - t0,
        solver=res.solver.name,
    )


def _write_csv(path: str | os.PathLike[str], rows: list[dict[str, object]]) -> None:
    from checkmate_opt.experiments.runner import ensure_folder
    from checkmate_opt.io import write_atomic

    p = Path(path)
    ensure_folder(p.parent)
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    write_atomic(p, buf.getvalue())
