"""Figures and tables of the strategies on the published graphs (``nox -s figures``).

For each graph and budget fraction (of the checkpoint-all peak activation memory) every
strategy is run; the results go to ``<out>/strategies.csv`` and ``strategies.txt``, the MILP
schedule of each graph is drawn (R, S, memory timeline), and a bar chart compares the
strategies' overheads. Figures are written as PNG and PDF.

Run ``python -m checkmate_opt.experiments.figures --help`` for the options.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from checkmate_opt.graph import Graph
from checkmate_opt.io import load_graph
from checkmate_opt.options import SolveOptions
from checkmate_opt.strategies import STRATEGIES, get_strategy

__all__ = ["main", "strategy_table"]

DEFAULT_GRAPHS = ("vgg16_b256", "vgg19_b256", "fcn8vgg_b32", "segnet_b32", "vggunet_b32")


def _shared_dir() -> Path:
    env = os.environ.get("CHECKMATE_SHARED_GRAPHS")
    if env:
        return Path(env)
    return Path.cwd().parent / "shared" / "graphs"


def strategy_table(
    graphs: Sequence[tuple[str, Graph]],
    fractions: Sequence[float],
    strategies: Sequence[str],
    *,
    options: SolveOptions,
) -> list[dict[str, Any]]:
    """Run every strategy on every graph and budget; one row per result (simulated figures)."""
    rows: list[dict[str, Any]] = []
    jobs = [(name, g, f, s) for name, g in graphs for f in fractions for s in strategies]
    peaks: dict[str, int] = {}
    for name, graph, frac, sname in tqdm(jobs, desc="solves", unit="solve", file=sys.stderr):
        if name not in peaks:
            ref = get_strategy("checkpoint_all")(graph, None)
            assert ref.report is not None
            peaks[name] = ref.report.peak_activation_memory
        fn = get_strategy(sname)
        kwargs: dict[str, Any] = {}
        if "options" in inspect.signature(fn).parameters:
            kwargs["options"] = options
        res = fn(graph, int(frac * peaks[name]), **kwargs)
        row = res.summary()
        row.pop("params")
        row.update(graph=name, fraction=frac, result=res)
        rows.append(row)
    return rows


def _write_tables(rows: list[dict[str, Any]], out: Path) -> None:
    cols = [
        "graph",
        "fraction",
        "strategy",
        "status",
        "within_budget",
        "compute_cost",
        "overhead",
        "peak_activation_memory",
        "objective_bound",
        "solve_time_s",
    ]
    with (out / "strategies.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        f"{'graph':<14}{'frac':>5}  {'strategy':<24}{'status':<12}{'fits':<6}"
        f"{'overhead':>9}{'peak GB':>9}{'time s':>8}"
    ]
    for r in rows:
        over = "-" if r["overhead"] is None else f"{r['overhead']:.4f}"
        peak = (
            "-"
            if r["peak_activation_memory"] is None
            else f"{r['peak_activation_memory'] / 1e9:.2f}"
        )
        lines.append(
            f"{r['graph']:<14}{r['fraction']:>5.2f}  {r['strategy']:<24}{r['status']:<12}"
            f"{'yes' if r['within_budget'] else 'no':<6}{over:>9}{peak:>9}"
            f"{r['solve_time_s']:>8.2f}"
        )
    (out / "strategies.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _bar_chart(rows: list[dict[str, Any]], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from checkmate_opt.plotting import save_figure

    keys = sorted({(r["graph"], r["fraction"]) for r in rows})
    # as in the paper's plots: no last-node bars (quadratic cost dwarfs the rest) and only
    # strategies that return schedules (lp_bound has none); both stay in the tables
    strategies = [
        s
        for s in dict.fromkeys(r["strategy"] for r in rows)
        if s != "checkpoint_last_node" and any(r["feasible"] for r in rows if r["strategy"] == s)
    ]
    by_key = {(r["graph"], r["fraction"], r["strategy"]): r for r in rows}
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(keys)), 4))
    width = 0.8 / max(1, len(strategies))
    top = 1.05
    for j, s in enumerate(strategies):
        ys = []
        for g, f in keys:
            r = by_key[(g, f, s)]
            ys.append(r["overhead"] if r["within_budget"] and r["overhead"] is not None else 0.0)
        top = max(top, *ys)
        ax.bar([i + j * width for i in range(len(keys))], ys, width, label=s)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(keys))])
    ax.set_xticklabels([f"{g}\n{f:g}x" for g, f in keys], fontsize=7)
    ax.set_ylabel("overhead (x); no bar = over budget")
    ax.set_ylim(0.95, min(top * 1.02, 1.5))  # the paper's y-range; taller bars are clipped
    ax.legend(fontsize=6, ncol=2)
    ax.set_title("Compute overhead within the budget (simulated)")
    try:
        return save_figure(fig, out / "overhead_by_strategy.png", formats=("pdf",))
    finally:
        plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nox -s figures``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--graphs",
        nargs="+",
        default=list(DEFAULT_GRAPHS),
        help="shared graph stems (without _train) or graph files",
    )
    p.add_argument("--fractions", type=float, nargs="+", default=[0.9, 0.8])
    p.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    p.add_argument("--time-limit", type=float, default=120.0)
    p.add_argument("--out", default="figures")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    graphs: list[tuple[str, Graph]] = []
    for name in args.graphs:
        path = Path(name)
        if not path.exists():
            path = _shared_dir() / f"{name}_train.json"
        if not path.exists():
            p.error(f"graph {name!r} not found (looked for {path}; set CHECKMATE_SHARED_GRAPHS)")
        label = path.stem.removesuffix("_train") if Path(name).exists() else name
        graphs.append((label, load_graph(path)))
    rows = strategy_table(
        graphs,
        args.fractions,
        args.strategies,
        options=SolveOptions(time_limit_s=args.time_limit, threads=1),
    )
    _write_tables(rows, out)
    written = _bar_chart(rows, out)
    from checkmate_opt.plotting import plot_schedule

    for name, graph in graphs:
        best = [
            r
            for r in rows
            if r["graph"] == name
            and r["strategy"] == "optimal"
            and r["result"].schedule is not None
        ]
        if best:
            best.sort(key=lambda r: r["fraction"])
            written += plot_schedule(graph, best[0]["result"], out / f"schedule_{name}.png")
    print(
        "wrote "
        + ", ".join(str(w) for w in [out / "strategies.csv", out / "strategies.txt", *written])
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
