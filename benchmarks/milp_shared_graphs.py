"""Solve times of the optimal MILP on the shared training graphs (docs/milp.md).

For each graph and each budget fraction of its checkpoint-all peak activation memory, build
the MILP, solve it with HiGHS (time limit), simulate the schedule, and write one JSON line.

Usage::

    nice .venv/bin/python benchmarks/milp_shared_graphs.py --threads 1 --time-limit 300 \
        --out benchmarks/results/milp_shared_graphs_t1.jsonl [GRAPH ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from checkmate_opt.io import load_graph
from checkmate_opt.options import SolveOptions
from checkmate_opt.strategies.checkpoint_all import checkpoint_all
from checkmate_opt.strategies.optimal import optimal

SHARED = Path(__file__).resolve().parents[2] / "shared" / "graphs"
DEFAULT = ["vgg16", "vgg19", "fcn8vgg", "segnet", "vggunet", "mobilenet"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("graphs", nargs="*", default=DEFAULT)
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.9, 0.8])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--solver", default="highs")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--tighten", action="store_true", help="add the disaggregated hazard rows")
    args = ap.parse_args(argv)
    out = args.out.open("a") if args.out else sys.stdout
    for name in args.graphs:
        path = next(args.shared.glob(f"{name}_b*_train.json"))
        g = load_graph(path)
        peak = checkpoint_all(g).report.peak_activation_memory  # type: ignore[union-attr]
        for frac in args.fractions:
            budget = int(frac * peak)
            t0 = time.perf_counter()
            res = optimal(
                g,
                budget,
                solver=args.solver,
                options=SolveOptions(time_limit_s=args.time_limit, threads=args.threads),
                tighten=args.tighten,
                progress=None,
            )
            row = {
                "graph": path.name,
                "n": g.n,
                "m": len(g.edges),
                "fraction": frac,
                "budget": budget,
                "threads": args.threads,
                "tighten": args.tighten,
                "time_limit_s": args.time_limit,
                "status": res.termination.value,
                "compute_cost": res.compute_cost,
                "overhead": None if res.report is None else round(res.report.overhead, 5),
                "objective_bound": res.objective_bound,
                "gap": None
                if res.compute_cost is None or res.objective_bound is None
                else round(1 - res.objective_bound / res.compute_cost, 5),
                "within_budget": res.within_budget,
                "build_s": res.params.get("build_time_s"),
                "solver_s": res.params.get("solver_time_s"),
                "total_s": round(time.perf_counter() - t0, 2),
                "warm_start": res.params.get("warm_start"),
                "num_variables": None if res.solver is None else res.solver.num_variables,
                "num_constraints": None if res.solver is None else res.solver.num_constraints,
            }
            print(json.dumps(row), file=out, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
