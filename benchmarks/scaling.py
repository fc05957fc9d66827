"""Scaling: build time, solve time and peak memory (RSS) against graph size.

Chains of 16-256 layers and the shared random layered graphs of 100-1000 nodes, at one budget
multiplier, each solve in a fresh process (see ``run.py``). ``optimal`` records its model build
time and its solve time under ``--time-limit``; ``anytime`` runs with a tiny limit, so its time
is the time to its first within-budget schedule.

    python benchmarks/scaling.py --out docs/figures/scaling          # the figures of the docs
    python benchmarks/scaling.py --strategies anytime --time-limit 5 # quicker

Writes ``scaling.jsonl``, ``scaling.csv``, ``scaling.txt`` and ``scaling.png`` / ``.pdf``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run

CHAINS = [f"chain{k}" for k in (16, 32, 64, 128, 256)]
RANDOM = [f"random_layered_n{k}" for k in (100, 250, 500, 1000)]
#: the first schedule of anytime, not its improvement
FIRST_SCHEDULE_LIMIT = 0.01


def family(graph: str) -> str:
    return "chain" if graph.startswith("chain") else "random layered"


def plot(rows: Sequence[dict[str, Any]], path: Path) -> list[Path]:
    from checkmate_opt.plotting import _pyplot, save_figure

    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    panels = [
        ("build_time_s", "model build time (s)"),
        ("solve_time_s", "solve time (s), build included"),
        ("peak_rss_mb", "peak RSS of the process (MB)"),
    ]
    series = sorted({(family(r["graph"]), r["strategy"]) for r in rows})
    colour = {sr: f"C{k}" for k, sr in enumerate(series)}  # one colour per series everywhere
    for ax, (key, label) in zip(axes, panels, strict=True):
        for fam, strat in series:
            pts = sorted(
                (r["nodes"], r[key])
                for r in rows
                if family(r["graph"]) == fam
                and r["strategy"] == strat
                and r.get(key) is not None
                and r.get("nodes")
            )
            if pts:
                ax.plot(
                    [x for x, _ in pts],
                    [max(y, 1e-3) for _, y in pts],
                    marker="o" if fam == "chain" else "s",
                    color=colour[(fam, strat)],
                    label=f"{strat}, {fam}",
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("nodes")
        ax.minorticks_off()
        ax.set_title(label, fontsize=10)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    written = save_figure(fig, path, formats=("pdf",))
    plt.close(fig)
    return written


def replot(folder: Path) -> list[Path]:
    """Draw the figure again from ``folder/scaling.jsonl``."""
    rows = [run.json.loads(x) for x in (folder / "scaling.jsonl").read_text().splitlines()]
    return plot(rows, folder / "scaling.png")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--graphs", nargs="+", default=[*CHAINS, *RANDOM])
    p.add_argument("--strategies", nargs="+", default=["optimal", "anytime"])
    p.add_argument("--mult", type=float, default=0.8)
    p.add_argument("--time-limit", type=float, default=30.0, help="seconds per optimal solve")
    p.add_argument("--out", type=Path, default=run.HERE / "results" / "scaling")
    p.add_argument(
        "--optimal-max-nodes",
        type=int,
        default=600,
        help="skip the MILP above this many nodes (its model grows as nodes x edges)",
    )
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    with (args.out / "scaling.jsonl").open("w", encoding="utf-8") as fh:
        for g in args.graphs:
            nodes = run.load(g).n
            for s in args.strategies:
                if s in ("optimal", "lp_rounding") and nodes > args.optimal_max_nodes:
                    continue
                limit = FIRST_SCHEDULE_LIMIT if s.startswith("anytime") else args.time_limit
                row = run.run_child(g, args.mult, s, limit)
                rows.append(row)
                fh.write(run.json.dumps(row, sort_keys=True) + "\n")
                fh.flush()
                print(run.table_text([row]).splitlines()[-1], flush=True)
    (args.out / "scaling.txt").write_text(run.table_text(rows), encoding="utf-8")
    run.write_csv(rows, args.out / "scaling.csv")
    plot(rows, args.out / "scaling.png")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
