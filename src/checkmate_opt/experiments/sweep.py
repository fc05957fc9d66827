"""Compute overhead versus memory budget (the paper's Figure 4), ``checkmate-opt sweep``.

For one graph (a graph file, or a zoo model with a cost model):

1. every heuristic baseline with its hyper-parameter grid: checkpoint all, checkpoint all
   articulation points, checkpoint last node, √n (articulation points and linearized), the two
   greedy variants over 300 segment sizes, Griewank's revolve on chains (one result per slot
   count);
2. the MILP at *global* budget points, spread between the least memory any schedule needs
   (the largest inputs-plus-output footprint of a node) and the checkpoint-all peak (plus the
   checkpoint-all peak itself), each seeded with the cheapest result found so far within its
   budget. The paper starts at the footprint of the forward nodes only; on VGG16 the first
   convolution's gradient needs more, so half of its points were infeasible by construction;
3. the MILP at *local* points, ``0.5 r ... 1.5 r`` with ``r`` the smallest peak of any result
   so far (where the optimal curve bends), again from the least feasible memory up, seeded the
   same way;
4. LP relaxation + rounding variants at every MILP budget.

The paper's script filed its two greedy sweeps under each other's names (its "AP greedy" curve
is the linearized greedy, and on non-chains the AP greedy overwrote "Generalized √n"); here
every result keeps its own strategy name and label.

Every figure comes from simulating the schedule. A solve that hits its time limit keeps its
incumbent, with status ``time_limit`` in the outputs.

Outputs in the sweep folder: ``results.jsonl`` (one result per line), ``slowdowns.csv``
(per strategy, the max and geometric mean of its running-minimum overhead divided by the MILP's
at each MILP step point), ``budget_sweep.png``/``.pdf`` and ``budget_sweep.txt``.

Inside ``checkmate-opt figures`` each sweep writes into ``<out>/sweep/<label>/`` with labels
``<stem>_paper`` (a published graph, e.g. ``vggunet_b32_paper``) and ``<stem>_zoo`` (the same
model from the zoo on the V100 profile); ``<out>/sweep/index.json`` lists them (label, model,
batch size, source, folder).

Budgets of the MILP are activation-memory budgets (fixed memory, parameters and their
gradients, excluded); the x axis of the figure and explicit ``--budgets`` are device memory
(fixed memory included), as in the paper.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from checkmate_opt.experiments.runner import (
    ExperimentConfig,
    Task,
    check_interrupted,
    ensure_folder,
    write_text_atomic,
)
from checkmate_opt.graph import Graph

__all__ = [
    "NAME",
    "PAPER_CONFIGS",
    "Sweep",
    "SweepSpec",
    "consistency_problems",
    "lp_point",
    "milp_point",
    "more_tasks",
    "running_min",
    "slowdowns",
    "specs",
    "summarize",
    "sweep_figure",
    "tasks",
]

NAME = "sweep"

#: (zoo model, batch size, published graph stem, figure x-limits in GB) of the paper's Figure 4
PAPER_CONFIGS: tuple[tuple[str, int, str, tuple[float, float]], ...] = (
    ("VGG16", 256, "vgg16_b256", (13.0, 22.0)),
    ("MobileNet", 512, "mobilenet_b512", (4.0, 48.0)),
    ("vgg_unet", 32, "vggunet_b32", (4.0, 32.0)),
)
#: x-limits the paper's script carries for other models (GB)
_XLIMS = {("resnet50", 256): (8.0, 42.0)}
#: the paper's device (V100, p32xlarge) memory in bytes: the dotted line of the figure
DEVICE_MEMORY = 16 * 10**9
MILP = "optimal"
LP_ROUNDINGS = ("sweep", "threshold_0.5", "randomized")

# label, matplotlib marker, colour (the paper's styles); √n NOAP is "Chen et al. √n" on the
# VGG/MobileNet chains and "Generalized √n" elsewhere
_STYLE: dict[str, tuple[str, str, str]] = {
    "checkpoint_all": ("Checkpoint all (ideal)", "*", "black"),
    "checkpoint_all_ap": ("Checkpoint all APs", "x", "blue"),
    "chen_sqrtn": ("AP √n", "D", "c"),
    "chen_sqrtn_linearized": ("Generalized √n", "^", "c"),
    "chen_greedy": ("AP greedy", "o", "g"),
    "chen_greedy_linearized": ("Generalized greedy", "+", "g"),
    "griewank": ("Griewank & Walther log(n)", "p", "m"),
    MILP: ("Optimal MILP (proposed)", "s", "r"),
    "lp_rounding_sweep": ("LP rounding (threshold sweep)", "v", "salmon"),
    "lp_rounding_threshold_0.5": ("LP rounding (0.5)", "<", "darkred"),
    "lp_rounding_randomized": ("LP rounding (randomized)", ">", "orangered"),
}
#: columns of results.jsonl (and the order of the text table's fields)
FIELDS = (
    "graph",
    "strategy",
    "budget",
    "device_budget",
    "status",
    "within_budget",
    "proven_optimal",
    "compute_cost",
    "total_compute",
    "overhead",
    "peak_activation_memory",
    "fixed_memory",
    "peak_memory",
    "objective_bound",
    "solve_time_s",
    "point",
    "seed_strategy",
    "params",
    "message",
)


@dataclass(frozen=True)
class SweepSpec:
    """One overhead-versus-budget sweep.

    Attributes
    ----------
    label
        Folder name and ``graph`` field of the results.
    graph_file
        A graph file, or ``None`` for a zoo model.
    model, batch_size, platform, input_shape
        The zoo model and cost model (when ``graph_file`` is ``None``).
    points
        Number of global MILP points (``None``: the paper's 64 for VGG16/VGG19, else 32).
    local_points
        Number of local MILP points (``None``: as ``points``; 0: none).
    budgets
        Explicit device-memory budgets in bytes for the MILP (replaces the global and local
        points; fixed memory is taken off).
    lp_roundings
        LP rounding variants run at every MILP budget.
    time_limit_s, threads, solver, eps_noise
        Per-solve settings of the MILP and the LPs (``eps_noise`` only for the MILP; the LPs
        run without noise, as in the paper).
    xlim
        x-range of the figure in GB (``None``: fit the data).
    """

    label: str
    graph_file: str | None = None
    model: str | None = None
    batch_size: int = 1
    platform: str = "flops"
    input_shape: tuple[int, int, int] | None = None
    points: int | None = None
    local_points: int | None = None
    budgets: tuple[int, ...] | None = None
    lp_roundings: tuple[str, ...] = LP_ROUNDINGS
    time_limit_s: float = 60.0
    threads: int = 1
    solver: str = "highs"
    eps_noise: float = 0.01
    xlim: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if (self.graph_file is None) == (self.model is None):
            raise ValueError(f"sweep {self.label}: give a graph file or a zoo model (one)")
        for rounding in self.lp_roundings:
            if rounding not in LP_ROUNDINGS:
                raise ValueError(
                    f"unknown LP rounding {rounding!r}; choose from {', '.join(LP_ROUNDINGS)}"
                )

    @property
    def safe_label(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", self.label)

    def load_graph(self) -> Graph:
        """The graph (importing the zoo model for a model spec)."""
        if self.graph_file is not None:
            from checkmate_opt.io import load_graph

            return load_graph(self.graph_file)
        from checkmate_opt import zoo

        assert self.model is not None
        return zoo.load(
            self.model,
            batch_size=self.batch_size,
            platform=self.platform,
            input_shape=self.input_shape,
        )


# ---------------------------------------------------------------------------------------------
# task functions (run in worker processes)


def _graph_from(data: Mapping[str, Any]) -> Graph:
    from checkmate_opt.io import graph_from_node_link

    return graph_from_node_link(data)


def _row(res: Any) -> dict[str, Any]:
    row = res.summary()
    row["schedule"] = None if res.schedule is None else res.schedule.to_dict()
    return row


def milp_point(
    graph: dict[str, Any],
    budget: int,
    seed: dict[str, Any] | None = None,
    seed_strategy: str | None = None,
    time_limit_s: float = 60.0,
    threads: int = 1,
    solver: str = "highs",
    eps_noise: float = 0.01,
) -> dict[str, Any]:
    """The MILP at one activation budget, with a MIP start.

    ``seed`` (a schedule dict) is the cheapest result known within the budget; it is used as the
    MIP start when it also fits the MILP's own memory accounting (after cleaning), and the
    MILP's usual baseline warm start is used otherwise. Returns the result summary with its
    schedule and ``seed_strategy``.
    """
    import time

    from checkmate_opt.backends import get_backend
    from checkmate_opt.milp.accounting import clean_schedule, milp_peak
    from checkmate_opt.milp.extract import start_from_schedule
    from checkmate_opt.milp.formulation import build_instance
    from checkmate_opt.options import SolveOptions
    from checkmate_opt.schedule import Schedule
    from checkmate_opt.strategies.optimal import (
        footprint_infeasible,
        milp_result,
        remaining_time,
        warm_start_schedule,
    )

    g = _graph_from(graph)
    options = SolveOptions(time_limit_s=time_limit_s, threads=threads)
    t0 = time.perf_counter()
    early = footprint_infeasible(g, budget, MILP)
    if early is not None:
        return _row(early) | {"seed_strategy": None}
    backend = get_backend(solver)
    inst = build_instance(g, budget, eps_noise=eps_noise, seed=0, tighten=True)
    fallback: tuple[Schedule, str] | None = None
    if seed is not None:
        cleaned = clean_schedule(g, Schedule.from_dict(seed))
        if milp_peak(g, cleaned) <= budget:
            fallback = (cleaned, seed_strategy or "seed")
    if fallback is None:
        fallback = warm_start_schedule(g, budget)
    start = None if fallback is None else start_from_schedule(inst, fallback[0])
    res = backend.solve(inst.model, remaining_time(options, t0), start=start, progress=None)
    result = milp_result(g, budget, inst, res, strategy=MILP, started=t0, fallback=fallback)
    check_interrupted(result)
    return _row(result) | {"seed_strategy": None if fallback is None else fallback[1]}


def lp_point(
    graph: dict[str, Any],
    budget: int,
    rounding: str = "sweep",
    time_limit_s: float = 60.0,
    threads: int = 1,
    solver: str = "highs",
) -> dict[str, Any]:
    """LP relaxation + ``rounding`` at one activation budget (no cost noise)."""
    from checkmate_opt.options import SolveOptions
    from checkmate_opt.strategies.lp_rounding import lp_rounding

    g = _graph_from(graph)
    res = lp_rounding(
        g,
        budget,
        rounding=rounding,  # type: ignore[arg-type]
        solver=solver,
        options=SolveOptions(time_limit_s=time_limit_s, threads=threads),
        eps_noise=0.0,
    )
    check_interrupted(res)
    row = _row(res)
    row["schedule"] = None  # not needed downstream; keeps the cache small
    row["strategy"] = f"lp_rounding_{rounding}"
    return row


# ---------------------------------------------------------------------------------------------
# the sweep driver


def _unit(graph: Graph) -> int:
    """Budgets are rounded up to 1000 bytes as in the paper, on graphs measured in bytes;
    small unit-cost graphs keep exact budgets."""
    return 1000 if sum(graph.memory_cost) >= 10**7 else 1


def _scale(peak: int) -> tuple[float, str]:
    """Divisor and unit name for memory figures: GB for real models, raw units otherwise."""
    return (1e9, "GB") if peak >= 10**8 else (1.0, "bytes")


def _round_up(x: float, unit: int = 1000) -> int:
    return int(math.ceil(x / unit) * unit)


def _paper_k(graph: Graph, spec: SweepSpec) -> int:
    if spec.points is not None:
        return spec.points
    name = (spec.model or graph.name or "").lower()
    return 64 if ("vgg16" in name or "vgg19" in name) and "unet" not in name else 32


class Sweep:
    """One sweep: the graph, its baselines, and the MILP/LP points built on them."""

    def __init__(self, spec: SweepSpec, graph: Graph | None = None) -> None:
        from checkmate_opt.io import graph_to_node_link
        from checkmate_opt.strategies.baselines import baseline_results

        self.spec = spec
        self.graph = graph if graph is not None else spec.load_graph()
        self.graph_data = graph_to_node_link(self.graph)
        self.baselines = baseline_results(self.graph, greedy_grid="sweep")
        self.k_global = _paper_k(self.graph, spec)
        self.k_local = self.k_global if spec.local_points is None else spec.local_points

    # -- budgets ------------------------------------------------------------------------
    def global_budgets(self) -> list[int]:
        """Activation budgets of the global MILP points."""
        fixed = self.graph.fixed_memory
        if self.spec.budgets is not None:
            return sorted({max(0, b - fixed) for b in self.spec.budgets})
        ref = next(r for r in self.baselines if r.strategy == "checkpoint_all")
        assert ref.report is not None
        # the paper starts at the forward footprint; below the largest footprint of any node
        # (backward ones included) every budget is infeasible by construction, so start there
        lo = max(self.graph.max_degree_memory(), self.graph.min_feasible_memory())
        hi = ref.report.peak_activation_memory
        for r in self.baselines:
            rep = r.report
            greedy = r.strategy.startswith("chen_greedy")
            if greedy and rep is not None and rep.compute_cost <= ref.report.compute_cost:
                hi = min(hi, rep.peak_activation_memory)
        k = self.k_global
        u = _unit(self.graph)
        pts = [_round_up(lo + (j / k) * (hi - lo), u) for j in range(k)]
        # the paper's two extra points: checkpoint-all's peak with and without fixed memory
        pts += [
            _round_up(ref.report.peak_memory, u),
            _round_up(ref.report.peak_activation_memory, u),
        ]
        return sorted(set(pts))

    def local_budgets(self, results: Mapping[str, Mapping[str, Any]]) -> list[int]:
        """Activation budgets around the smallest peak found so far (baselines, global MILP)."""
        if self.spec.budgets is not None or self.k_local <= 0:
            return []
        peaks = [r.report.peak_activation_memory for r in self.baselines if r.report]
        for b in self.global_budgets():
            row = results.get(self.key("milp", b))
            if row and row.get("peak_activation_memory") is not None:
                peaks.append(int(row["peak_activation_memory"]))
        r = min(peaks)
        k = self.k_local
        done = set(self.global_budgets())
        u = _unit(self.graph)
        # the paper's 0.5 r ... 1.5 r, from the least feasible memory up (as the global points)
        lo = max(0.5 * r, self.graph.min_feasible_memory())
        hi = 1.5 * r
        return sorted({_round_up(lo + (j / k) * (hi - lo), u) for j in range(k)} - done)

    # -- tasks --------------------------------------------------------------------------
    def key(self, kind: str, budget: int) -> str:
        return f"sweep-{self.spec.safe_label}-{kind}-{budget}"

    def _seed(
        self, budget: int, results: Mapping[str, Mapping[str, Any]]
    ) -> tuple[dict[str, Any] | None, str | None]:
        """The cheapest known schedule within ``budget`` (baselines and finished MILP points)."""
        best: tuple[int, int] | None = None
        found: tuple[dict[str, Any] | None, str | None] = (None, None)
        for r in self.baselines:
            if r.report is None or r.schedule is None:
                continue
            if r.report.peak_activation_memory > budget:
                continue
            k = (r.report.compute_cost, r.report.peak_activation_memory)
            if best is None or k < best:
                best, found = k, (r.schedule.to_dict(), r.strategy)
        for key, row in results.items():
            if not key.startswith(f"sweep-{self.spec.safe_label}-milp-"):
                continue
            if row.get("schedule") is None or row.get("peak_activation_memory") is None:
                continue
            if int(row["peak_activation_memory"]) > budget:
                continue
            k = (int(row["compute_cost"]), int(row["peak_activation_memory"]))
            if best is None or k < best:
                best, found = k, (row["schedule"], f"{MILP} at {row['budget']}")
        return found

    def _point_tasks(
        self, budgets: Iterable[int], results: Mapping[str, Mapping[str, Any]]
    ) -> list[Task]:
        s = self.spec
        out = []
        for b in budgets:
            seed, seed_name = self._seed(b, results)
            out.append(
                Task(
                    self.key("milp", b),
                    f"{__name__}:milp_point",
                    {
                        "graph": self.graph_data,
                        "budget": b,
                        "seed": seed,
                        "seed_strategy": seed_name,
                        "time_limit_s": s.time_limit_s,
                        "threads": s.threads,
                        "solver": s.solver,
                        "eps_noise": s.eps_noise,
                    },
                    threads=s.threads,
                )
            )
            for rounding in s.lp_roundings:
                out.append(
                    Task(
                        self.key(f"lp_{rounding}", b),
                        f"{__name__}:lp_point",
                        {
                            "graph": self.graph_data,
                            "budget": b,
                            "rounding": rounding,
                            "time_limit_s": s.time_limit_s,
                            "threads": s.threads,
                            "solver": s.solver,
                        },
                        threads=s.threads,
                    )
                )
        return out

    def global_tasks(self) -> list[Task]:
        return self._point_tasks(self.global_budgets(), {})

    def local_tasks(self, results: Mapping[str, Mapping[str, Any]]) -> list[Task]:
        """The local points (needs every global MILP point finished); [] when none."""
        if any(self.key("milp", b) not in results for b in self.global_budgets()):
            return []
        return self._point_tasks(self.local_budgets(results), results)

    def all_keys(self, results: Mapping[str, Mapping[str, Any]]) -> list[str]:
        budgets = self.global_budgets() + self.local_budgets(results)
        kinds = ["milp"] + [f"lp_{r}" for r in self.spec.lp_roundings]
        return [self.key(kind, b) for b in budgets for kind in kinds]

    # -- results ------------------------------------------------------------------------
    def rows(self, results: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Every result of the sweep as a flat row (baselines first, then the points)."""
        fixed = self.graph.fixed_memory
        rows = []
        for r in self.baselines:
            row = r.summary() | {"point": None, "seed_strategy": None}
            rows.append(row)
        glob = set(self.global_budgets())
        for key in self.all_keys(results):
            if key not in results:
                continue
            row = dict(results[key])
            row.pop("schedule", None)
            row["point"] = "global" if int(row["budget"]) in glob else "local"
            row.setdefault("seed_strategy", None)
            rows.append(row)
        out = []
        for row in rows:
            row["graph"] = self.spec.label
            b = row.get("budget")
            row["device_budget"] = None if b is None else int(b) + fixed
            out.append({k: row.get(k) for k in FIELDS})
        return out

    def write(self, rows: list[dict[str, Any]], out_dir: Path) -> list[Path]:
        """results.jsonl, slowdowns.csv, budget_sweep.txt, budget_sweep.png/.pdf."""
        ensure_folder(out_dir)
        paths = [out_dir / "results.jsonl", out_dir / "slowdowns.csv"]
        _write_text(paths[0], "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
        slow = slowdowns(rows)
        lines = ["method,max,geomean_slowdown"]
        lines += [f"{m},{mx:.6f},{gm:.6f}" for m, (mx, gm) in slow.items()]
        _write_text(paths[1], "\n".join(lines) + "\n")
        paths.append(out_dir / "budget_sweep.txt")
        _write_text(paths[-1], self.table(rows, slow))
        paths += plot_sweep(rows, out_dir / "budget_sweep.png", self._plot_title(), self._xlim())
        return paths

    def _plot_title(self) -> str:
        s = self.spec
        src = Path(s.graph_file).name if s.graph_file else f"{s.model} (zoo, {s.platform})"
        return f"{s.label}: {src}"

    def _xlim(self) -> tuple[float, float] | None:
        if self.spec.xlim is not None:
            return self.spec.xlim
        if self.spec.graph_file is not None:  # a published graph: the paper's x-range
            stem = Path(self.spec.graph_file).name.removesuffix("_train.json")
            for _, _, paper_stem, lim in PAPER_CONFIGS:
                if stem == paper_stem:
                    return lim
        key = ((self.spec.model or "").lower(), self.spec.batch_size)
        return _XLIMS.get(key)

    def table(self, rows: list[dict[str, Any]], slow: Mapping[str, tuple[float, float]]) -> str:
        """The readable text table: MILP points against each strategy's running minimum."""
        g = self.graph
        fixed = g.fixed_memory
        div, uname = _scale(max((int(r["peak_memory"] or 0) for r in rows), default=0))
        lines = [
            f"sweep {self.spec.label}: graph {g.name} ({g.n} nodes); fixed memory "
            f"{fixed / div:.2f} {uname}; compute of one pass {g.total_compute}",
            f"budgets and peaks in {uname} of device memory (activations + fixed); overhead = "
            "simulated compute / one pass; a strategy's column = its cheapest result whose "
            "peak fits the budget (its running minimum)",
            "",
        ]
        curves = {
            s: running_min(rows, s)
            for s in dict.fromkeys(r["strategy"] for r in rows)
            if s != MILP and s != "checkpoint_last_node"
        }
        names = [s for s in curves if curves[s]]
        short = {s: _short(s) for s in names}
        head = f"{'budget':>7} {'MILP status':<12}{'MILP':>8}{'bound':>8} " + "".join(
            f"{short[s]:>9}" for s in names
        )
        lines += [head, "-" * len(head)]
        milp = sorted((r for r in rows if r["strategy"] == MILP), key=lambda r: int(r["budget"]))
        for r in milp:
            x = int(r["budget"]) + fixed
            over = "-" if r["overhead"] is None else f"{r['overhead']:.4f}"
            bound = (
                "-"
                if r["objective_bound"] is None or not g.total_compute
                else f"{r['objective_bound'] / g.total_compute:.4f}"
            )
            status = r["status"] + ("*" if r["proven_optimal"] else "")
            cells = "".join(f"{_fmt(_at(curves[s], x)):>9}" for s in names)
            lines.append(f"{x / div:>7.2f} {status:<12}{over:>8}{bound:>8} {cells}")
        lines += [
            "",
            "* proven optimal (within the MIP gap, for the noise-perturbed costs); time_limit: "
            "the incumbent at the time limit; bound: the solver's lower bound as an overhead",
            "columns: " + ", ".join(f"{short[s]} = {s}" for s in names),
            "",
            "slowdown against the MILP (running minima at the MILP's step points):",
            f"{'method':<28}{'max':>9}{'geomean':>9}",
        ]
        lines += [f"{m:<28}{mx:>9.4f}{gm:>9.4f}" for m, (mx, gm) in slow.items()]
        problems = consistency_problems(rows, eps_noise=self.spec.eps_noise)
        lines += ["", "consistency: " + ("ok" if not problems else f"{len(problems)} problem(s)")]
        lines += [f"  {p}" for p in problems]
        return "\n".join(lines) + "\n"


def _short(name: str) -> str:
    return {
        "checkpoint_all": "all",
        "checkpoint_all_ap": "all_ap",
        "chen_sqrtn": "sqrtn_ap",
        "chen_sqrtn_linearized": "sqrtn",
        "chen_greedy": "grdy_ap",
        "chen_greedy_linearized": "greedy",
        "griewank": "griewank",
        "lp_rounding_sweep": "lp_swp",
        "lp_rounding_threshold_0.5": "lp_0.5",
        "lp_rounding_randomized": "lp_rand",
    }.get(name, name[:8])


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"


def _write_text(path: Path, text: str) -> None:
    ensure_folder(path.parent)
    write_text_atomic(path, text)


# ---------------------------------------------------------------------------------------------
# running minima, slowdowns, consistency


def running_min(rows: Iterable[Mapping[str, Any]], strategy: str) -> list[tuple[int, float]]:
    """Step points ``(peak_memory, overhead)`` of a strategy's running-minimum curve.

    Results sorted by simulated peak memory (fixed included); a point is kept when it lowers
    the overhead of every result with a smaller or equal peak.
    """
    pts = sorted(
        (int(r["peak_memory"]), float(r["overhead"]))
        for r in rows
        if r["strategy"] == strategy and r["overhead"] is not None and r["peak_memory"] is not None
    )
    out: list[tuple[int, float]] = []
    for x, y in pts:
        if not out or y < out[-1][1]:
            if out and out[-1][0] == x:
                out[-1] = (x, y)
            else:
                out.append((x, y))
    return out


def _at(curve: Sequence[tuple[int, float]], x: int) -> float | None:
    """The running minimum at memory ``x`` (``None`` when nothing fits)."""
    best = None
    for px, py in curve:
        if px > x:
            break
        best = py
    return best


def slowdowns(rows: Sequence[Mapping[str, Any]]) -> dict[str, tuple[float, float]]:
    """``method -> (max, geometric mean)`` of its running minimum over the MILP's.

    For every MILP step point ``(x*, y*)``: the strategy's best overhead among its step points
    with peak ``<= x*``, divided by ``y*`` (points where the strategy has nothing are skipped;
    a strategy with no such point is left out).
    """
    ref = running_min(rows, MILP)
    out: dict[str, tuple[float, float]] = {}
    for s in dict.fromkeys(r["strategy"] for r in rows):
        if s == MILP:
            continue
        curve = running_min(rows, s)
        ratios = [y / ys for x, ys in ref if (y := _at(curve, x)) is not None and ys > 0]
        if ratios:
            geo = math.exp(sum(math.log(v) for v in ratios) / len(ratios))
            out[s] = (max(ratios), geo)
    return out


def consistency_problems(
    rows: Sequence[Mapping[str, Any]], *, eps_noise: float = 0.01, mip_gap: float = 1e-4
) -> list[str]:
    """What contradicts the simulator or optimality in a sweep's rows (empty: consistent).

    * ``within_budget`` must say whether the simulated peak activation memory fits the budget;
    * a MILP result proven optimal must not cost more than any strategy's result that fits its
      budget. The MILP is optimal for costs perturbed by ``1 + eps_noise * z`` (z standard
      normal, per node), so its real cost may exceed the true optimum slightly: the check
      allows ``3 * eps_noise + mip_gap`` relative.
    """
    problems = []
    for r in rows:
        if r["budget"] is None or r["peak_activation_memory"] is None:
            continue
        fits = int(r["peak_activation_memory"]) <= int(r["budget"])
        if bool(r["within_budget"]) != fits:
            problems.append(
                f"{r['graph']} {r['strategy']} at {r['budget']}: within_budget "
                f"{r['within_budget']} but simulated peak {r['peak_activation_memory']}"
            )
    tol = 1 + 3 * eps_noise + mip_gap
    for m in rows:
        if m["strategy"] != MILP or not m["proven_optimal"] or m["overhead"] is None:
            continue
        for r in rows:
            if r["graph"] != m["graph"] or r["overhead"] is None:
                continue
            if r["peak_activation_memory"] is None:
                continue
            if int(r["peak_activation_memory"]) > int(m["budget"]):
                continue
            if float(m["overhead"]) > float(r["overhead"]) * tol:
                problems.append(
                    f"{m['graph']}: MILP proven optimal at {m['budget']} with overhead "
                    f"{m['overhead']:.5f}, but {r['strategy']} fits it with {r['overhead']:.5f}"
                )
    return problems


# ---------------------------------------------------------------------------------------------
# the figure


def plot_sweep(
    rows: Sequence[Mapping[str, Any]],
    path: Path,
    title: str = "",
    xlim: tuple[float, float] | None = None,
) -> list[Path]:
    """The paper's Figure 4 style: running minimum per strategy over peak memory (GB)."""
    from checkmate_opt.plotting import _pyplot, save_figure

    plt = _pyplot()
    fig = sweep_figure(rows, title, xlim)
    try:
        return save_figure(fig, path, formats=("pdf",))
    finally:
        plt.close(fig)


#: the overhead range of the figure (the paper's); points above it are marked on the edge
YLIM = (0.95, 1.5)


def sweep_figure(
    rows: Sequence[Mapping[str, Any]],
    title: str = "",
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] = YLIM,
) -> Any:
    """The figure of :func:`plot_sweep`, not yet saved.

    Points outside ``xlim`` x ``ylim`` are drawn on the frame's edge with their value; a MILP
    budget without a schedule is a cross on the x axis; a strategy without any schedule is
    named in the legend.
    """
    from checkmate_opt.plotting import MIN_FONT_PT, _pyplot, mark_beyond, mark_missing

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    xmax = max((int(r["peak_memory"]) for r in rows if r["peak_memory"] is not None), default=1)
    div, uname = _scale(xmax)
    strategies = [
        s
        for s in dict.fromkeys(r["strategy"] for r in rows)
        if s not in ("checkpoint_last_node", "checkpoint_all")
    ]
    drawn: list[tuple[list[tuple[float, float]], str]] = []
    for s in strategies:
        label, marker, colour = _STYLE.get(s, (s, ".", "gray"))
        pts = [
            (int(r["peak_memory"]) / div, float(r["overhead"]))
            for r in rows
            if r["strategy"] == s and r["overhead"] is not None
        ]
        if not pts:  # no schedule at any budget: said in the legend, not left out
            ax.plot([], [], marker="x", ls="none", color=colour, label=f"{label}: no schedule")
            continue
        drawn.append((pts, colour))
        ax.scatter(*zip(*pts, strict=True), marker=marker, color=colour, s=12, alpha=0.5)
        if s == MILP:  # solves stopped by the time limit: their incumbent, circled
            cut = [
                (int(r["peak_memory"]) / div, float(r["overhead"]))
                for r in rows
                if r["strategy"] == s and r["overhead"] is not None and r["status"] == "time_limit"
            ]
            if cut:
                ax.scatter(
                    *zip(*cut, strict=True),
                    marker="o",
                    facecolors="none",
                    edgecolors=colour,
                    s=60,
                    label="MILP stopped at the time limit",
                )
        curve = running_min(rows, s)
        xs = [x / div for x, _ in curve] + [xmax / div]
        ys = [y for _, y in curve] + [curve[-1][1]]
        ax.step(xs, ys, where="post", color=colour, label=label, marker=marker, markevery=[0])
    ref = [r for r in rows if r["strategy"] == "checkpoint_all" and r["overhead"] is not None]
    if ref:
        x0, y0 = int(ref[0]["peak_memory"]) / div, float(ref[0]["overhead"])
        label, marker, colour = _STYLE["checkpoint_all"]
        ax.scatter([x0], [y0], marker=marker, color=colour, s=80, zorder=5, label=label)
        ax.plot([0, x0], [y0, y0], ls="--", color=colour, lw=1)
        ax.plot([x0, max(x0, xmax / div) * 1.5], [y0, y0], ls="-", color=colour, lw=1)
        drawn.append(([(x0, y0)], colour))
    if xlim is None:
        xs_all = [int(r["peak_memory"]) / div for r in rows if r["peak_memory"] is not None]
        xlim = (0.0, max(xs_all, default=1.0) * 1.05)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    mark_beyond(
        ax,
        [p for pts, _ in drawn for p in pts],
        colors=[colour for pts, colour in drawn for _ in pts],
    )
    milp_colour = _STYLE.get(MILP, (MILP, ".", "gray"))[2]
    for r in rows:
        if r["strategy"] == MILP and r["overhead"] is None and r.get("budget") is not None:
            x = (int(r["budget"]) + int(r.get("fixed_memory") or 0)) / div
            if xlim[0] <= x <= xlim[1]:
                mark_missing(ax, x, color=milp_colour, label="no schedule")
    if uname == "GB" and xlim[0] <= DEVICE_MEMORY / div <= xlim[1]:
        ax.axvline(DEVICE_MEMORY / div, ls=":", color="black", lw=1)
    ax.set_xlabel(f"Memory budget ({uname})")
    ax.set_ylabel("Compute overhead (x one pass, simulated)")
    if title:
        ax.set_title(title, fontsize=MIN_FONT_PT)
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.15),
        ncol=2,
        fontsize=MIN_FONT_PT,
        frameon=False,
    )
    return fig


