"""The exact path on the published protocol: ``optimal`` at ceil(mult x no-remat peak).

One JSON line per (graph, multiplier, configuration) with wall time (model build, warm start
and hand-off included), status, compute increase, proven gap on the exact cost, the warm
start used, and the machine load; ``--compare`` also runs the listed configurations (a lever
switched off) in the same process, one after the other, so before/after are ratios measured
under the same load.

Usage::

    .venv/bin/python benchmarks/milp_exact.py vgg19_b256_train segnet_b32_train \
        --mults 0.9 0.8 --time-limit 120 --compare no_lp_seed --out results.jsonl
    .venv/bin/python benchmarks/milp_exact.py --table results.jsonl   # markdown, peer beside
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from checkmate_opt.budget import no_remat_peak
from checkmate_opt.io import load_graph
from checkmate_opt.options import SolveOptions
from checkmate_opt.strategies.optimal import SEEDED_HIGHS_OPTIONS, optimal

SHARED = Path(
    os.environ.get(
        "CHECKMATE_SHARED_GRAPHS", Path(__file__).resolve().parents[2] / "shared" / "graphs"
    )
)
SMALL = ["vgg16_b256_train", "vgg19_b256_train", "fcn8vgg_b32_train", "segnet_b32_train"]
SMALL += ["vggunet_b32_train"]

#: configurations: optimal() keyword arguments (the default is today's defaults)
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "no_lp_seed": {"lp_seed": False},
    "noise": {"eps_noise": 0.01},
    "no_tighten": {"tighten": False},
    "no_heuristics": {"backend_options": {"mip_heuristic_effort": 0.0}},
    "gap_1e4": {"mip_rel_gap": 1e-4},
    "scip": {"solver": "scip"},
    # the race of HiGHS configurations against each of its two runners alone (2 threads)
    "no_race": {"race": False},
    "no_submip": {"race": False, "backend_options": dict(SEEDED_HIGHS_OPTIONS)},
    # the seeding of the previous release on graphs of <= 200 nodes: LP rounding, no anytime,
    # one HiGHS (anytime_s=0 also drops the anytime seed on larger graphs)
    "lp_seed_no_race": {"anytime_s": 0.0, "race": False},
}


def run_one(path: Path, mult: float, config: str, args: argparse.Namespace) -> dict[str, Any]:
    g = load_graph(path)
    budget = math.ceil(mult * no_remat_peak(g))
    kw = dict(CONFIGS[config])
    opt_kw: dict[str, Any] = {"time_limit_s": args.time_limit, "threads": args.threads}
    if "backend_options" in kw:
        opt_kw["backend_options"] = kw.pop("backend_options")
    if "mip_rel_gap" in kw:
        opt_kw["mip_rel_gap"] = kw.pop("mip_rel_gap")
    solver = kw.pop("solver", args.solver)
    if solver == "scip":
        opt_kw.pop("threads", None)
    load = os.getloadavg()[0]
    t = time.perf_counter()
    res = optimal(g, budget, solver=solver, options=SolveOptions(**opt_kw), progress=None, **kw)
    wall = time.perf_counter() - t
    total = g.total_compute
    cost = res.compute_cost
    bound = res.objective_bound
    return {
        "graph": path.stem,
        "mult": mult,
        "budget": budget,
        "config": config,
        "solver": solver,
        "status": res.termination.value,
        "proven_optimal": res.proven_optimal,
        "within_budget": res.within_budget,
        "increase_pct": None if cost is None else 100.0 * (cost - total) / total,
        "gap_pct": None if cost is None or bound is None else 100.0 * (cost - bound) / cost,
        "wall_s": round(wall, 3),
        "solve_time_s": round(res.solve_time_s, 3),
        "build_s": res.params.get("build_time_s"),
        "solver_s": res.params.get("solver_time_s"),
        "warm_start": res.params.get("warm_start"),
        "message": res.message,
        "load1": round(load, 2),
        "load1_after": round(os.getloadavg()[0], 2),
    }


def _peer(shared: Path) -> dict[tuple[str, float], dict[str, str]]:
    """The peer's rows of ``peer-2core.md`` (read at run time), keyed by (graph, mult)."""
    path = shared / "peer-2core.md"
    out: dict[tuple[str, float], dict[str, str]] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 11 or not cells[1].replace(".", "").isdigit():
            continue
        out[(cells[0], float(cells[1]))] = {"status": cells[7], "incr": cells[8], "wall": cells[9]}
    return out


def table(paths: list[Path], shared: Path) -> str:
    """A markdown table of JSON lines, the peer's figures beside ours."""
    peer = _peer(shared)
    head = "| graph | mult | B | config | status | incr % | gap % | wall s | load | warm start "
    head += "| peer status | peer incr % | peer wall s |\n" + "|---" * 13 + "|\n"
    rows = []
    for path in paths:
        for line in path.read_text().splitlines():
            r = json.loads(line)
            p = peer.get((r["graph"], r["mult"]), {})
            inc = "-" if r["increase_pct"] is None else f"{r['increase_pct']:.3f}"
            gap = "-" if r["gap_pct"] is None else f"{r['gap_pct']:.4f}"
            rows.append(
                f"| {r['graph']} | {r['mult']} | {r['budget']} | {r['config']} | {r['status']} "
                f"| {inc} | {gap} | {r['wall_s']:.2f} | {r['load1']} | {r['warm_start']} "
                f"| {p.get('status', '-')} | {p.get('incr', '-')} | {p.get('wall', '-')} |"
            )
    return head + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("graphs", nargs="*", default=SMALL)
    ap.add_argument("--mults", type=float, nargs="+", default=[0.9, 0.8])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--solver", default="highs")
    ap.add_argument("--compare", nargs="*", default=[], choices=sorted(CONFIGS))
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--table", type=Path, nargs="+", help="print a table of these JSON lines")
    args = ap.parse_args(argv)
    if args.table:
        print(table(args.table, args.shared), end="")
        return 0
    out = args.out.open("a") if args.out else sys.stdout
    for name in args.graphs:
        path = args.shared / (name if name.endswith(".json") else f"{name}.json")
        for mult in args.mults:
            for config in ["default", *args.compare]:
                row = run_one(path, mult, config, args)
                out.write(json.dumps(row) + "\n")
                out.flush()
                print(
                    f"{row['graph']} {mult} {config}: {row['status']} "
                    f"incr={row['increase_pct']} gap={row['gap_pct']} wall={row['wall_s']}s "
                    f"load={row['load1']}",
                    file=sys.stderr,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
