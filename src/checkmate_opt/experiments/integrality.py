"""Integrality gap of the MILP on unit-cost chains, for the three schedule variants.

For a chain of ``N`` unit-cost layers and every budget from ``N + 2`` down to 4 (in units of
one activation), three numbers per variant (``full``: the paper's frontier-advancing stages;
``cover_all``: every node computed at least once; ``cover_last``: only the loss gradient
required):

* the LP relaxation's optimum (a lower bound on any schedule's cost; no cost noise),
* the MILP's cost (no cost noise; its own R, as solved),
* the cost of the LP rounded to a schedule (threshold sweep, the LP solved at 0.9 x budget),

and from them the integrality gap (MILP / LP) and the approximation ratios (rounded / MILP,
rounded / LP). Every cost is the simulated cost of a schedule that fits the budget; a MILP
that hits its time limit keeps its incumbent and the table says so.

Outputs in ``<out>/integrality``: ``integrality.csv``, ``integrality.txt`` and
``integrality.png``/``.pdf`` (costs against budget, one panel per variant).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from checkmate_opt.experiments.runner import (
    ExperimentConfig,
    Task,
    ensure_folder,
    write_text_atomic,
)

__all__ = ["NAME", "VARIANTS", "budgets", "point", "rows", "summarize", "tasks"]

NAME = "integrality"
VARIANTS = ("full", "cover_all", "cover_last")
FULL_LAYERS = 16
QUICK_LAYERS = 6
FIELDS = [
    "variant",
    "layers",
    "budget",
    "lp_bound",
    "milp_cost",
    "milp_status",
    "milp_proven_optimal",
    "milp_bound",
    "rounded_cost",
    "rounded_status",
    "integrality_gap",
    "rounded_over_milp",
    "rounded_over_lp",
    "lp_time_s",
    "milp_time_s",
    "rounded_time_s",
    "milp_over_lp_time",
]


def budgets(layers: int) -> list[int]:
    """Budgets from ``layers + 2`` down to 4, as the paper's script."""
    return list(range(layers + 2, 3, -1))


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else round(a / b, 4)


def point(
    layers: int, budget: int, variant: str, time_limit_s: float, threads: int = 1
) -> dict[str, Any]:
    """LP bound, MILP and rounded LP on a unit chain of ``layers`` layers at ``budget``."""
    from checkmate_opt.experiments.runner import check_interrupted
    from checkmate_opt.generators import linear_graph
    from checkmate_opt.options import SolveOptions
    from checkmate_opt.strategies.lp_rounding import lp_bound, lp_rounding
    from checkmate_opt.strategies.optimal import optimal

    g = linear_graph(layers)
    opts = SolveOptions(time_limit_s=time_limit_s, threads=threads)
    v: Any = variant
    lp = lp_bound(g, budget, eps_noise=0.0, variant=v, options=opts)
    check_interrupted(lp)
    # the raw LP optimum (unit costs: real units), not rounded up to an integer
    lp_val = lp.params.get("lp_objective") if lp.objective_bound is not None else None
    milp = optimal(g, budget, eps_noise=0.0, variant=v, options=opts, progress=None)
    check_interrupted(milp)
    rnd = lp_rounding(g, budget, eps_noise=0.0, variant=v, options=opts)
    check_interrupted(rnd)
    # only schedules the simulator confirms within budget count
    m_cost = milp.compute_cost if milp.within_budget else None
    r_cost = rnd.compute_cost if rnd.within_budget else None
    lp_f = float(lp_val) if isinstance(lp_val, int | float) else None
    return {
        "variant": variant,
        "layers": layers,
        "budget": budget,
        "lp_bound": None if lp_f is None else round(lp_f, 6),
        "lp_status": lp.termination.value,
        "milp_cost": m_cost,
        "milp_status": milp.termination.value,
        "milp_proven_optimal": milp.proven_optimal,
        "milp_bound": milp.objective_bound,
        "rounded_cost": r_cost,
        "rounded_status": rnd.termination.value if r_cost is not None else "no schedule",
        "rounded_message": rnd.message,
        "integrality_gap": _ratio(m_cost, lp_f),
        "rounded_over_milp": _ratio(r_cost, m_cost),
        "rounded_over_lp": _ratio(r_cost, lp_f),
        "lp_time_s": round(lp.solve_time_s, 3),
        "milp_time_s": round(milp.solve_time_s, 3),
        "rounded_time_s": round(rnd.solve_time_s, 3),
        "milp_over_lp_time": _ratio(milp.solve_time_s, lp.solve_time_s),
        "time_limit_s": time_limit_s,
    }


def _layers(config: ExperimentConfig) -> int:
    return QUICK_LAYERS if config.quick else FULL_LAYERS


def tasks(config: ExperimentConfig) -> list[Task]:
    """One point per variant and budget."""
    n = _layers(config)
    t = config.time_limit_s
    return [
        Task(
            f"integrality_n{n}_{v}_b{b}_t{t:g}_p{config.threads}",
            f"{__name__}:point",
            {"layers": n, "budget": b, "variant": v, "time_limit_s": t, "threads": config.threads},
            threads=config.threads,
        )
        for v in VARIANTS
        for b in budgets(n)
    ]


