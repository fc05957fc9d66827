"""Maximum batch size per strategy on a 16 GB device (paper Figure 6), under both protocols.

For each model the baselines are searched over a batch-size grid (a strategy succeeds at a
batch size when one of its schedules fits the memory limit and the compute cap of one extra
forward pass, by the simulator), and the MILP finds the largest batch size directly (min-peak
form at batch size 1, then checked by simulating its schedule at that batch size).

Two protocols for the baselines (the MILP counts fixed memory once in both):

* ``paper``: fixed memory (parameters and their gradients) is subtracted twice from the
  device memory, as the original script did; this is what produced the published numbers;
* ``corrected``: fixed memory counted once, like the MILP.

Graphs are built from the Keras zoo at batch size 1 with the paper's FLOP costs
(``flops_paper``) and their activation memory scaled linearly with the batch size.

Outputs in ``<out>/max_batch``: ``max_batch.csv`` (one row per model, strategy and protocol),
``max_batch.txt`` (the table and what the corrected protocol changes), ``max_batch.png``/``.pdf``
(bars over models and strategies, one panel per protocol).
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

__all__ = [
    "MEMORY_LIMIT",
    "MODELS",
    "NAME",
    "baselines_point",
    "milp_point",
    "study_tasks",
    "summarize",
    "table_rows",
    "tasks",
    "write_outputs",
]

NAME = "max_batch_study"
#: the V100's 16 GB, as the paper
MEMORY_LIMIT = 16 * 10**9
PLATFORM = "flops_paper"
PROTOCOLS = ("paper", "corrected")
#: model -> the batch-size range the paper's README scans for the baselines (inclusive)
MODELS: dict[str, tuple[int, int]] = {
    "VGG19": (160, 300),
    "MobileNet": (200, 650),
    "vgg_unet": (10, 40),
    "segnet": (20, 50),
    "fcn_8_vgg": (10, 80),
    "ResNet50": (90, 200),
}
QUICK_MODELS = ("VGG19", "vgg_unet")
#: strategies in table/plot order, with the paper's labels
LABELS: dict[str, str] = {
    "checkpoint_all": "Checkpoint all",
    "checkpoint_all_ap": "Checkpoint all APs",
    "chen_sqrtn": "AP √n",
    "chen_sqrtn_linearized": "Linearized √n",
    "chen_greedy": "AP greedy",
    "chen_greedy_linearized": "Linearized greedy",
    "checkpoint_last_node": "Checkpoint last node",
    "optimal_milp": "Checkmate MILP",
}
MILP = "optimal_milp"


def _factory(model: str, platform: str) -> Any:
    from checkmate_opt import zoo
    from checkmate_opt.experiments.max_batch import scaled_factory

    # FLOP costs and activation memory are linear in the batch size: build once at batch 1
    return scaled_factory(zoo.load(model, batch_size=1, platform=platform), 1)


# ---------------------------------------------------------------------------------------------
# task functions (run in worker processes)


def baselines_point(
    model: str,
    protocol: str,
    lo: int,
    hi: int,
    step: int,
    memory_limit: int = MEMORY_LIMIT,
    platform: str = PLATFORM,
    refine: bool = True,
) -> dict[str, Any]:
    """Every baseline's max batch size on ``model``, searched from ``lo`` upwards.

    The grid ``lo, lo + step, ...`` up to ``hi`` is scanned first, extended upwards (same step)
    while some strategy still succeeds at its top, so the result is not clipped by the paper's
    range. With ``refine`` every batch size between a strategy's last success on the grid and
    the next grid point is then tried (this assumes, as the paper's scan does implicitly, that
    a strategy failing at a grid point does not succeed again just above it; with ``step`` 1
    nothing is assumed).
    """
    from checkmate_opt.experiments.max_batch import max_batch_baselines

    factory = _factory(model, platform)
    g1 = factory(1)
    best: dict[str, int | None] = {}
    tried: set[int] = set()
    wall = 0.0

    def scan(sizes: list[int]) -> None:
        nonlocal wall
        sizes = [b for b in sizes if b not in tried]
        if not sizes:
            return
        res = max_batch_baselines(
            factory,
            memory_limit=memory_limit,
            batch_sizes=sizes,
            protocol=protocol,  # type: ignore[arg-type]
        )
        wall += res.wall_time_s
        tried.update(sizes)
        for s, b in res.max_batch.items():
            old = best.get(s)
            best[s] = b if old is None else (old if b is None else max(old, b))

    grid = list(range(lo, hi + 1, step))
    scan(grid)
    top = grid[-1]
    while any(b == top for b in best.values()) and top < 16 * hi:
        more = list(range(top + step, top + step * (len(grid) // 2 + 2), step))
        scan(more)
        top = more[-1]
    if refine and step > 1:
        scan(sorted({b + k for b in best.values() if b is not None for k in range(1, step)}))
    return {
        "model": model,
        "protocol": protocol,
        "memory_limit": memory_limit,
        "fixed_memory": g1.fixed_memory,
        "nodes": g1.n,
        "grid": [lo, top, step],
        "refined": refine and step > 1,
        "batch_sizes_tried": len(tried),
        "max_batch": best,
        "wall_time_s": round(wall, 3),
    }


def milp_point(
    model: str,
    time_limit_s: float,
    threads: int = 1,
    memory_limit: int = MEMORY_LIMIT,
    platform: str = PLATFORM,
) -> dict[str, Any]:
    """The MILP's max batch size on ``model`` (HiGHS), confirmed by the simulator."""
    from checkmate_opt.experiments.max_batch import compute_cap, max_batch_milp
    from checkmate_opt.experiments.runner import check_interrupted
    from checkmate_opt.options import SolveOptions
    from checkmate_opt.simulate import simulate

    factory = _factory(model, platform)
    res = max_batch_milp(
        factory,
        memory_limit=memory_limit,
        options=SolveOptions(time_limit_s=time_limit_s, threads=threads),
        progress=lambda *a: None,
    )
    check_interrupted(res)
    fits = None
    peak = None
    if res.schedule is not None and res.max_batch_size:
        gb = factory(res.max_batch_size)
        rep = simulate(gb, res.schedule)
        peak = rep.peak_memory
        fits = rep.peak_memory <= memory_limit and rep.compute_cost <= compute_cap(gb)
    row = res.rows()[0]
    row.update(
        model=model,
        fixed_memory=factory(1).fixed_memory,
        time_limit_s=time_limit_s,
        simulated_peak_memory_at_max=peak,
        fits_at_max=fits,
        compute_cap=res.compute_cap,
        compute_cost_b1=res.compute_cost,
    )
    return row