# ---------------------------------------------------------------------------------------------
# the study protocol of ``checkmate-opt figures``

_SWEEPS: dict[tuple[Any, ...], Sweep] = {}


def specs(config: ExperimentConfig) -> list[SweepSpec]:
    """The sweeps of an experiment run.

    The paper's three configurations from the published graphs (when ``config.shared_graphs``
    is set) and from the zoo, plus the published VGG19 and ResNet50 graphs (for the
    approximation table). Quick mode: the three published graphs only (the zoo ones when the
    graphs are absent), 2 global and 1 local MILP point, LP threshold-sweep rounding only.
    ``config.select`` keeps the listed labels; ``config.points`` sets the global points.
    """
    extra: dict[str, Any] = {"time_limit_s": config.time_limit_s, "threads": config.threads}
    if config.quick:
        extra |= {"points": 2, "local_points": 1, "lp_roundings": ("sweep",)}
    if config.points is not None:
        extra |= {"points": config.points, "local_points": max(1, config.points // 2)}
    out = []
    files = config.shared_graphs
    configs: list[tuple[str, int, str, tuple[float, float] | None]] = list(PAPER_CONFIGS)
    if not config.quick:
        configs += [("VGG19", 256, "vgg19_b256", None), ("ResNet50", 256, "resnet50_b256", None)]
    for model, batch, stem, xlim in configs:
        lim = xlim or _XLIMS.get((model.lower(), batch))
        paper = (model, batch, stem, xlim) in PAPER_CONFIGS
        if files is not None:
            path = str(files / f"{stem}_train.json")
            out.append(SweepSpec(f"{stem}_paper", graph_file=path, xlim=lim, **extra))
        if paper and (not config.quick or files is None):
            zoo: dict[str, Any] = {"model": model, "batch_size": batch, "platform": "p32xlarge"}
            out.append(SweepSpec(f"{stem}_zoo", xlim=lim, **zoo, **extra))
    if config.select:
        unknown = set(config.select) - {s.label for s in out}
        if unknown:
            raise ValueError(
                f"unknown sweep {sorted(unknown)[0]!r}; choose from "
                + ", ".join(s.label for s in out)
            )
        out = [s for s in out if s.label in config.select]
    return out


def _sweep(spec: SweepSpec) -> Sweep:
    key = (spec,)
    if key not in _SWEEPS:
        _SWEEPS[key] = Sweep(spec)
    return _SWEEPS[key]


def tasks(config: ExperimentConfig, selected: Sequence[SweepSpec] | None = None) -> list[Task]:
    """The global MILP and LP points of every sweep."""
    return [t for s in (selected or specs(config)) for t in _sweep(s).global_tasks()]


def more_tasks(
    config: ExperimentConfig,
    results: Mapping[str, Mapping[str, Any]],
    selected: Sequence[SweepSpec] | None = None,
) -> list[Task]:
    """The local points of every sweep whose global points are done (not yet in ``results``)."""
    out = []
    for s in selected or specs(config):
        out += [t for t in _sweep(s).local_tasks(results) if t.key not in results]
    return out


def summarize(
    results: Mapping[str, Mapping[str, Any]],
    config: ExperimentConfig,
    selected: Sequence[SweepSpec] | None = None,
) -> list[Path]:
    """Write each sweep's outputs under ``config.out / "sweep" / <label>``."""
    paths: list[Path] = []
    index = []
    for s in selected or specs(config):
        sweep = _sweep(s)
        folder = config.out / NAME / s.safe_label
        paths += sweep.write(sweep.rows(results), folder)
        index.append(
            {
                "label": s.label,
                "model": s.model or sweep.graph.name,
                "batch_size": s.batch_size if s.model else None,
                "source": "zoo" if s.model else "published graph",
                "graph_file": s.graph_file,
                "folder": str(folder.relative_to(config.out)),
            }
        )
    idx = config.out / NAME / "index.json"
    _write_text(idx, json.dumps(index, indent=1) + "\n")
    return [*paths, idx]


def with_overrides(spec: SweepSpec, **kwargs: Any) -> SweepSpec:
    """``spec`` with some fields replaced (``None`` values are ignored)."""
    return replace(spec, **{k: v for k, v in kwargs.items() if v is not None})


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``results.jsonl``."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> None:
    """A CSV of ``rows`` (helper for the studies)."""
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(fields), extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    _write_text(path, buf.getvalue())