def rows(results: Mapping[str, Mapping[str, Any]], config: ExperimentConfig) -> list[dict]:
    """The finished points, in variant and descending budget order."""
    return [dict(results[t.key]) for t in tasks(config) if t.key in results]


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def text_table(table: Sequence[Mapping[str, Any]]) -> str:
    """A readable table per variant."""
    lines = ["Integrality gap on a unit-cost chain (costs in node evaluations)"]
    cols = [
        ("budget", "budget"),
        ("lp_bound", "LP"),
        ("milp_cost", "MILP"),
        ("rounded_cost", "rounded"),
        ("integrality_gap", "MILP/LP"),
        ("rounded_over_milp", "rnd/MILP"),
        ("rounded_over_lp", "rnd/LP"),
        ("milp_over_lp_time", "t MILP/LP"),
        ("milp_status", "MILP status"),
    ]
    for v in VARIANTS:
        part = [r for r in table if r["variant"] == v]
        if not part:
            continue
        lines += ["", f"variant {v}, {part[0]['layers']} layers"]
        lines.append("".join(f"{h:>12}" for _, h in cols))
        for r in part:
            lines.append("".join(f"{_fmt(r[k]):>12}" for k, _ in cols))
    return "\n".join(lines) + "\n"


def plot(table: Sequence[Mapping[str, Any]], path_png: Path) -> list[Path]:
    """Cost against budget (LP bound, MILP, rounded), one panel per variant."""
    from checkmate_opt.plotting import _pyplot, save_figure

    plt = _pyplot()
    fig = figure(table)
    try:
        return save_figure(fig, path_png, formats=("pdf",), dpi=200)
    finally:
        plt.close(fig)


def figure(table: Sequence[Mapping[str, Any]]) -> Any:
    """The figure of :func:`plot`, not yet saved: a missing cost (no schedule, no LP solution)
    is a cross labelled "n/a" at its budget; the legend sits below the panels."""
    from matplotlib.ticker import MaxNLocator

    from checkmate_opt.plotting import (
        MIN_FONT_PT,
        _pyplot,
        mark_beyond,
        mark_missing,
        missing_handle,
    )

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(VARIANTS), figsize=(11, 3.8), sharey=False)
    series = [
        ("lp_bound", "LP bound", "tab:blue", "o"),
        ("milp_cost", "MILP", "tab:red", "s"),
        ("rounded_cost", "LP rounding", "tab:green", "^"),
    ]
    any_missing = False
    for ax, v in zip(axes, VARIANTS, strict=True):
        part = [r for r in table if r["variant"] == v]
        drawn: list[tuple[float, float]] = []
        for key, label, color, marker in series:
            pts = [(r["budget"], r[key]) for r in part if r[key] is not None]
            ax.plot([], [], marker=marker, color=color, label=label, ms=4, lw=1)
            if pts:
                xs, ys = zip(*sorted(pts), strict=True)
                ax.plot(xs, ys, marker=marker, color=color, ms=4, lw=1)
                drawn += pts
        for r in part:  # hollow marker: the MILP stopped at its time limit
            if r["milp_cost"] is not None and not r["milp_proven_optimal"]:
                ax.plot(r["budget"], r["milp_cost"], "s", mfc="white", mec="tab:red", ms=6)
        if not part:
            ax.text(0.5, 0.5, "no finished points", ha="center", transform=ax.transAxes)
            ax.set_xticks([])  # an empty panel has no scale to show
            ax.set_yticks([])
        ax.set_title(f"variant {v}", fontsize=MIN_FONT_PT + 1)
        ax.set_xlabel("Memory budget (activations)")
        if part:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        mark_beyond(ax, drawn)
        if any(r[key] is None for r in part for key, *_ in series):
            lo, hi = ax.get_ylim()  # room under the data for the "n/a" marks
            ax.set_ylim(lo - 0.15 * (hi - lo), hi)
        for r in part:  # one mark per budget, in the colour of what is missing
            gone = [color for key, _label, color, _m in series if r[key] is None]
            if gone:
                mark_missing(ax, r["budget"], color=gone[0] if len(gone) == 1 else "black")
                any_missing = True
    axes[0].set_ylabel("Cost (node evaluations)")
    handles, labels = axes[0].get_legend_handles_labels()
    if any_missing:
        handles.append(missing_handle())
        labels.append("n/a: no result (colour: which)")
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=MIN_FONT_PT, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def summarize(results: Mapping[str, Mapping[str, Any]], config: ExperimentConfig) -> list[Path]:
    """Write ``integrality/integrality.csv``, ``.txt``, ``.png`` and ``.pdf``."""
    from checkmate_opt.experiments.sweep import write_csv

    table = rows(results, config)
    folder = config.out / "integrality"
    ensure_folder(folder)
    csv_path = folder / "integrality.csv"
    write_csv(csv_path, table, FIELDS)
    txt = folder / "integrality.txt"
    write_text_atomic(txt, text_table(table))
    paths = [csv_path, txt]
    if table:
        paths += plot(table, folder / "integrality.png")
    return paths
