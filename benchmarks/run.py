"""Run strategies x graphs x budget fractions; write one JSON line per result.

Budgets are fractions of the checkpoint-all peak activation memory, measured by the simulator.
Examples::

    python benchmarks/run.py                                   # baselines on the paper graphs
    python benchmarks/run.py --strategies optimal --fractions 0.9 0.8 --time-limit 300
    python benchmarks/run.py --graphs linear16 --strategies optimal lp_rounding

Results go to ``benchmarks/results/<tag>.jsonl`` (``--output`` to change); a readable table is
printed, with each strategy's solve time as a ratio to checkpoint-all's in the same process.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import time
from pathlib import Path

from checkmate_opt.generators import linear_graph, random_layered_graph
from checkmate_opt.graph import Graph
from checkmate_opt.io import load_graph
from checkmate_opt.options import SolveOptions
from checkmate_opt.strategies import BASELINE_NAMES, STRATEGIES, get_strategy

SHARED = Path(
    os.environ.get(
        "CHECKMATE_SHARED_GRAPHS", Path(__file__).resolve().parents[2] / "shared" / "graphs"
    )
)
PAPER_GRAPHS = ["vgg16_b256", "vgg19_b256", "fcn8vgg_b32", "segnet_b32", "vggunet_b32"]
BASELINES = list(BASELINE_NAMES)


def load(name: str) -> Graph:
    """A graph by name: ``linearN``, ``randomN``, or a shared file stem (``vgg16_b256``)."""
    if name.startswith("linear") and name[6:].isdigit():
        return linear_graph(int(name[6:]))
    if name.startswith("random") and name[6:].isdigit():
        return random_layered_graph(int(name[6:]), seed=0)
    for stem in (f"{name}_train", name):
        path = SHARED / f"{stem}.json"
        if path.exists():
            return load_graph(path)
    raise SystemExit(f"unknown graph {name!r}: not linearN/randomN and no {SHARED}/{name}.json")


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--graphs", nargs="+", default=PAPER_GRAPHS)
    p.add_argument("--strategies", nargs="+", default=BASELINES)
    p.add_argument("--fractions", type=float, nargs="+", default=[1.0, 0.9, 0.8])
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--output")
    args = p.parse_args(argv)
    for s in args.strategies:
        if s not in STRATEGIES:
            raise SystemExit(f"unknown strategy {s!r}; choose from {', '.join(STRATEGIES)}")
    out = Path(args.output or Path(__file__).parent / "results" / f"run_{int(time.time())}.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    options = SolveOptions(time_limit_s=args.time_limit, threads=args.threads)
    print(
        f"{'graph':<16}{'frac':>5} {'strategy':<24}{'status':<12}{'ok':<6}"
        f"{'overhead':>9}{'time s':>9}{'x ref':>8}"
    )
    with out.open("a", encoding="utf-8") as fh:
        for gname in args.graphs:
            graph = load(gname)
            ref = get_strategy("checkpoint_all")(graph, None)
            assert ref.report is not None
            peak = ref.report.peak_activation_memory
            for frac in args.fractions:
                budget = int(frac * peak)
                t0 = time.perf_counter()
                get_strategy("checkpoint_all")(graph, budget)
                ref_time = max(time.perf_counter() - t0, 1e-9)
                for sname in args.strategies:
                    fn = get_strategy(sname)
                    kwargs = (
                        {"options": options}
                        if "options" in inspect.signature(fn).parameters
                        else {}
                    )
                    res = fn(graph, budget, **kwargs)
                    row = res.summary() | {"graph": gname, "fraction": frac}
                    fh.write(json.dumps(row, sort_keys=True) + "\n")
                    fh.flush()
                    over = "-" if row["overhead"] is None else f"{row['overhead']:.4f}"
                    print(
                        f"{gname:<16}{frac:>5.2f} {sname:<24}{row['status']:<12}"
                        f"{row['within_budget']!s:<6}{over:>9}{res.solve_time_s:>9.2f}"
                        f"{res.solve_time_s / ref_time:>8.0f}",
                        flush=True,
                    )
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