# ---------------------------------------------------------------------------------------------
# the study


def _models(config: ExperimentConfig) -> list[str]:
    return list(QUICK_MODELS if config.quick else MODELS)


def _grid(model: str, quick: bool) -> tuple[int, int, int]:
    lo, hi = MODELS[model]
    # a coarse grid, then every batch size just above each strategy's last success (see
    # baselines_point): quick about 8 grid points over the paper's range, full about 32
    return (lo, hi, max(1, (hi - lo) // (8 if quick else 32)))


def study_tasks(
    grids: Mapping[str, tuple[int, int, int]],
    *,
    time_limit_s: float,
    threads: int = 1,
    memory_limit: int = MEMORY_LIMIT,
    platform: str = PLATFORM,
) -> list[Task]:
    """One baseline search per model (grid ``lo, hi, step``) and protocol, one MILP per model."""
    out = []
    here = __name__
    common = {"memory_limit": memory_limit, "platform": platform}
    tag = f"{platform}_{memory_limit}"
    for m, (lo, hi, step) in grids.items():
        for p in PROTOCOLS:
            kw = {"model": m, "protocol": p, "lo": lo, "hi": hi, "step": step, **common}
            key = f"maxbatch_{m}_{p}_{lo}-{hi}-{step}_{tag}"
            out.append(Task(key, f"{here}:baselines_point", kw))
        kw2 = {"model": m, "time_limit_s": time_limit_s, "threads": threads, **common}
        key = f"maxbatch_{m}_milp_t{time_limit_s:g}_p{threads}_{tag}"
        out.append(Task(key, f"{here}:milp_point", kw2, threads=threads))
    return out


def tasks(config: ExperimentConfig) -> list[Task]:
    """The study's points: quick mode two models on a coarse grid, full mode all six."""
    grids = {m: _grid(m, config.quick) for m in _models(config)}
    return study_tasks(grids, time_limit_s=config.time_limit_s, threads=config.threads)


def table_rows(
    results: Mapping[str, Mapping[str, Any]], points: Sequence[Task]
) -> list[dict[str, Any]]:
    """One row per model, strategy and protocol (the MILP's row repeated for each protocol)."""
    rows: list[dict[str, Any]] = []
    done = [t for t in points if t.key in results]
    for m in dict.fromkeys(t.kwargs["model"] for t in points):
        milp = next(
            (results[t.key] for t in done if t.kwargs["model"] == m and "milp" in t.func),
            None,
        )
        for p in PROTOCOLS:
            base = next(
                (
                    results[t.key]
                    for t in done
                    if t.kwargs.get("protocol") == p and t.kwargs["model"] == m
                ),
                None,
            )
            if base is not None:
                grid = "{}..{} step {}".format(*base["grid"])
                if base.get("refined"):
                    grid += ", refined to 1"
                for s in LABELS:
                    if s in base["max_batch"]:
                        rows.append(
                            {
                                "model": m,
                                "protocol": p,
                                "strategy": s,
                                "label": LABELS[s],
                                "max_batch_size": base["max_batch"][s],
                                "upper_bound": None,
                                "status": "searched",
                                "note": f"grid {grid}",
                            }
                        )
            if milp is not None:
                note = f"proved <= {milp['max_batch_upper']}" if milp["max_batch_upper"] else ""
                if milp["status"] == "time_limit":
                    note = f"time limit {milp['time_limit_s']:g} s, incumbent kept; " + note
                if milp.get("fits_at_max") is False:
                    note += "; simulator: does NOT fit"
                rows.append(
                    {
                        "model": m,
                        "protocol": p,
                        "strategy": MILP,
                        "label": LABELS[MILP],
                        # never report a batch size the simulator does not confirm
                        "max_batch_size": (
                            None if milp.get("fits_at_max") is False else milp["max_batch_size"]
                        ),
                        "upper_bound": milp["max_batch_upper"],
                        "status": milp["status"],
                        "note": note.strip("; "),
                    }
                )
    return rows


def _best_baseline(rows: Sequence[Mapping[str, Any]], model: str, protocol: str) -> int | None:
    vals = [
        r["max_batch_size"]
        for r in rows
        if r["model"] == model
        and r["protocol"] == protocol
        and r["strategy"] != MILP
        and r["max_batch_size"] is not None
    ]
    return max(vals) if vals else None


def _value(rows: Sequence[Mapping[str, Any]], model: str, protocol: str, strategy: str) -> Any:
    for r in rows:
        if (r["model"], r["protocol"], r["strategy"]) == (model, protocol, strategy):
            return r["max_batch_size"]
    return None


def effect_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per model: the MILP's gain over the best baseline and over checkpoint-all, per protocol."""
    out = []
    for m in dict.fromkeys(r["model"] for r in rows):
        row: dict[str, Any] = {"model": m}
        for p in PROTOCOLS:
            milp = _value(rows, m, p, MILP)
            best = _best_baseline(rows, m, p)
            call = _value(rows, m, p, "checkpoint_all")
            row[f"best_baseline_{p}"] = best
            row[f"checkpoint_all_{p}"] = call
            row[f"milp_over_best_{p}"] = round(milp / best, 3) if milp and best else None
            row[f"milp_over_all_{p}"] = round(milp / call, 3) if milp and call else None
        out.append(row)
    return out


def text_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The table (models as columns) and what the corrected protocol changes."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    lines = ["Maximum batch size on a 16 GB device (FLOP costs, compute cap 1 extra forward)"]
    for p in PROTOCOLS:
        lines += ["", f"protocol {p}", f"{'strategy':<22}" + "".join(f"{m:>11}" for m in models)]
        for s, label in LABELS.items():
            vals = [_value(rows, m, p, s) for m in models]
            if all(v is None for v in vals) and s == "checkpoint_last_node":
                continue
            cells = "".join(f"{'-' if v is None else v:>11}" for v in vals)
            lines.append(f"{label:<22}{cells}")
    lines += ["", "MILP / best baseline (and MILP / checkpoint all), per protocol"]
    for e in effect_rows(rows):
        parts = [
            f"{p}: {_ratio(e[f'milp_over_best_{p}'])} ({_ratio(e[f'milp_over_all_{p}'])})"
            for p in PROTOCOLS
        ]
        lines.append(f"{e['model']:<12}" + "   ".join(parts))
    notes = [r for r in rows if r["strategy"] == MILP and r["note"] and r["protocol"] == "paper"]
    if notes:
        lines += ["", "MILP notes"] + [f"{r['model']:<12}{r['note']}" for r in notes]
    return "\n".join(lines) + "\n"


def _ratio(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


#: the tallest bar drawn, as a multiple of checkpoint-all's batch; taller bars are cut at the
#: frame and marked with their value, so one large ratio cannot flatten the rest
MAX_RATIO_SHOWN = 8.0


def plot(rows: Sequence[Mapping[str, Any]], path_png: Path) -> list[Path]:
    """Bars of max batch size relative to checkpoint-all, one panel per protocol."""
    from checkmate_opt.plotting import _pyplot, save_figure

    plt = _pyplot()
    fig = figure(rows)
    try:
        return save_figure(fig, path_png, formats=("pdf",), dpi=200)
    finally:
        plt.close(fig)


def figure(rows: Sequence[Mapping[str, Any]], ymax: float = MAX_RATIO_SHOWN) -> Any:
    """The figure of :func:`plot`, not yet saved.

    Each bar is labelled with its batch size; a bar above ``ymax`` is cut at the frame with a
    triangle and its ratio; a strategy without a batch size (or without checkpoint-all to
    compare with) is a cross labelled "n/a".
    """
    from matplotlib.patches import Patch

    from checkmate_opt.plotting import (
        MIN_FONT_PT,
        _pyplot,
        mark_beyond,
        mark_missing,
        missing_handle,
    )

    plt = _pyplot()
    models = list(dict.fromkeys(r["model"] for r in rows))
    strategies = [s for s in LABELS if s != "checkpoint_last_node"]
    colors = ["black", "tab:blue", "tab:cyan", "darkcyan", "tab:green", "olive", "tab:red"]
    # one panel per protocol, stacked: the chart grows with the number of models
    fig, axes = plt.subplots(2, 1, figsize=(max(7.0, 1.8 * len(models) + 1.5), 7.0), sharey=True)
    width = 0.8 / len(strategies)
    tops: list[tuple[Any, float, float, str]] = []
    missing: list[tuple[Any, float, str]] = []
    for ax, p in zip(axes, PROTOCOLS, strict=True):
        for j, (s, c) in enumerate(zip(strategies, colors, strict=True)):
            for i, m in enumerate(models):
                v = _value(rows, m, p, s)
                ref = _value(rows, m, p, "checkpoint_all")
                x = i - 0.4 + width * (j + 0.5)
                if v is None or not ref:
                    missing.append((ax, x, c))
                    continue
                ax.bar(x, v / ref, width, color=c)
                tops.append((ax, x, v / ref, str(v)))
        ax.set_xticks(range(len(models)), models, rotation=20, fontsize=MIN_FONT_PT + 1)
        ax.set_title(f"protocol: {p}", fontsize=MIN_FONT_PT + 1, pad=10)  # above the marks
        ax.axhline(1.0, color="grey", lw=0.5)
        ax.set_ylabel("Max batch / checkpoint all", fontsize=MIN_FONT_PT + 1)
    cap = min(max((t for _, _, t, _ in tops), default=1.0), ymax)
    axes[0].set_ylim(0, cap * 1.35)  # room above the bars for their rotated value labels
    for ax, x, top, text in tops:
        if top <= cap:
            ax.text(x, top, text, ha="center", va="bottom", fontsize=MIN_FONT_PT, rotation=90)
        elif top <= cap * 1.35:  # no room above: the label goes inside the bar's top
            ax.text(
                x,
                top,
                text,
                ha="center",
                va="top",
                fontsize=MIN_FONT_PT,
                rotation=90,
                color="white",
            )
    for ax in axes:
        mark_beyond(ax, [(x, t) for a, x, t, _ in tops if a is ax], fmt="{:.1f}x")
    for ax, x, c in missing:
        mark_missing(ax, x, color=c)
    # every strategy in the legend, even one without any bar
    handles: list[Any] = [Patch(color=c) for c in colors]
    labels = [LABELS[s] for s in strategies]
    if missing:
        handles.append(missing_handle())
        labels.append("n/a: no batch size")
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=MIN_FONT_PT, frameon=False)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    return fig


def summarize(results: Mapping[str, Mapping[str, Any]], config: ExperimentConfig) -> list[Path]:
    """Write ``max_batch/max_batch.csv``, ``.txt``, ``.png`` and ``.pdf``."""
    return write_outputs(table_rows(results, tasks(config)), config.out / "max_batch")


def write_outputs(rows: Sequence[Mapping[str, Any]], folder: Path) -> list[Path]:
    """``max_batch.csv``, ``max_batch.txt``, ``protocol_effect.csv``, ``max_batch.png``/``.pdf``."""
    from checkmate_opt.experiments.sweep import write_csv

    ensure_folder(folder)
    csv_path = folder / "max_batch.csv"
    fields = ["model", "protocol", "strategy", "label", "max_batch_size", "upper_bound"]
    write_csv(csv_path, rows, [*fields, "status", "note"])
    txt = folder / "max_batch.txt"
    write_text_atomic(txt, text_table(rows))
    eff = folder / "protocol_effect.csv"
    effects = effect_rows(rows)
    write_csv(eff, effects, list(effects[0]) if effects else ["model"])
    paths = [csv_path, txt, eff]
    if rows:
        paths += plot(rows, folder / "max_batch.png")
    return paths
